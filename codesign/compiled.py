"""The vectorized emulator's common case as one TensorFlow graph function: the same integer arithmetic, faster.

Raw values (value * 2^frac) are held in float32 wherever a static bound, propagated from the types and the
weights, proves every value stays below 2^24, and in float64 (below 2^53) otherwise, so every product, sum and
scaling is exact and the order of the sums does not matter. Casts whose result provably fits skip the overflow
arithmetic; convolutions and matmuls run in TensorFlow's multithreaded kernels (XLA's were slower here). Layers
or types outside this subset (saturating accumulators, products rounded one by one, other rounding modes, average
pooling) make `unsupported()` say why; the numpy emulator (vectorized.py) then runs instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from codesign.fixed import EXACT_FLOAT32, Fixed, quantize
from codesign.layers import (
    ACTIVATION, CONV1D, CONV2D, CONV2D_BATCHNORM, POINTWISE_CONV1D, POINTWISE_CONV2D, DENSE, DEPTHWISE_CONV2D, POOLING1D, POOLING2D, RESHAPE, ZERO_PADDING2D, graph_kind,
    PAD_SIDES, implements, padded, planar_attributes, unhandled,
)

EXACT64 = 2.0**53  # the exact integers of float64 (fixed.EXACT_FLOAT keeps a bit of margin for numpy's rounding tricks)
CHUNK = 1024  # samples per call of the graph function (one shape, traced once; 1,024 ran the CIFAR CNN 9% faster than 256)
ROUNDINGS = ("TRN", "RND", "RND_CONV")
OVERFLOWS = ("WRAP", "SAT", "SAT_SYM")


class Declined(ValueError):
    """The graph needs something the compiled emulator does not model."""


@dataclass(frozen=True)
class Raw:
    """A tensor's static description: fraction bits, a bound on |raw value|, and whether it cannot be negative."""

    frac: int
    bound: float
    nonnegative: bool = False
    within: Fixed | None = None  # a type whose grid and range hold every value (the last cast's): a cast into it is a no-op


def _dtype(bound: float):
    import tensorflow as tf

    if bound >= EXACT64:
        raise Declined(f"values up to {bound:.3g} exceed float64's exact integers")
    return tf.float32 if bound < EXACT_FLOAT32 else tf.float64


def _rounded(tensor, mode: str):
    import tensorflow as tf

    if mode == "TRN":
        return tf.floor(tensor)
    if mode == "RND_CONV":
        return tf.round(tensor)  # ties to even, as RND_CONV
    return tf.floor(tensor + tf.constant(0.5, tensor.dtype))


def _shifted_bound(raw: Raw, target: Fixed) -> float:
    """A bound on |value| once scaled to target's fraction bits (and rounded)."""
    shift = target.frac - raw.frac
    return raw.bound * 2.0**shift + (1 if shift < 0 else 0)


def _fits(raw: Raw, target: Fixed) -> bool:
    """Whether every value, scaled and rounded into target, is inside its range (no overflow arithmetic needed)."""
    bound = _shifted_bound(raw, target)
    return bound <= target.high and (raw.nonnegative or -bound >= _lowest(target))


def _monotone(raw: Raw, target: Fixed) -> bool:
    """Whether the cast never decreases as its input grows (rounding and saturation do not; a wrap that can happen
    does): then it commutes with a max pooling."""
    return target.saturation != "WRAP" or _fits(raw, target)


def _lowest(fixed: Fixed) -> float:
    """The lowest raw value a type holds (a symmetric saturation's is -high)."""
    return -fixed.high if fixed.saturation == "SAT_SYM" and fixed.signed else fixed.low


def _overflowed(tensor, target: Fixed):
    import tensorflow as tf

    dtype = tensor.dtype
    low = -target.high if target.saturation == "SAT_SYM" and target.signed else target.low
    if target.saturation == "WRAP":  # wrapped only when a value is outside: two reductions cost less than a floormod
        outside = (tf.reduce_min(tensor) < tf.constant(low, dtype)) | (tf.reduce_max(tensor) > tf.constant(target.high, dtype))
        return tf.cond(outside, lambda: tf.math.floormod(tensor - tf.constant(low, dtype), tf.constant(2.0**target.width, dtype)) + tf.constant(low, dtype),
                       lambda: tensor)
    return tf.clip_by_value(tensor, tf.constant(low, dtype), tf.constant(target.high, dtype))


