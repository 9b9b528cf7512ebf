"""What QKeras quantizers compute, as exact fixed-point types; which layers of a Keras model carry them."""

from __future__ import annotations

from codesign.fixed import Fixed
from codesign.layers import inputs_of, is_batch_normalization, is_hgq_proxy_layer, is_input_layer, is_quantizer_layer, is_softmax_layer
from codesign.outputs import several

UNIT_SCALES = (None, 1, 1.0)  # alpha values that leave quantized_bits on its plain grid


def quantizer_type(quantizer) -> Fixed | None:
    """The ap_fixed type whose values and casts are exactly the quantizer's (RND_CONV rounds half to even like
    tf.round, SAT clips like QKeras); None for quantizers with a scale or a shape of their own (alpha='auto',
    po2, binary, leaky relu), which hls4ml maps its own way."""
    kind = type(quantizer).__name__
    config = quantizer.get_config() if hasattr(quantizer, "get_config") else {}
    if kind == "quantized_bits" and config.get("alpha") in UNIT_SCALES:
        bits, integer = int(config["bits"]), int(config["integer"])
        if config.get("keep_negative", True):  # symmetric: clipped to +-(2^(bits-1) - 1) steps, ap_fixed's SAT_SYM
            return Fixed(bits, integer + 1, True, "RND_CONV", "SAT_SYM" if config.get("symmetric") else "SAT")
        return Fixed(bits, integer, False, "RND_CONV", "SAT")
    if kind == "quantized_relu" and not config.get("negative_slope") and not config.get("use_sigmoid"):
        if config.get("relu_upper_bound") is not None or config.get("use_stochastic_rounding"):
            return None
        return Fixed(int(config["bits"]), int(config["integer"]), False, "RND_CONV", "SAT")
    return None


def activation_quantizer(layer):
    """The quantizer a layer applies to its output (a QActivation's, or a Q-layer's activation=...), or None."""
    if is_quantizer_layer(layer):
        return layer.quantizer
    activation = getattr(layer, "activation", None)
    return activation if hasattr(activation, "get_config") and type(activation).__module__.startswith("qkeras") else None


def first_layer(keras_model):
    """The first layer after the input."""
    return next(layer for layer in keras_model.layers if not is_input_layer(layer))


def is_quantized_layer(keras_layer) -> bool:
    """A QKeras layer, or an HGQ proxy model's quantizer: a layer whose own quantizers set its values."""
    return type(keras_layer).__module__.startswith("qkeras") or is_hgq_proxy_layer(keras_layer)


def has_quantizers(keras_model) -> bool:
    """Whether any layer is a quantized one (is_quantized_layer): a model without one is a float model."""
    return any(is_quantized_layer(layer) for layer in keras_model.layers)


def unquantized_weights(keras_layer) -> tuple:
    """The kernel and bias (None where it has none) a layer's quantizers take, as float32 arrays: of a
    QConv2DBatchnorm the batch-normalization-folded ones (QKeras folds them in float32 as get_folded_weights does, and
    adds the folded bias even without use_bias), else the layer's own."""
    import numpy as np

    if hasattr(keras_layer, "get_folded_weights"):
        kernel, bias = keras_layer.get_folded_weights()
        return np.asarray(kernel, dtype=np.float32), np.asarray(bias, dtype=np.float32)
    kernel = next((getattr(keras_layer, name) for name in ("kernel", "depthwise_kernel") if getattr(keras_layer, name, None) is not None), None)
    bias = getattr(keras_layer, "bias", None) if getattr(keras_layer, "use_bias", False) else None
    return tuple(None if weight is None else np.asarray(weight.numpy(), dtype=np.float32) for weight in (kernel, bias))


FLOAT_FUNCTIONS = ("softmax", "sigmoid", "tanh", "elu", "selu", "softplus", "swish", "gelu")


def computed_in_float(keras_model) -> list[str]:
    """Layers Keras/QKeras computes in float32 (batch normalization, unquantized weights or functions): fixed point
    can match them on given inputs, but float32 rounding may differ on others."""
    from tensorflow import keras

    float_layers = (keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.Dot)  # alpha * x, exp, a sum of products
    names = []
    for layer in keras_model.layers:
        function = getattr(getattr(layer, "activation", None), "__name__", "")
        unquantized = not is_quantized_layer(layer) and any(True for _ in layer.weights)
        if is_batch_normalization(layer) or function in FLOAT_FUNCTIONS or unquantized or isinstance(layer, float_layers):
            names.append(layer.name)
    return names


