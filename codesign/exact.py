"""QKeras's model in exact arithmetic: the reference where QKeras's own float32 sums round (docs/proof.md).

QKeras multiplies and sums in float32, so where a layer's products or partial sums need more than float32's 24
significant bits its output is rounded before its quantizer rounds again; the firmware, with wide enough
accumulators, computes the exact sums. This module evaluates the same quantized model (QKeras's quantized weights,
its quantizers as the fixed-point casts they are) in integers: every tensor is an int64 array of raw values with a
number of fraction bits. Linear layers run in float64 on slices of their input's bits small enough that every
partial sum is an integer below 2^53 (exact in any order), then are recombined in int64. A layer whose value cannot
be exact this way (float functions, a batch normalization over 4D feature maps (Keras's fused kernel), averages over
windows that are not powers of two, other quantizers) is declined with its name: there is then no exact reference, and
QKeras stays the reference. Any other batch normalization is x * inv + shift with Keras's own float32 inv and shift,
computed exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codesign.fixed import Fixed
from codesign.layers import inputs_of, is_batch_normalization, is_input_layer, is_quantizer_layer
from codesign.outputs import output_names, output_sizes, several
from codesign.quantizers import activation_quantizer, batchnorm_scale_shift, quantizer_type, unquantized_weights

FLOAT64_EXACT_BITS = 52  # partial sums of chunks stay below 2^52 (one bit of margin below float64's 53)
INT64_BITS = 62  # raw values and their sums stay below 2^62 in int64
FLOAT32_SIGNIFICAND = 24
PASSIVE_FUNCTIONS = ("linear", "relu")


class NotExact(ValueError):
    """The model has a layer this evaluation cannot compute exactly; the message names it and says why."""


@dataclass
class Raw:
    """A tensor of exact values: raw integers (int64) and their fraction bits (value = raw / 2^frac)."""

    raw: np.ndarray
    frac: int

    def at(self, frac: int) -> np.ndarray:
        """The raw values with `frac` >= self.frac fraction bits."""
        shift = frac - self.frac
        _check_int64(self.raw, shift, "aligning fraction bits")
        return self.raw << shift

    def values(self) -> np.ndarray:
        if np.abs(self.raw).max(initial=0) >= 2**53:
            raise NotExact(f"an exact output needs more than float64's 53 bits ({self.frac} fraction bits)")
        return self.raw.astype(np.float64) * 2.0**-self.frac


@dataclass
class Float32Rounding:
    """A layer where QKeras's float32 products or sums can round on the evaluated inputs."""

    layer: str
    bits: int  # significant bits the largest partial sum needs (float32 holds 24)
    error_bound: float  # how far QKeras's float32 sum can be from the exact one at this layer (n * 2^-24 * sum |terms|)


@dataclass
class Evaluation:
    """The exact outputs, and where QKeras's float32 arithmetic may round on these inputs."""

    outputs: np.ndarray
    float32_layers: list[Float32Rounding] = field(default_factory=list)


BATCH = 256  # samples evaluated at once


def evaluate(keras_model, x: np.ndarray) -> Evaluation:
    """The model's outputs on x in exact arithmetic; raises NotExact naming the first layer it cannot compute."""
    if len(keras_model.inputs) != 1:
        raise NotExact("a model with several inputs is not evaluated exactly by codesign/exact.py")
    x = np.asarray(x, dtype=np.float32)
    outputs, rounding = [], {}
    for start in range(0, len(x), BATCH):
        batch, found = _evaluate_batch(keras_model, x[start:start + BATCH])
        outputs.append(batch)
        for note in found:  # the worst case over the batches, per layer
            if note.layer not in rounding or note.error_bound > rounding[note.layer].error_bound:
                rounding[note.layer] = note
    shape = (len(x), *keras_model.output_shape[1:]) if not several(keras_model) else (len(x), sum(output_sizes(keras_model)))
    return Evaluation(np.concatenate(outputs).reshape(shape) if outputs else np.zeros(shape), list(rounding.values()))


SMALLEST_RETRY = 8  # samples: a batch the evaluation cannot hold is split down to this before its samples are left out


