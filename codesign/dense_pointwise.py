"""A quantized Dense over the last axis of a sequence or an image converted as the 1x1 QConv1D/QConv2D it computes:
hls4ml 1.3 replaces such a Dense with a pointwise convolution itself (ReplaceMultidimensionalDenseWithConv), keeping
its float kernel and dropping its quantizers, so the firmware is converted from a copy whose Dense is that convolution
with the Dense's quantizers (the same function, checked: tests/test_repairs.py)."""

from __future__ import annotations


def _rewritable(keras_layer) -> bool:
    """Whether the layer is a quantized Dense over more than one axis that a 1x1 QConv1D/QConv2D computes."""
    from tensorflow import keras

    quantized = any(getattr(keras_layer, name, None) for name in ("kernel_quantizer", "bias_quantizer"))
    return isinstance(keras_layer, keras.layers.Dense) and quantized and len(keras_layer.input_shape) in (3, 4)


def with_pointwise_dense(keras_model):
    """The model itself where no Dense is rewritable, else a copy whose such Dense layers are 1x1 QConv1D/QConv2D of the
    same name, units, quantizers, activation and weights (the kernel reshaped to the convolution's)."""
    import qkeras

    from codesign.model import custom_objects

    convolutions = {3: qkeras.QConv1D, 4: qkeras.QConv2D}  # the Dense's input rank (batch included): the convolution computing it
    rewritten = {layer.name: len(layer.input_shape) for layer in keras_model.layers if _rewritable(layer)}
    if not rewritten:
        return keras_model
    config = keras_model.get_config()
    for entry in config["layers"]:
        rank = rewritten.get(entry["config"]["name"])
        if rank is not None:
            entry.update(class_name=convolutions[rank].__name__, config=_convolution_config(entry["config"], rank - 2))
            for key in ("registered_name", "module"):  # Keras then finds the class by its name among custom_objects
                entry.pop(key, None)
    weights = {layer.name: layer.get_weights() for layer in keras_model.layers}
    copy = type(keras_model).from_config(config, custom_objects=custom_objects())
    for layer in copy.layers:
        values = weights[layer.name]
        if layer.name in rewritten:
            values = [values[0].reshape((1,) * (rewritten[layer.name] - 2) + values[0].shape)] + values[1:]
        layer.set_weights(values)
    return copy


def _convolution_config(dense: dict, spatial: int) -> dict:
    """The 1x1 convolution's config holding the Dense's settings."""
    settings = {key: value for key, value in dense.items() if key != "units"}
    return {**settings, "filters": dense["units"], "kernel_size": [1] * spatial, "strides": [1] * spatial, "padding": "valid",
            "dilation_rate": [1] * spatial}