def _cast(tensor, raw: Raw, target: Fixed, name: str):
    """ap_fixed's cast of raw values into `target`: rounding, then overflow only where the static range says it can
    happen. Returns the tensor and its new static description (tensor None: only the description)."""
    import tensorflow as tf

    if target.rounding not in ROUNDINGS or target.saturation not in OVERFLOWS:
        raise Declined(f"type {target.ap()} of layer '{name}'")
    if raw.within is not None and raw.within.frac == target.frac and _lowest(raw.within) >= _lowest(target) and raw.within.high <= target.high:
        return tensor, Raw(raw.frac, raw.bound, raw.nonnegative, target)  # on target's grid and inside its range already
    shift = target.frac - raw.frac
    bound, fits = _shifted_bound(raw, target), _fits(raw, target)
    low = _lowest(target)
    stays_nonnegative = raw.nonnegative and (fits or target.saturation != "WRAP")  # wrapping can turn a sign
    described = Raw(target.frac, min(bound, max(-low, target.high)), stays_nonnegative or low >= 0, target)
    if tensor is None:
        return None, described
    dtype = _dtype(2 * max(bound, raw.bound) + 1)
    tensor = tf.cast(tensor, dtype)
    if shift:
        tensor = tensor * tf.constant(2.0**shift, dtype)
    if shift < 0:
        tensor = _rounded(tensor, target.rounding)
    if not fits:
        tensor = _overflowed(tensor, target)
    return tensor, described


def _reach(columns: np.ndarray, nonnegative: bool) -> float:
    """The largest |partial sum| of inputs times a column's weights, per unit of input bound: sum |w| for inputs of
    either sign; for nonnegative inputs (after a relu) the larger of the positive and the negative weights' sums,
    since those cannot meet at the bound with opposite signs. Every partial sum, in any order, is inside it."""
    if columns.size == 0:
        return 0.0
    positive, negative = np.clip(columns, 0, None).sum(axis=0), -np.clip(columns, None, 0).sum(axis=0)
    return float((np.maximum(positive, negative) if nonnegative else positive + negative).max())