def batchnorm_scale_shift(gamma, beta, mean, variance, epsilon: float):
    """A batch normalization's float32 scale and shift as Keras and QKeras compute them at inference
    (tf.nn.batch_normalization: inv = rsqrt(variance + epsilon) * gamma, shift = beta - mean * inv), so that
    x * inv + shift is their formula. TensorFlow's rsqrt is not numpy's 1 / sqrt: they differ in the last bit for about
    a third of float32 values. (Keras's fused kernel over 4D feature maps computes otherwise.)"""
    import numpy as np
    import tensorflow as tf

    def tensor(values):
        return tf.constant(np.asarray(values, dtype=np.float32))

    inv = tf.math.rsqrt(tensor(variance) + np.float32(epsilon))
    if gamma is not None:
        inv *= tensor(gamma)
    shift = tensor(beta) - tensor(mean) * inv if beta is not None else -tensor(mean) * inv
    return inv.numpy(), shift.numpy()


HEAD_FUNCTIONS = ("softmax", "sigmoid", "tanh")
TABLE_FUNCTIONS = ("softmax", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign")  # hls4ml's lookup-table activations


def activation_function(keras_layer) -> str:
    """The name of the function a layer applies last ('softmax' for a Keras Softmax layer, 'elu' for an ELU layer);
    '' where it has none."""
    if is_softmax_layer(keras_layer):
        return "softmax"
    if type(keras_layer).__name__ == "ELU":
        return "elu"
    activation = getattr(keras_layer, "activation", None)  # a QActivation('softmax') keeps the string
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "")


def float_head(keras_model) -> dict | None:
    """The model's final activation when Keras computes it in float (softmax, sigmoid, tanh: the usual classifier
    and tagger heads), as {layer, function, folded}; `folded` when it is the activation of a weighted layer. None for a
    model of several outputs (output_heads)."""
    return None if several(keras_model) else _head_of(keras_model.layers[-1])


def output_heads(keras_model) -> list[dict]:
    """A model of several outputs: the float heads (as float_head's) its outputs end on; the firmware then computes
    every output's logits, compared exactly, and the heads stay on the host."""
    if not several(keras_model):
        return []
    heads = []
    for name in keras_model.output_names:
        layer = keras_model.get_layer(name)
        head = _head_of(layer)
        if head is not None:  # `logits`: the output of the model without heads that it reads (logits_model keeps folded layers' names)
            heads.append({**head, "logits": layer.name if head["folded"] else inputs_of(layer)[0]})
    return heads


def _head_of(layer) -> dict | None:
    function = activation_function(layer)
    if function not in HEAD_FUNCTIONS:
        return None
    return {"layer": layer.name, "function": function, "folded": any(True for _ in layer.weights)}


def logits_model(keras_model, heads: list[dict]):
    """The model without its float heads (`heads`: float_head's one, or output_heads's): each output ends on the
    logits the firmware computes exactly."""
    from tensorflow import keras

    removed = {head["layer"] for head in heads}
    outputs = []
    for name, tensor in zip(keras_model.output_names, keras_model.outputs):
        logits = _logits_of(keras_model.get_layer(name)) if name in removed else tensor
        if not any(logits is other for other in outputs):  # two heads on the same logits (a softmax and a sigmoid): those once
            outputs.append(logits)
    return keras.Model(keras_model.inputs, outputs if len(outputs) > 1 else outputs[0], name=keras_model.name)


def _logits_of(layer):
    """A head layer's logits: its input, or, for a weighted layer with the head as its activation, the layer again
    with a linear activation (its weights copied)."""
    if not any(True for _ in layer.weights):
        return layer.input
    linear = type(layer).from_config({**layer.get_config(), "activation": "linear"})
    outputs = linear(layer.input)
    linear.set_weights(layer.get_weights())
    return outputs


def is_linear_quantizer(keras_layer) -> bool:
    """A QActivation hls4ml converts to a linear activation with a cast (a quantized_bits one)."""
    return is_quantized_bits(getattr(keras_layer, "quantizer", None))


def is_quantized_bits(quantizer) -> bool:
    """A linear quantizer: hls4ml makes a quantized_bits activation a linear one with a cast."""
    return type(quantizer).__name__ == "quantized_bits"


def ternary_threshold(quantizer) -> float | None:
    """A ternary quantizer's threshold as hls4ml reads it (QKeras's default 0.33 when unset); None for any other
    quantizer, or an 'auto' threshold."""
    if type(quantizer).__name__ != "ternary" or isinstance(quantizer.threshold, str):
        return None
    return 0.33 if quantizer.threshold is None else float(quantizer.threshold)


def is_step_quantizer(quantizer) -> bool:
    """A binary or ternary quantizer: hls4ml computes it as an activation of its own (binary_tanh, ternary_tanh, or a
    thresholded batch normalization), never as the cast of the layer before it."""
    return type(quantizer).__name__ in ("binary", "ternary")
