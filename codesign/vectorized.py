"""Bit-exact emulation of the converted hls4ml graph, vectorized over the batch with integer arithmetic.

Every tensor is held as integer "raw" values in float64 (exact below 2^52; anything larger raises
Unrepresentable) with a known number of fraction bits (value = raw / 2^frac). Each
layer does what hls4ml's C++ templates do: products exact, each product quantized into accum_t (hls4ml stores
products in accum_t before summing), sums wrapped or saturated per accum_t, the result cast into result_t
with its rounding and overflow modes. Sums are float64 BLAS matmuls, exact because they provably stay below
2^52. Layers or types it does not model make `unsupported()` say so; the caller then uses the C++.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from codesign.fixed import (
    EXACT_FLOAT, EXACT_FLOAT32, ROUNDING, SATURATION, SMALL, XNOR_VALUES, Fixed, Unrepresentable, from_float, max_abs, overflow,
    quantize,
)
from codesign.layers import (
    ACTIVATION, CONV1D, CONV2D, CONV2D_BATCHNORM, POINTWISE_CONV1D, POINTWISE_CONV2D, DENSE, DEPTHWISE_CONV2D, POOLING1D, POOLING2D, REPACK, RESHAPE, ZERO_PADDING2D, graph_kind,
    implements, padded, planar_attributes, unhandled, weights_in_firmware,
)
from codesign.layout import GRAPH_DESCRIPTION, read_json

def exponent_width(description: dict) -> int | None:
    """The exponent's bits of a power-of-two weight type ('int<E>' without a fixed-point width: hls4ml's
    ExponentPrecisionType), or None for any other type."""
    text = description.get("text", "")
    return int(text[4:-1]) if "width" not in description and text.startswith("int<") and text.endswith(">") else None


def shifts_lost(data: Fixed, exponent_bits: int, shifts: np.ndarray) -> list[int]:
    """The exponents e (sorted, once each) by which nnet::product::weight_exponential cannot shift an input of type
    `data` exactly: it shifts inside ap_fixed<2(E + W), E + W> (E the exponent's bits, W the input's width), which drops
    the bits of a right shift past its fraction bits and wraps a left shift past its integer bits."""
    room = exponent_bits + data.width  # the product type's integer bits, and its fraction bits
    return [int(e) for e in np.unique(shifts) if data.frac - e > room or data.integer + e > room]


GRAPH_MIN_SAMPLES = 1024  # below this, building the TensorFlow graph costs more than numpy's whole run


@dataclass
class Tensor:
    raw: np.ndarray
    frac: int


def max_pool_padding(data: Fixed, frac: int) -> float:
    """The raw value (at `frac` fraction bits) hls4ml's max pooling pads border windows with: nnet::pad_val sets the
    type's top bit, the most negative value of a signed type but half the range, 2^(I-1), of an unsigned one."""
    top = 2.0 ** (data.width - 1) * 2.0 ** (frac - data.frac)
    return -top if data.signed else top