class CompiledEmulator:
    """The firmware of one run as a TensorFlow graph function over batches of CHUNK samples."""

    def __init__(self, emulator):
        self.emulator = emulator
        self._function: Callable | None = None
        self._float32_input = False  # whether float32 data may stay float32 through the input cast (_input)
        try:
            self._steps, self._outputs = self._plan()
            self._reason = None
        except Declined as error:
            self._reason = str(error)

    def unsupported(self) -> str | None:
        """Why this graph is left to the numpy emulator, or None."""
        return self._reason

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The firmware's outputs for every sample (float64, exact; several side by side)."""
        import tensorflow as tf

        if self._function is None:
            # TensorFlow's own (oneDNN) kernels: faster here than XLA's; no autograph: the steps have no Python control
            # flow on tensors, and converting them took 1.8 s of a first call on the CIFAR CNN
            self._function = tf.function(self._run, autograph=False)
        x = np.asarray(x).reshape(len(x), -1)
        dtype = np.float32 if x.dtype == np.float32 and self._float32_input else np.float64
        parts = []
        for start in range(0, len(x), CHUNK):
            chunk = np.asarray(x[start : start + CHUNK], dtype=dtype)  # chunk by chunk: 10,000 CIFAR images at once are 245 MB
            padded = np.concatenate([chunk, np.zeros((CHUNK - len(chunk), x.shape[1]), dtype)]) if len(chunk) < CHUNK else chunk
            parts.append(self._function(tf.constant(padded)).numpy()[: len(chunk)])
        return np.concatenate(parts).astype(np.float64)

    def _run(self, x):
        import tensorflow as tf

        tensors = {}
        for name, inputs, step in self._steps:
            tensors[name] = step(*[tensors[source] for source in inputs]) if inputs else step(x)
        outputs = [tf.reshape(tf.cast(tensors[name], tf.float64), (tf.shape(x)[0], -1)) * 2.0**-raw.frac for name, raw in self._outputs]
        return outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=1)  # raw / 2^frac: exact in float64 below 2^53

    def _plan(self):
        """One closure per layer with its static range; Declined for anything outside the modelled subset."""
        steps, described = [], {}
        self._after_pooling: dict[str, Callable] = {}  # max pooling -> the activation it runs before (_pooled_first)
        for layer in self.emulator.layers:
            kind, name = graph_kind(layer), layer["name"]
            sources = [source for source in layer["inputs"] if source in described]
            pooling = self._pooled_first(layer, described)
            if pooling is not None:
                step, raw = ACTIVATION.handler("compiled")(self, layer, described[sources[0]])
                self._after_pooling[pooling] = step
                steps.append((name, sources, lambda tensor: tensor))
                described[name] = raw
                continue
            if kind is not None and kind.role == "input":
                result = Fixed.of(layer["types"]["result_t"])
                step, raw = self._input(result, name)
            else:
                if len(sources) != 1:
                    raise Declined(f"layer '{name}' ({layer['class']}) has {len(sources)} inputs")
                planner = kind.handler("compiled") if kind is not None else None
                if planner is None:
                    raise Declined(f"layer '{name}' ({layer['class']}): {unhandled(layer['class'], 'compiled')}")
                step, raw = planner(self, layer, described[sources[0]])
            steps.append((name, sources, step))
            described[name] = raw
        return steps, [(name, described[name]) for name in self.emulator.output_names()]

    def _pooled_first(self, layer: dict, described: dict) -> str | None:
        """The max pooling a relu/linear activation feeds alone, where its cast is monotone: pooling first gives the
        same values (a monotone function commutes with max) on a quarter of them (2x2). None otherwise."""
        if graph_kind(layer) is not ACTIVATION or len(layer["inputs"]) != 1 or layer["inputs"][0] not in described:
            return None
        if layer["name"] in self.emulator.output_names():  # a model's output too: its own values are returned
            return None
        consumers = [other for other in self.emulator.layers if layer["name"] in other["inputs"]]
        if len(consumers) != 1 or graph_kind(consumers[0]) not in (POOLING1D, POOLING2D) or layer["attributes"].get("activation") not in ("relu", "linear"):
            return None
        if not _unpadded_max(planar_attributes(consumers[0])):
            return None
        return consumers[0]["name"] if _monotone(described[layer["inputs"][0]], Fixed.of(layer["types"]["result_t"])) else None

    def _input(self, result: Fixed, name: str):
        """double -> ap_fixed: scaled, rounded and overflowed per the input type (the data are arbitrary floats)."""
        import tensorflow as tf

        if result.rounding not in ROUNDINGS or result.saturation not in OVERFLOWS:
            raise Declined(f"input type {result.ap()}")

        # float32 data scaled by 2^frac stay exact in float32; floor and round-half-even of them too, and a saturating
        # clip to a type of at most 24 bits (RND's x + 0.5 and a wrap's floormod of large values would not be)
        self._float32_input = result.rounding in ("TRN", "RND_CONV") and result.saturation in ("SAT", "SAT_SYM") and result.width <= 24

        def step(x):
            return _overflowed(_rounded(x * tf.constant(2.0**result.frac, x.dtype), result.rounding), result)

        return step, _cast(None, Raw(result.frac, float("inf")), result, name)[1]  # the data are unbounded: always cast

    def _multiply_accumulate(self, layer: dict, source: Raw, kernel: np.ndarray, columns: np.ndarray, contract: Callable):
        """sum(x * w) + b into accum_t (products and bias exact there), cast into result_t; `contract` gives the sums
        with the outputs on the last axis; `columns` holds each output's weights in a column, which bound its sums."""
        import tensorflow as tf

        types = layer["types"]
        accum, weight, result = Fixed.of(types["accum_t"]), Fixed.of(types["weight_t"]), Fixed.of(types["result_t"])
        product_frac = source.frac + weight.frac
        if accum.saturation != "WRAP" or product_frac > accum.frac:
            raise Declined(f"accumulator {accum.ap()} of layer '{layer['name']}' (saturating, or rounding each product)")
        bias, _, bias_frac = self.emulator.bias(layer, columns.shape[1])
        start = quantize(np.asarray(bias, dtype=np.float64), bias_frac, accum)
        sums_bound = source.bound * _reach(columns, source.nonnegative)
        scale = 2.0 ** (accum.frac - product_frac)
        total = Raw(accum.frac, sums_bound * scale + float(np.abs(start).max(initial=0)))
        sums_dtype, total_dtype = _dtype(sums_bound), _dtype(total.bound)
        kernel_tensor, start_tensor = tf.constant(kernel, sums_dtype), tf.constant(start, total_dtype)
        _, accumulated = _cast(None, total, accum, layer["name"])
        _, described = _cast(None, accumulated, result, layer["name"])

        def step(tensor):
            value = tf.cast(contract(tf.cast(tensor, sums_dtype), kernel_tensor), total_dtype)
            value = tf.nn.bias_add(value * tf.constant(scale, total_dtype) if scale != 1 else value, start_tensor)  # oneDNN fuses it into the conv
            value, raw = _cast(value, total, accum, layer["name"])
            value, _ = _cast(value, raw, result, layer["name"])
            return tf.reshape(value, (tf.shape(value)[0], -1))

        return step, described


@implements("compiled", DENSE)
def _dense(self: CompiledEmulator, layer: dict, source: Raw):
    import tensorflow as tf

    a = layer["attributes"]
    kernel = self.emulator.weights(layer, "weight").reshape(a["n_in"], a["n_out"])
    return self._multiply_accumulate(layer, source, kernel, kernel, lambda x, w: tf.matmul(x, w))


def _image(tensor, a: dict, channels: int):
    """Flat raw values as zero-padded NHWC images."""
    import tensorflow as tf

    image = tf.reshape(tensor, (tf.shape(tensor)[0], a["in_height"], a["in_width"], channels))
    pads = [a.get(key, 0) for key in PAD_SIDES]
    return tf.pad(image, [[0, 0], pads[:2], pads[2:], [0, 0]]) if any(pads) else image