def outputs_where_defined(keras_model, x: np.ndarray) -> np.ndarray:
    """The exact outputs per sample (flattened), NaN for the samples it cannot hold: a batch shares its fraction bits, so
    one that raises NotExact is split in halves down to SMALLEST_RETRY samples. What a search of inputs against the
    exact evaluation compares on (fuzz seed 1347 model 0: a power-of-two kernel after a batch normalization puts 50
    fraction bits in the outputs, and the search's random inputs reached past float64's 53)."""
    x = np.asarray(x, dtype=np.float32)
    outputs = np.full((len(x), sum(output_sizes(keras_model))), np.nan)

    def fill(indices: np.ndarray) -> None:
        try:
            outputs[indices] = evaluate(keras_model, x[indices]).outputs.reshape(len(indices), -1)
        except NotExact:
            if len(indices) > SMALLEST_RETRY:
                fill(indices[:len(indices) // 2])
                fill(indices[len(indices) // 2:])

    for start in range(0, len(x), BATCH):
        fill(np.arange(start, min(start + BATCH, len(x))))
    return outputs


def _evaluate_batch(keras_model, x: np.ndarray) -> tuple[np.ndarray, list[Float32Rounding]]:
    from tensorflow import keras

    rounding: list[Float32Rounding] = []
    model_input = _exact_input(x, "the input")
    tensors: dict[str, Raw] = {}
    for layer in keras_model.layers:
        if is_input_layer(layer):
            tensors[layer.name] = model_input
            continue
        sources = [tensors.get(name, model_input) for name in inputs_of(layer)] or [model_input]
        tensors[layer.name] = _layer(layer, sources, rounding, keras)
    if not several(keras_model):
        return tensors[keras_model.output_names[0]].values(), rounding
    return np.concatenate([tensors[name].values().reshape(len(x), -1) for name in output_names(keras_model)], axis=1), rounding


def exact_layer(layer, inputs: list[np.ndarray]) -> np.ndarray:
    """One layer's outputs in exact arithmetic on the given float32 inputs (QKeras's own inputs to it), as float64;
    NotExact where it cannot compute them."""
    from tensorflow import keras

    sources = [_exact_input(np.asarray(values, dtype=np.float32), f"{layer.name}'s input") for values in inputs]
    return _layer(layer, sources, [], keras).values()


def representable(x: np.ndarray) -> np.ndarray:
    """Per sample: whether its values are finite and fit the integers the evaluation holds them in (at the fraction
    bits the sample's finest value needs)."""
    values = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    finite = np.isfinite(values).all(axis=1)
    needed = np.where(values != 0, _fraction_bits(np.where(np.isfinite(values), values, 1.0)), 0).max(axis=1, initial=0)
    largest = np.abs(np.where(np.isfinite(values), values, 0.0)).max(axis=1, initial=0)
    return finite & (largest * 2.0 ** np.maximum(needed, 0) < 2.0**INT64_BITS)


def _fraction_bits(values: np.ndarray) -> np.ndarray:
    """The fraction bits each (finite) value needs to be an integer; zero counts as none."""
    mantissa, exponent = np.frexp(values)  # value = mantissa * 2^exponent, |mantissa| in [0.5, 1) with 53 bits
    digits = np.abs(mantissa * 2.0**53).astype(np.int64)
    lowest = np.log2(np.maximum(digits & -digits, 1).astype(np.float64)).astype(np.int64)  # trailing zero bits
    return np.where(values != 0, 53 - lowest - exponent, 0)


def _exact_input(x: np.ndarray, name: str) -> Raw:
    """Float32 values as raw integers at the fraction bits their finest value needs."""
    values = np.asarray(x, dtype=np.float64)
    if not np.isfinite(values).all():
        raise NotExact(f"{name}: not every value is finite (inf or NaN): no exact value")
    nonzero = np.abs(values[values != 0])
    if not nonzero.size:
        return Raw(np.zeros(values.shape, dtype=np.int64), 0)
    frac = max(0, int(_fraction_bits(nonzero).max()))
    if float(nonzero.max()) * 2.0**frac >= 2.0**INT64_BITS:
        raise NotExact(f"{name}: values from {float(nonzero.min()):g} to {float(nonzero.max()):g} need {frac} fraction bits, "
                       f"more than {INT64_BITS}-bit integers hold")
    return Raw(np.round(values * 2.0**frac).astype(np.int64), frac)


def _layer(layer, sources: list[Raw], rounding: list[Float32Rounding], keras) -> Raw:
    """One Keras layer on exact values."""
    if is_quantizer_layer(layer):
        return apply_function(layer.name, layer.quantizer, sources[0])
    if is_batch_normalization(layer):
        return _batchnorm(layer, sources[0], rounding)
    if isinstance(layer, (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.DepthwiseConv2D,
                          keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
        result = _weighted(layer, sources[0], rounding, keras)
        function = activation_quantizer(layer) or layer.activation
        return apply_function(layer.name, function, result)
    if type(layer).__module__.startswith("qkeras"):
        raise NotExact(f"{layer.name}: {type(layer).__name__} is not evaluated exactly by codesign/exact.py")
    if isinstance(layer, (keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
                          keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D)):
        return _average(layer, sources[0], rounding)
    if isinstance(layer, keras.layers.Activation):
        return apply_function(layer.name, layer.activation, sources[0])
    if isinstance(layer, (keras.layers.LeakyReLU, keras.layers.PReLU)):
        result = leaky_relu(layer, sources[0])
        _note_float32(layer.name, float(np.abs(result.raw).max(initial=0)), 1, result.frac, rounding)
        return result
    if isinstance(layer, keras.layers.ReLU) and layer.get_config().get("max_value") is None and not layer.get_config().get("negative_slope"):
        return Raw(np.maximum(sources[0].raw, 0), sources[0].frac)
    if isinstance(layer, (keras.layers.Add, keras.layers.Subtract, keras.layers.Concatenate, keras.layers.Maximum,
                          keras.layers.Minimum, keras.layers.MaxPooling1D, keras.layers.MaxPooling2D,
                          keras.layers.GlobalMaxPooling1D, keras.layers.GlobalMaxPooling2D, keras.layers.Flatten,
                          keras.layers.Reshape, keras.layers.Permute, keras.layers.Dropout, keras.layers.ZeroPadding1D,
                          keras.layers.ZeroPadding2D, keras.layers.Cropping1D, keras.layers.Cropping2D,
                          keras.layers.UpSampling1D)) or (
            isinstance(layer, keras.layers.UpSampling2D) and layer.interpolation == "nearest"):
        return _twin(layer, sources)
    raise NotExact(f"{layer.name}: {type(layer).__name__} is not evaluated exactly by codesign/exact.py")


def _batchnorm(layer, source: Raw, rounding: list[Float32Rounding]) -> Raw:
    """x * inv + shift with Keras's own float32 inv and shift (quantizers.batchnorm_scale_shift), exactly: QKeras rounds
    the product and the sum in float32. Keras computes a batch normalization over 4D feature maps with a fused kernel
    of another formula, which has no exact counterpart here."""
    if len(layer.input_shape) == 4 and not type(layer).__module__.startswith("qkeras"):
        raise NotExact(f"{layer.name}: Keras normalizes a 4D feature map with its fused kernel in float (its own formula): no exact value")
    axis = layer.get_config().get("axis")
    if axis not in (-1, [-1], len(layer.input_shape) - 1, [len(layer.input_shape) - 1]):
        raise NotExact(f"{layer.name}: a batch normalization over axis {axis} is not evaluated exactly by codesign/exact.py")

    def parameter(name: str, quantizer: str):
        variable = getattr(layer, name, None)
        if variable is None:
            return None
        values = np.asarray(variable.numpy(), dtype=np.float32)
        function = getattr(layer, quantizer, None) if getattr(layer, quantizer.removesuffix("_internal"), None) else None
        return np.asarray(function(values), dtype=np.float32) if function is not None else values

    inv, shift = batchnorm_scale_shift(parameter("gamma", "gamma_quantizer_internal"), parameter("beta", "beta_quantizer_internal"),
                                       parameter("moving_mean", "mean_quantizer_internal"),
                                       parameter("moving_variance", "variance_quantizer_internal"), layer.epsilon)
    scale, offset = _exact_input(inv, f"{layer.name} scale"), _exact_input(shift, f"{layer.name} shift")
    if int(np.abs(source.raw).max(initial=0)).bit_length() + int(np.abs(scale.raw).max(initial=0)).bit_length() > INT64_BITS:
        raise NotExact(f"{layer.name}: its exact products need more than {INT64_BITS}-bit integers hold")
    product = Raw(source.raw * scale.raw, source.frac + scale.frac)
    _note_float32(layer.name, float(np.abs(product.raw).max(initial=0)), 1, product.frac, rounding)
    frac = max(product.frac, offset.frac)
    return Raw(product.at(frac) + offset.at(frac), frac)


def leaky_relu(layer, source: Raw) -> Raw:
    """A Keras LeakyReLU (or PReLU, an alpha per value) exactly: x where x > 0, else x times its alpha as Keras computes
    with it (float32), the product exact (QKeras rounds it to float32; the proof uses it too)."""
    alphas = layer.alpha.numpy() if hasattr(layer.alpha, "numpy") else layer.alpha  # a PReLU's: its input's shape
    return exact_leaky_relu(np.asarray(alphas, dtype=np.float32), source, f"{layer.name}: alpha")


def exact_leaky_relu(alpha: np.ndarray, source: Raw, name: str) -> Raw:
    """x where x > 0, else x times float32 `alpha` (one, or one per value), exactly."""
    alpha = _exact_input(alpha, name)
    _check_int64(source.raw, max(alpha.frac, int(np.abs(alpha.raw).max(initial=0)).bit_length()), f"{name} times its input")
    return Raw(np.where(source.raw > 0, source.raw << alpha.frac, source.raw * alpha.raw), source.frac + alpha.frac)


def batchnorm_values(layer, raw: np.ndarray, frac: int) -> np.ndarray:
    """A batch normalization layer's exact outputs (float64) on inputs raw / 2^frac whose last axis is its channels, as
    this evaluation computes them (for the proof's check of hls4ml's batch normalization); NotExact where it has none."""
    return _batchnorm(layer, Raw(np.asarray(raw, dtype=np.int64), frac), []).values()


def _twin(layer, sources: list[Raw]) -> Raw:
    """A layer that moves, compares, adds or pads values: its float64 copy run on the raw integers (at one number of
    fraction bits), exact while they stay below 2^53."""
    frac = max(source.frac for source in sources)
    raws = [source.at(frac) for source in sources]
    twin = type(layer).from_config({**layer.get_config(), "dtype": "float64"})
    floats = [raw.astype(np.float64) for raw in raws]
    if max(np.abs(raw).max(initial=0) for raw in raws) * len(raws) >= 2.0**FLOAT64_EXACT_BITS:
        raise NotExact(f"{layer.name}: values need more than float64's 53 bits")
    out = np.asarray(twin(floats if len(floats) > 1 else floats[0]))
    return Raw(np.round(out).astype(np.int64), frac)


def _average(layer, source: Raw, rounding: list[Float32Rounding]) -> Raw:
    """An average over windows of a power-of-two size: the values take one more fraction bit per halving, and the
    float64 average of those integers is their exact sum."""
    config = layer.get_config()
    window = int(np.prod(config["pool_size"])) if "pool_size" in config else int(np.prod(layer.input_shape[1:-1]))
    if window & (window - 1) or config.get("padding", "valid") != "valid":
        padded = " over padded windows" if config.get("padding") == "same" else ""
        raise NotExact(f"{layer.name}: QKeras averages {window} values{padded} in float: the average has no exact "
                       "fixed-point value (pool over a power of two)")
    shift = window.bit_length() - 1
    largest = float(np.abs(source.raw).max(initial=0)) * window  # every partial sum of a window
    _note_float32(layer.name, largest, window, source.frac, rounding)
    if largest * window >= 2.0**FLOAT64_EXACT_BITS:
        raise NotExact(f"{layer.name}: its sums need more than float64's 53 bits")
    return _twin(layer, [Raw(source.raw << shift, source.frac + shift)])


def apply_function(name: str, function, source: Raw) -> Raw:
    """What layer `name` applies elementwise, exactly (the proof uses it too): a quantizer (its fixed-point cast, checked against QKeras wherever QKeras sees the exact value), a relu, or
    the identity."""
    if function is None:
        return source
    named = getattr(function, "__name__", None)
    if named in PASSIVE_FUNCTIONS:
        return Raw(np.maximum(source.raw, 0), source.frac) if named == "relu" else source
    target = quantizer_type(function) if hasattr(function, "get_config") else None
    if target is None:
        what = type(function).__name__ if hasattr(function, "get_config") else named or repr(function)
        raise NotExact(f"{name}: {what} is not a fixed-point cast (computed in float, or with a scale of its own): no exact value")
    result = Raw(cast(source.raw, source.frac, target), target.frac)
    _check_quantizer(name, function, source, result)
    return result


def cast(raw: np.ndarray, frac: int, target: Fixed) -> np.ndarray:
    """Integer raw values into a fixed-point type that rounds half to even (RND_CONV) and saturates (SAT): the casts
    QKeras's quantized_bits and quantized_relu are (codesign/quantizers.py)."""
    shift = frac - target.frac
    if shift > INT64_BITS:
        raise NotExact(f"a cast from {frac} to {target.frac} fraction bits")
    if shift > 0:
        quotient, remainder = raw >> shift, raw & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        up = (remainder > half) | ((remainder == half) & ((quotient & 1) == 1))
        result = quotient + up
    else:
        _check_int64(raw, -shift, "a cast")
        result = raw << -shift
    low = -int(target.high) if target.saturation == "SAT_SYM" and target.signed else int(target.low)  # a symmetric quantizer's
    return np.clip(result, low, int(target.high))


def _check_quantizer(name: str, quantizer, source: Raw, result: Raw) -> None:
    """The cast equals QKeras's quantizer on every value QKeras would hold exactly in float32 (a guard on the cast
    codesign derives from the quantizer)."""
    values = source.raw.astype(np.float64) * 2.0**-source.frac
    representable = (values.astype(np.float32) == values) & (np.abs(source.raw) < 2**53)
    if not representable.any():
        return
    expected = np.asarray(quantizer(values[representable].astype(np.float32)), dtype=np.float64)
    got = result.raw[representable].astype(np.float64) * 2.0**-result.frac
    wrong = np.flatnonzero(expected != got)
    if len(wrong):
        raise NotExact(f"{name}: the quantizer gives {expected[wrong[0]]!r} for {values[representable][wrong[0]]!r}, "
                       f"the fixed-point cast codesign derives from it {got[wrong[0]]!r}")


def _weighted(layer, source: Raw, rounding: list[Float32Rounding], keras) -> Raw:
    """A Dense or convolution's exact sums (before its activation): products of QKeras's quantized weights."""
    import tensorflow as tf

    config = layer.get_config()
    if config.get("padding") == "causal" or config.get("data_format", "channels_last") != "channels_last" or config.get("groups", 1) != 1:
        raise NotExact(f"{layer.name}: causal padding, channels first or grouped convolutions are not evaluated exactly by codesign/exact.py")
    dense = isinstance(layer, keras.layers.Dense)
    separable = isinstance(layer, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D))
    depthwise = separable or isinstance(layer, keras.layers.DepthwiseConv2D)
    one_d = isinstance(layer, (keras.layers.Conv1D, keras.layers.SeparableConv1D))
    strides, dilations = _pair(config.get("strides", 1), one_d), _pair(config.get("dilation_rate", 1), one_d)
    padding = str(config.get("padding", "valid")).upper()
    quantizer = getattr(layer, "depthwise_quantizer_internal" if depthwise else "kernel_quantizer_internal", None)
    unquantized, unquantized_bias = unquantized_weights(layer)
    kernel = _weights(unquantized, quantizer, layer.name)

    def apply_first(chunk: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if dense:
            return np.tensordot(chunk, weights, axes=([-1], [0]))
        data = tf.constant(chunk[:, np.newaxis] if one_d else chunk)
        if depthwise:
            filters = tf.constant(weights[np.newaxis] if one_d else weights)
            out = _depthwise(data, filters, strides, padding, dilations)
        else:
            filters = tf.constant(weights[np.newaxis] if one_d else weights)
            out = tf.nn.conv2d(data, filters, [1, *strides, 1], padding, dilations=dilations)
        out = out.numpy()
        return out[:, 0] if one_d else out

    taps = kernel.raw.reshape(-1, kernel.raw.shape[-1]) if not depthwise else kernel.raw.reshape(-1, np.prod(kernel.raw.shape[-2:]))
    result = _linear(layer.name, source, kernel, apply_first, int(np.abs(taps).sum(axis=0).max(initial=0)), taps.shape[0], rounding)
    if separable:
        pointwise = _weights(layer.pointwise_kernel.numpy(), getattr(layer, "pointwise_quantizer_internal", None), layer.name)

        def apply_pointwise(chunk: np.ndarray, weights: np.ndarray) -> np.ndarray:
            return np.tensordot(chunk, weights.reshape(weights.shape[-2], weights.shape[-1]), axes=([-1], [0]))

        flat = pointwise.raw.reshape(-1, pointwise.raw.shape[-1])
        result = _linear(layer.name, result, pointwise, apply_pointwise, int(np.abs(flat).sum(axis=0).max(initial=0)), flat.shape[0], rounding)
    if unquantized_bias is None:
        return result
    bias = _weights(unquantized_bias, getattr(layer, "bias_quantizer_internal", None), layer.name)
    frac = max(result.frac, bias.frac)
    return Raw(result.at(frac) + bias.at(frac), frac)


def _depthwise(data, filters, strides: list[int], padding: str, dilations: list[int]):
    """tf.nn.depthwise_conv2d, which takes equal strides only, also for a 1D layer's (1, s): padded as TensorFlow pads
    for those strides, convolved at stride 1, then every s-th position kept."""
    import tensorflow as tf

    if strides[0] == strides[1]:
        return tf.nn.depthwise_conv2d(data, filters, [1, *strides, 1], padding, dilations=dilations)
    sizes = []
    pads = [(0, 0)]
    for axis, stride in ((1, strides[0]), (2, strides[1])):
        length, extent = int(data.shape[axis]), (int(filters.shape[axis - 1]) - 1) * dilations[axis - 1] + 1
        out = -(-length // stride) if padding == "SAME" else (length - extent) // stride + 1
        total = max((out - 1) * stride + extent - length, 0) if padding == "SAME" else 0
        sizes.append(out)
        pads.append((total // 2, total - total // 2))
    padded = tf.pad(data, pads + [(0, 0)])
    out = tf.nn.depthwise_conv2d(padded, filters, [1, 1, 1, 1], "VALID", dilations=dilations)
    return out[:, :: strides[0], :: strides[1]][:, : sizes[0], : sizes[1]]


def _pair(value, one_d: bool) -> list[int]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    values = [int(v) for v in values]
    return [1, values[0]] if one_d else values * (2 // len(values))


def _weights(unquantized: np.ndarray, quantizer, name: str) -> Raw:
    """Weights as QKeras multiplies by them (float32, through the layer's quantizer), as exact raw integers."""
    values = np.asarray(unquantized, dtype=np.float32)
    if quantizer is not None:
        values = np.asarray(quantizer(values), dtype=np.float32)
    return _exact_input(values, f"{name} weights")


def _linear(name: str, source: Raw, kernel: Raw, apply, column_sum: int, terms: int, rounding: list[Float32Rounding]) -> Raw:
    """apply(source, kernel) exactly: the source's raw integers cut into slices of `chunk` bits, each slice's products
    summed in float64 below 2^52 whatever the order, the slices recombined in int64."""
    largest = int(np.abs(source.raw).max(initial=0))
    frac = source.frac + kernel.frac
    _note_float32(name, float(largest) * column_sum, terms, frac, rounding)
    if column_sum == 0 or largest == 0:
        return Raw(np.round(apply(np.zeros(source.raw.shape), kernel.raw.astype(np.float64))).astype(np.int64), frac)
    if (largest * column_sum).bit_length() > INT64_BITS:
        raise NotExact(f"{name}: its exact sums need {(largest * column_sum).bit_length()} bits, more than {INT64_BITS}-bit integers hold")
    chunk = FLOAT64_EXACT_BITS - column_sum.bit_length()
    if chunk < 1:
        raise NotExact(f"{name}: its weights alone need more than float64's 53 bits")
    weights, rest, total, shift = kernel.raw.astype(np.float64), source.raw, None, 0
    while True:
        final = int(np.abs(rest).max(initial=0)) < 1 << chunk
        piece = rest if final else rest & ((1 << chunk) - 1)  # the low bits, non-negative; the rest shifted (floor)
        part = np.round(apply(piece.astype(np.float64), weights)).astype(np.int64) << shift
        total = part if total is None else total + part
        if final:
            return Raw(total, frac)
        rest, shift = rest >> chunk, shift + chunk


def _note_float32(name: str, magnitude: float, terms: int, frac: int, rounding: list[Float32Rounding]) -> None:
    """Record the layer when its largest partial sum (raw, at `frac` fraction bits) needs more than float32 holds."""
    bits = int(np.ceil(np.log2(magnitude + 1))) if magnitude > 0 else 0
    if bits > FLOAT32_SIGNIFICAND:
        rounding.append(Float32Rounding(name, bits, (terms + 1) * 2.0**-FLOAT32_SIGNIFICAND * magnitude * 2.0**-frac))


def _check_int64(raw: np.ndarray, shift: int, what: str) -> None:
    if shift and int(np.abs(raw).max(initial=0)).bit_length() + shift > INT64_BITS:
        raise NotExact(f"{what} needs more than {INT64_BITS}-bit integers")


def why_unavailable(keras_model) -> str | None:
    """Why the model has no exact evaluation (the first layer declined, named), or None when it has one."""
    try:
        evaluate(keras_model, np.zeros((1, *keras_model.input_shape[1:]), dtype=np.float32))
    except NotExact as error:
        return str(error)
    return None