class VectorizedEmulator:
    """The firmware of one run, executed layer by layer over a whole batch."""

    def __init__(self, hls_dir: Path, compiled: bool = True):
        self.hls_dir = Path(hls_dir)
        self.compiled = compiled  # False: always the numpy arithmetic (the tests compare both with the C++)
        self._graph_function = None
        self.graph = read_json(self.hls_dir / GRAPH_DESCRIPTION)
        self.layers = self.graph["layers"]
        self._loaded: dict[tuple[str, str], np.ndarray] = {}

    def input_type(self, layer: dict) -> Fixed:
        """The type of the variable a layer reads (its producer's result)."""
        producer = next(other for other in self.layers if layer["inputs"][0] in (other["name"], *other.get("outputs", ())))  # a Clone's copies too
        return Fixed.of(producer["types"]["result_t"])

    def unsupported(self) -> str | None:
        """Why this graph cannot be emulated here (a layer class, activation, pooling or type), or None."""
        for layer in self.layers:
            kind = graph_kind(layer)
            if kind is None or (kind.handler("vectorized") is None and kind.role != "input"):
                return f"layer '{layer['name']}' ({layer['class']}): {unhandled(layer['class'], 'vectorized')}"
            if weights_in_firmware(layer):
                return f"layer '{layer['name']}' ({kind.name}): {weights_in_firmware(layer)}"
            if kind is ACTIVATION and layer["attributes"].get("activation") not in ("relu", "linear"):
                return f"activation '{layer['attributes'].get('activation')}' of layer '{layer['name']}'"
            if kind.role == "pooling" and layer["attributes"].get("pool_op") != "Max":
                return f"{layer['attributes'].get('pool_op')} pooling of layer '{layer['name']}'"
            for key, description in layer["types"].items():
                if key == "table_t":
                    continue
                if "width" not in description:
                    return f"type {description['text']} of layer '{layer['name']}'"
                if description["rounding"] not in ROUNDING or description["saturation"] not in SATURATION:
                    return f"type {description['text']} of layer '{layer['name']}'"
                if kind.convolution and key == "accum_t" and description["saturation"] != "WRAP":
                    return f"saturating accumulator {description['text']} of layer '{layer['name']}' ({kind.name})"
                if description["width"] > 40:
                    return f"type {description['text']} of layer '{layer['name']}' (wider than 40 bits)"
        return None

    def predict(self, x: np.ndarray, say: Callable[[str], None] = lambda _: None) -> tuple[np.ndarray, float]:
        """The firmware's outputs for every sample (float64, exact) and the seconds it took: the TensorFlow graph
        of codesign/compiled.py where it models the firmware and the batch is large, this module's numpy otherwise."""
        started = time.perf_counter()
        if self.compiled and len(x) >= GRAPH_MIN_SAMPLES and self._compiled().unsupported() is None:
            return self._compiled().predict(x), time.perf_counter() - started
        return self.predict_numpy(x), time.perf_counter() - started

    def _compiled(self):
        if self._graph_function is None:
            from codesign.compiled import CompiledEmulator

            self._graph_function = CompiledEmulator(self)
        return self._graph_function

    def predict_numpy(self, x: np.ndarray) -> np.ndarray:
        """The firmware's outputs for every sample (several side by side), layer by layer in numpy."""
        tensors: dict[str, Tensor] = {}
        batch = len(x)
        for layer in self.layers:
            kind = graph_kind(layer)
            inputs = [tensors[name] for name in layer["inputs"] if name in tensors]
            source = inputs[0] if inputs else None
            if kind.role == "input":
                result = Fixed.of(layer["types"]["result_t"])
                out = Tensor(from_float(np.asarray(x, dtype=np.float64).reshape(batch, -1), result), result.frac)
            else:
                out = kind.handler("vectorized")(self, layer, source, batch)
            if out.raw.dtype != np.float32 and "result_t" in layer["types"] and layer["types"]["result_t"].get("width", 99) <= 23:
                out = Tensor(out.raw.astype(np.float32), out.frac)  # exact: a 23-bit type holds < 2^23
            tensors[layer["name"]] = out
        outputs = [tensors[name] for name in self.output_names()]
        return np.concatenate([output.raw.reshape(batch, -1) / 2.0**output.frac for output in outputs], axis=1)

    def output_names(self) -> list[str]:
        """The layers whose results the firmware returns, in its order (graphs written before they were recorded: the last)."""
        return self.graph.get("outputs") or [self.layers[-1]["name"]]

    # --- layers ---------------------------------------------------------------------------------

    @staticmethod
    def weight_type(layer: dict, key: str) -> Fixed:
        """A weight's type as the products use it: hls4ml stores a binary kernel as 0/1 in uint<1> and negates the input
        where it is 0 (nnet::product::weight_binary), so its values are -1 and +1 (XNOR_VALUES); a power-of-two
        kernel as a sign and an int<E> exponent (nnet::product::weight_exponential), so its values are +-2^e for e in
        int<E>'s range, which a fixed-point type of 2^(E-1) fraction bits holds."""
        description = layer["types"][f"{key}_t"]
        if "width" in description:
            return Fixed.of(description)
        if description.get("text") == "uint<1>":
            return XNOR_VALUES
        exponent_bits = exponent_width(description)
        if exponent_bits is None:
            return Fixed.of(description)  # raises: no fixed-point type
        span = 2 ** (exponent_bits - 1)
        return Fixed(2 * span + 1, span + 1, True)  # +-2^e for e in [-span, span - 1]

    def weights(self, layer: dict, key: str) -> np.ndarray:
        """The weights as the C simulation loads them (the project's .txt, each value cast to its type), read once.

        The Resource strategy stores kernels transposed (hls4ml's ApplyResourceStrategy): they are put back in
        Keras order, (n_in, n_out) or (height, width, channels, filters).
        """
        cache_key = (layer["name"], key)
        if cache_key not in self._loaded:
            name = layer["weights"][key]
            text = (self.hls_dir / "firmware" / "weights" / f"{name}.txt").read_text().strip()
            fixed = self.weight_type(layer, key)
            if exponent_width(layer["types"][f"{key}_t"]) is not None:  # '{sign, exponent}' pairs: +-2^e on fixed's grid
                pairs = np.fromstring(text.replace("{", "").replace("}", ""), dtype=np.float64, sep=",").reshape(-1, 2)
                values = np.where(pairs[:, 0] == 1, 1, -1) * (2 ** (pairs[:, 1].astype(np.int64) + fixed.frac))
            else:
                values = np.fromstring(text, dtype=np.float64, sep=",")  # C's strtod: 5x np.array(split)
                values = 2 * values.astype(np.int64) - 1 if fixed is XNOR_VALUES else from_float(values, fixed)
            attributes = planar_attributes(layer)
            if key == "weight" and attributes.get("_weights_transposed"):
                if graph_kind(layer) is DENSE:
                    values = values.reshape(attributes["n_out"], attributes["n_in"]).T
                else:
                    shape = (attributes["n_filt"], attributes["filt_height"], attributes["filt_width"], attributes["n_chan"])
                    values = values.reshape(shape).transpose(1, 2, 3, 0)
            self._loaded[cache_key] = np.ascontiguousarray(values).reshape(-1)
        return self._loaded[cache_key]

    @implements("vectorized", DENSE)
    def _dense(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        n_in, n_out = layer["attributes"]["n_in"], layer["attributes"]["n_out"]
        weights = self.weights(layer, "weight").reshape(n_in, n_out)
        return self._multiply_accumulate(layer, source.raw.reshape(batch, n_in), source.frac, weights)

    @implements("vectorized", CONV1D, CONV2D, CONV2D_BATCHNORM, POINTWISE_CONV1D, POINTWISE_CONV2D)
    def _conv2d(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        """One matmul per kernel position over shifted views of the padded image (no im2col copy); a 1D convolution
        as a 2D one, one row high."""
        attributes = planar_attributes(layer)
        channels, filters = attributes["n_chan"], attributes["n_filt"]
        accum = Fixed.of(layer["types"]["accum_t"])
        kernel = self.weights(layer, "weight").reshape(attributes["filt_height"], attributes["filt_width"], channels, filters)
        product_frac = source.frac + Fixed.of(layer["types"]["weight_t"]).frac
        if accum.saturation != "WRAP" or product_frac > accum.frac:  # per-product rounding: the general path
            patches = self.patches(source.raw, batch, attributes, channels)
            result = self._multiply_accumulate(layer, patches.reshape(-1, kernel[..., 0].size), source.frac, kernel.reshape(-1, filters))
            return Tensor(result.raw.reshape(batch, -1), result.frac)
        image = self.padded(source.raw, batch, attributes, channels)
        if not self._fits_float(image.reshape(-1, 1), kernel.reshape(-1, filters)):
            raise Unrepresentable(f"the sums of layer '{layer['name']}' can exceed 2^52")
        dtype = np.float32 if self._fits_float(image.reshape(-1, 1), kernel.reshape(-1, filters), EXACT_FLOAT32) else np.float64
        image, kernel = image.astype(dtype), kernel.astype(dtype)
        out_h, out_w, stride_h, stride_w = (attributes[key] for key in ("out_height", "out_width", "stride_height", "stride_width"))
        if kernel[..., 0].size <= 64:  # few channels: one im2col matmul beats many thin ones
            patches = self.patches(image, batch, {**attributes, "pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0,
                                                   "in_height": image.shape[1], "in_width": image.shape[2]}, channels)
            sums = (patches.reshape(-1, kernel[..., 0].size) @ kernel.reshape(-1, filters)).reshape(batch, out_h, out_w, filters)
        else:
            sums = np.zeros((batch, out_h, out_w, filters), dtype=dtype)
            for row in range(attributes["filt_height"]):
                for column in range(attributes["filt_width"]):
                    window = image[:, row : row + stride_h * out_h : stride_h, column : column + stride_w * out_w : stride_w]
                    sums += window @ kernel[row, column]
        bias, _, bias_frac = self.bias(layer, filters)
        start = quantize(bias, bias_frac, accum)
        scale = 2.0 ** (accum.frac - product_frac)
        if sums.dtype != np.float32 or max_abs(sums) * scale + max_abs(start) >= SMALL:
            sums = sums.astype(np.float64)
        sums *= scale  # in place: these arrays are large, and new ones cost more than the arithmetic
        sums += start.astype(sums.dtype)
        total = overflow(sums, accum)
        result = Fixed.of(layer["types"]["result_t"])
        return Tensor(quantize(total, accum.frac, result).reshape(batch, -1), result.frac)

    @implements("vectorized", DEPTHWISE_CONV2D)
    def _depthwiseconv2d(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        attributes = layer["attributes"]
        channels = attributes["n_chan"]
        multiplier = attributes["n_filt"] // channels
        kernel = self.weights(layer, "weight").reshape(attributes["filt_height"], attributes["filt_width"], channels, multiplier)
        patches = self.patches(source.raw, batch, attributes, channels)  # batch, oh, ow, fh, fw, c
        bias, accum, bias_frac = self.bias(layer, attributes["n_filt"])
        products = patches[..., np.newaxis] * kernel  # batch, oh, ow, fh, fw, c, m
        frac = source.frac + Fixed.of(layer["types"]["weight_t"]).frac
        products = quantize(products, frac, accum)
        sums = products.sum(axis=(3, 4)).reshape(*products.shape[:3], -1)
        total = overflow(sums + quantize(bias, bias_frac, accum), accum)
        result = Fixed.of(layer["types"]["result_t"])
        return Tensor(quantize(total, accum.frac, result).reshape(batch, -1), result.frac)

    def bias(self, layer: dict, size: int) -> tuple[np.ndarray, Fixed, int]:
        accum = Fixed.of(layer["types"]["accum_t"])
        if "bias" not in layer["weights"]:
            return np.zeros(size), accum, accum.frac
        return self.weights(layer, "bias"), accum, Fixed.of(layer["types"]["bias_t"]).frac

    def _multiply_accumulate(self, layer: dict, data: np.ndarray, data_frac: int, weights: np.ndarray) -> Tensor:
        """sum_i quantize(x_i * w_ij, accum) + quantize(b_j, accum), overflow per accum, cast to result."""
        accum = Fixed.of(layer["types"]["accum_t"])
        weight_frac = Fixed.of(layer["types"]["weight_t"]).frac
        bias, _, bias_frac = self.bias(layer, weights.shape[1])
        product_frac = data_frac + weight_frac
        start = quantize(bias, bias_frac, accum)
        if not self._fits_float(data, weights):
            raise Unrepresentable(f"the sums of layer '{layer['name']}' can exceed 2^52")
        if accum.saturation != "WRAP":  # saturation depends on the order: accumulate input by input, as the C++ does
            total = np.broadcast_to(start, (len(data), weights.shape[1])).copy()
            for index in range(weights.shape[0]):
                product = quantize(data[:, index, np.newaxis] * weights[np.newaxis, index], product_frac, accum)
                total = overflow(total + product, accum)
        elif product_frac <= accum.frac:
            dtype = np.float32 if self._fits_float(data, weights, EXACT_FLOAT32) else np.float64
            sums = (data.astype(dtype) @ weights.astype(dtype)).astype(np.float64)
            total = overflow(sums * 2.0 ** (accum.frac - product_frac) + start, accum)
        else:  # each product rounds into accum on its own: do it product by product
            sums = quantize(data[:, :, np.newaxis] * weights[np.newaxis], product_frac, accum).sum(axis=1)
            total = overflow(sums + start, accum)
        result = Fixed.of(layer["types"]["result_t"])
        return Tensor(quantize(total, accum.frac, result), result.frac)

    @staticmethod
    def _fits_float(data: np.ndarray, weights: np.ndarray, limit: float = 0.0) -> bool:
        """Whether every partial sum of data @ weights stays an exactly representable integer (float64 by default)."""
        bound = float(np.abs(data).max(initial=0)) * float(np.abs(weights).sum(axis=0).max(initial=0))
        return bound < (limit or EXACT_FLOAT)

    @staticmethod
    def padded(raw: np.ndarray, batch: int, attributes: dict, channels: int, fill: float = 0.0) -> np.ndarray:
        image = raw.reshape(batch, attributes["in_height"], attributes["in_width"], channels)
        return np.pad(image, ((0, 0), (attributes.get("pad_top", 0), attributes.get("pad_bottom", 0)),
                              (attributes.get("pad_left", 0), attributes.get("pad_right", 0)), (0, 0)), constant_values=fill)

    @staticmethod
    def patches(raw: np.ndarray, batch: int, attributes: dict, channels: int, fill: float = 0.0) -> np.ndarray:
        """Sliding windows over the image padded with `fill` (zeros by default): (batch, out_h, out_w, filt_h, filt_w, channels)."""
        padded = VectorizedEmulator.padded(raw, batch, attributes, channels, fill)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (attributes["filt_height"], attributes["filt_width"]), axis=(1, 2))
        windows = windows[:, :: attributes["stride_height"], :: attributes["stride_width"]]
        windows = windows[:, : attributes["out_height"], : attributes["out_width"]]
        return np.moveaxis(windows, 3, 5)  # (b, oh, ow, c, fh, fw) -> (b, oh, ow, fh, fw, c)

    @implements("vectorized", ACTIVATION)
    def _activation(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        result = Fixed.of(layer["types"]["result_t"])
        raw = source.raw
        clips_negatives = not result.signed and result.saturation in ("SAT", "SAT_SYM")  # the cast does the relu
        if layer["attributes"].get("activation") == "relu" and not clips_negatives:
            raw = np.maximum(raw, 0)
        return Tensor(quantize(raw, source.frac, result), result.frac)

    @implements("vectorized", POOLING1D, POOLING2D)
    def _pooling2d(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        attributes = planar_attributes(layer)
        channels = attributes["n_filt"]
        attributes.update(filt_height=attributes["pool_height"], filt_width=attributes["pool_width"])
        pool_h, pool_w, out_h, out_w = (attributes[key] for key in ("pool_height", "pool_width", "out_height", "out_width"))
        tiled = (
            (attributes["stride_height"], attributes["stride_width"]) == (pool_h, pool_w)
            and not padded(attributes)
        )
        if tiled:  # non-overlapping windows: a reshape instead of a strided gather
            image = source.raw.reshape(batch, attributes["in_height"], attributes["in_width"], channels)
            blocks = image[:, : out_h * pool_h, : out_w * pool_w].reshape(batch, out_h, pool_h, out_w, pool_w, channels)
            pooled = blocks.max(axis=(2, 4))
        else:
            fill = max_pool_padding(self.input_type(layer), source.frac)
            pooled = self.patches(source.raw, batch, attributes, channels, fill).max(axis=(3, 4))
        result = Fixed.of(layer["types"]["result_t"])
        return Tensor(quantize(pooled.reshape(batch, -1), source.frac, result), result.frac)

    @implements("vectorized", RESHAPE)
    def _reshape(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        return source

    @implements("vectorized", REPACK)
    def _repack(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        """hls4ml's io_stream reshape copies each value into its result type (nnet::repack_stream)."""
        result = Fixed.of(layer["types"]["result_t"])
        return Tensor(quantize(source.raw.copy(), source.frac, result), result.frac)

    @implements("vectorized", ZERO_PADDING2D)
    def _zeropadding2d(self, layer: dict, source: Tensor, batch: int) -> Tensor:
        padded = self.padded(source.raw, batch, layer["attributes"], layer["attributes"]["n_chan"])
        result = Fixed.of(layer["types"]["result_t"])
        return Tensor(quantize(padded.reshape(batch, -1), source.frac, result), result.frac)