@implements("compiled", CONV1D, CONV2D, CONV2D_BATCHNORM, POINTWISE_CONV1D, POINTWISE_CONV2D)
def _conv2d(self: CompiledEmulator, layer: dict, source: Raw):
    import tensorflow as tf

    a = planar_attributes(layer)
    kernel = self.emulator.weights(layer, "weight").reshape(a["filt_height"], a["filt_width"], a["n_chan"], a["n_filt"])
    strides = (1, a["stride_height"], a["stride_width"], 1)

    def contract(x, w):
        return _cropped(tf.nn.conv2d(_image(x, a, a["n_chan"]), w, strides, "VALID"), a)

    return self._multiply_accumulate(layer, source, kernel, kernel.reshape(-1, a["n_filt"]), contract)


def _cropped(image, a: dict):
    """A VALID convolution's output cut to hls4ml's output size, only where it is larger (a slice between the
    convolution and its bias would keep oneDNN from fusing them)."""
    if image.shape[1] == a["out_height"] and image.shape[2] == a["out_width"]:
        return image
    return image[:, : a["out_height"], : a["out_width"]]


@implements("compiled", DEPTHWISE_CONV2D)
def _depthwise(self: CompiledEmulator, layer: dict, source: Raw):
    import tensorflow as tf

    a = layer["attributes"]
    kernel = self.emulator.weights(layer, "weight").reshape(a["filt_height"], a["filt_width"], a["n_chan"], a["n_filt"] // a["n_chan"])
    strides = (1, a["stride_height"], a["stride_width"], 1)

    def contract(x, w):  # output channel c * multiplier + m, as hls4ml orders them
        return _cropped(tf.nn.depthwise_conv2d(_image(x, a, a["n_chan"]), w, strides, "VALID"), a)

    return self._multiply_accumulate(layer, source, kernel, kernel.reshape(-1, kernel.shape[2] * kernel.shape[3]), contract)


@implements("compiled", ACTIVATION)
def _activation(self: CompiledEmulator, layer: dict, source: Raw):
    import tensorflow as tf

    result = Fixed.of(layer["types"]["result_t"])
    function = layer["attributes"].get("activation")
    if function not in ("relu", "linear"):
        raise Declined(f"activation '{function}' of layer '{layer['name']}'")
    clips_negatives = not result.signed and result.saturation in ("SAT", "SAT_SYM")

    relu = function == "relu" and not clips_negatives
    rectified = Raw(source.frac, source.bound, source.nonnegative or relu, source.within)  # max(x, 0) stays in x's type

    def step(tensor):
        if relu:
            tensor = tf.maximum(tensor, tf.zeros((), tensor.dtype))
        return _cast(tensor, rectified, result, layer["name"])[0]

    return step, _cast(None, rectified, result, layer["name"])[1]


@implements("compiled", POOLING1D, POOLING2D)
def _pooling(self: CompiledEmulator, layer: dict, source: Raw):
    import tensorflow as tf

    a = planar_attributes(layer)
    if not _unpadded_max(a):
        raise Declined(f"{a.get('pool_op')} pooling of layer '{layer['name']}'")
    result = Fixed.of(layer["types"]["result_t"])

    def step(tensor):
        image = tf.reshape(tensor, (tf.shape(tensor)[0], a["in_height"], a["in_width"], a["n_filt"]))
        pooled = tf.nn.max_pool2d(image, (a["pool_height"], a["pool_width"]), (a["stride_height"], a["stride_width"]), "VALID")
        pooled = tf.reshape(pooled[:, : a["out_height"], : a["out_width"]], (tf.shape(pooled)[0], -1))
        pooled = self._after_pooling.get(layer["name"], lambda values: values)(pooled)  # the activation it runs before
        return _cast(pooled, source, result, layer["name"])[0]

    return step, _cast(None, source, result, layer["name"])[1]


def _unpadded_max(a: dict) -> bool:
    """A max pooling without padding: what the graph models (padded ones pad with hls4ml's pad_val, in numpy)."""
    return a.get("pool_op") == "Max" and not padded(a)


@implements("compiled", RESHAPE)
def _reshape(self: CompiledEmulator, layer: dict, source: Raw):
    return (lambda tensor: tensor), source


@implements("compiled", ZERO_PADDING2D)
def _zero_padding(self: CompiledEmulator, layer: dict, source: Raw):
    import tensorflow as tf

    a = layer["attributes"]
    result = Fixed.of(layer["types"]["result_t"])

    def step(tensor):
        image = _image(tensor, a, a["n_chan"])
        return _cast(tf.reshape(image, (tf.shape(image)[0], -1)), source, result, layer["name"])[0]

    return step, _cast(None, source, result, layer["name"])[1]

