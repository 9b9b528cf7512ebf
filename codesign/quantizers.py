"""What QKeras quantizers compute, as exact fixed-point types; which layers of a Keras model carry them."""

from __future__ import annotations

from codesign.fixed import Fixed

UNIT_SCALES = (None, 1, 1.0)  # alpha values that leave quantized_bits on its plain grid


def quantizer_type(quantizer) -> Fixed | None:
    """The ap_fixed type whose values and casts are exactly the quantizer's (RND_CONV rounds half to even like
    tf.round, SAT clips like QKeras); None for quantizers with a scale or a shape of their own (alpha='auto',
    po2, binary, leaky relu), which hls4ml maps its own way."""
    kind = type(quantizer).__name__
    config = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    if kind == "quantized_bits" and config.get("alpha") in UNIT_SCALES and not config.get("symmetric"):
        bits, integer = int(config["bits"]), int(config["integer"])
        if config.get("keep_negative", True):
            return Fixed(bits, integer + 1, True, "RND_CONV", "SAT")
        return Fixed(bits, integer, False, "RND_CONV", "SAT")
    if kind == "quantized_relu" and not config.get("negative_slope") and not config.get("use_sigmoid"):
        if config.get("relu_upper_bound") is not None or config.get("use_stochastic_rounding"):
            return None
        return Fixed(int(config["bits"]), int(config["integer"]), False, "RND_CONV", "SAT")
    return None


def activation_quantizer(layer):
    """The quantizer a layer applies to its output (a QActivation's, or a Q-layer's activation=...), or None."""
    if type(layer).__name__ == "QActivation":
        return layer.quantizer
    activation = getattr(layer, "activation", None)
    return activation if hasattr(activation, "get_config") and type(activation).__module__.startswith("qkeras") else None


def first_layer(keras_model):
    """The first layer after the input."""
    return next(layer for layer in keras_model.layers if type(layer).__name__ != "InputLayer")


def has_quantizers(keras_model) -> bool:
    """Whether any layer is a QKeras layer: a model without one is a float model."""
    return any(type(layer).__module__.startswith("qkeras") for layer in keras_model.layers)


FLOAT_FUNCTIONS = ("softmax", "sigmoid", "tanh", "elu", "selu", "softplus", "swish", "gelu")


def computed_in_float(keras_model) -> list[str]:
    """Layers Keras/QKeras computes in float32 (batch normalization, unquantized weights or functions): fixed point
    can match them on given inputs, but float32 rounding may differ on others."""
    names = []
    for layer in keras_model.layers:
        kind = type(layer).__name__
        function = getattr(getattr(layer, "activation", None), "__name__", "")
        unquantized = not type(layer).__module__.startswith("qkeras") and any(True for _ in layer.weights)
        if kind in ("BatchNormalization", "QBatchNormalization") or function in FLOAT_FUNCTIONS or unquantized:
            names.append(layer.name)
    return names
