"""The step QKeras computes where hls4ml merged a scale with a binary or ternary activation into one compare per
channel (BatchNormalizationQuantizedTanh), and the thresholds on the firmware's input grid that reproduce it: shared
by the repair that writes them (codesign/repairs.py) and the proof that checks them (codesign/proof.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from codesign.fixed import Fixed
from codesign.layers import inputs_of, is_batch_normalization, is_quantizer_layer, keras_owner, producer_past_identities
from codesign.quantizers import activation_quantizer, is_step_quantizer


@dataclass
class Step:
    """QKeras's levels (-1, 0, +1) for the values the merged layer reads, per channel: `levels(values)` takes and gives
    (samples, channels) arrays. `binary` for a binary activation (hls4ml writes xnor bits, 0 for -1), else ternary;
    `activation` is the Keras layer whose quantizer gives the levels (a QActivation, or a layer's activation=)."""

    levels: Callable[[np.ndarray], np.ndarray]
    binary: bool
    activation: str


def step_of(keras_model, firmware_name: str, source_name: str) -> Step | None:
    """What QKeras computes at hls4ml's merged layer `firmware_name`, which reads the firmware layer `source_name`: a
    Keras batch normalization ('bnbt_<normalization>'), the ternary's own threshold scale ('bnbt_<activation>_scale',
    with the normalization before it that hls4ml fuses into that scale, if any) or an alpha kernel's scale and bias
    ('bnbt_<layer>_alpha', powers of two only), then the binary or ternary quantizer; None where it is none of these
    (or the alpha's scales are not powers of two: QKeras then rounds its kernel in float32)."""
    layers = {layer.name: layer for layer in keras_model.layers}
    name, source = firmware_name.removeprefix("bnbt_"), keras_owner(source_name, layers)
    if name in layers and is_batch_normalization(layers[name]):
        return _normalized_step(layers[name], _step_after(layers[name], layers))
    owner = keras_owner(name, layers)
    if owner is None:
        return None
    if name.endswith("_scale"):  # hls4ml's scale for a ternary's threshold, and a normalization it fused into it
        holder = layers[owner]
        if not is_step_quantizer(activation_quantizer(holder)):
            return None
        before = producer_past_identities(holder) if is_quantizer_layer(holder) else None
        if before is not None and before.name != source and is_batch_normalization(before):
            return _normalized_step(before, holder)
        quantizer = activation_quantizer(holder)
        return Step(lambda values: _applied(quantizer, values), False, owner)
    if name.endswith("_alpha"):
        holder = layers[owner] if is_step_quantizer(activation_quantizer(layers[owner])) else _step_after(layers[owner], layers)
        scaled = scale_and_bias(layers[owner])
        if holder is None or scaled is None:
            return None
        quantizer, (scale, bias) = activation_quantizer(holder), scaled
        return Step(lambda values: _applied(quantizer, (values.astype(np.float32) * scale + bias).astype(np.float32)), _is_binary(quantizer), holder.name)
    return None


def _normalized_step(normalization, holder) -> Step | None:
    """The step of `holder`'s quantizer on the normalization's output (None without a holder)."""
    if holder is None:
        return None
    quantizer = activation_quantizer(holder)
    return Step(_after_normalization(normalization, quantizer), _is_binary(quantizer), holder.name)


def grid_thresholds(step: Step, fixed: Fixed, channels: int) -> dict[str, np.ndarray] | None:
    """The thresholds, as values of `fixed` (one per channel), with which hls4ml's compare gives QKeras's levels on
    every value of `fixed`: binary +1 from `threshold` on (x >= threshold); ternary +1 above `threshold_hi`, -1 at or
    below `threshold_lo`. Each is where the levels step up, found by bisection over the whole grid (the levels are
    monotone: a positive scale, float32 arithmetic and a step quantizer). None where one would lie outside `fixed`
    (a channel that never reaches a level inside it, or reaches it at its lowest value)."""
    low, high = int(fixed.low), int(fixed.high)
    firsts = {level: _first_at_or_above(step, level, low, high, channels, fixed.lsb) for level in ((1,) if step.binary else (1, 0))}
    if step.binary:
        raw = {"threshold": firsts[1]}
    else:
        raw = {"threshold_hi": [first - 1 for first in firsts[1]], "threshold_lo": [first - 1 for first in firsts[0]]}
    if any(min(values) < low or max(values) > high for values in raw.values()):
        return None
    return {key: np.array([float(value) for value in values]) * fixed.lsb for key, values in raw.items()}


def _first_at_or_above(step: Step, level: int, low: int, high: int, channels: int, lsb: float) -> list[int]:
    """Per channel, the lowest raw value in [low, high] whose level is `level` or more (high + 1 where none is); raw
    values are Python integers (any width), the levels read their values (exact in float64 below 2^53 steps)."""
    below, above = [low - 1] * channels, [high + 1] * channels
    while any(up - down > 1 for down, up in zip(below, above)):
        middle = [(down + up) // 2 for down, up in zip(below, above)]
        reached = step.levels(np.array([middle], dtype=np.float64) * lsb)[0] >= level
        for channel, (down, up) in enumerate(zip(below, above)):
            if up - down > 1:
                if reached[channel]:
                    above[channel] = middle[channel]
                else:
                    below[channel] = middle[channel]
    return above


def _step_after(keras_layer, layers: dict):
    """The one QActivation reading `keras_layer` where it is a binary or ternary one, or None."""
    readers = [layer for layer in layers.values() if keras_layer.name in inputs_of(layer)]
    if len(readers) == 1 and is_quantizer_layer(readers[0]) and is_step_quantizer(activation_quantizer(readers[0])):
        return readers[0]
    return None


def _is_binary(quantizer) -> bool:
    return type(quantizer).__name__ == "binary"


def _applied(quantizer, values: np.ndarray) -> np.ndarray:
    return np.asarray(quantizer(values.astype(np.float32)), dtype=np.float64).reshape(values.shape)


def _after_normalization(layer, quantizer) -> Callable[[np.ndarray], np.ndarray]:
    """The levels of the quantizer on the normalization's float32 output, the layer called at its own rank (Keras
    computes a 4-D input with its fused kernel), each sample's channels at one position."""
    rank = len(layer.input_shape)

    def levels(values: np.ndarray) -> np.ndarray:
        shaped = values.astype(np.float32).reshape((len(values),) + (1,) * (rank - 2) + (values.shape[-1],))
        normalized = np.asarray(layer(shaped, training=False)).reshape(values.shape)
        return _applied(quantizer, normalized)

    return levels


def scale_and_bias(keras_layer) -> tuple[np.ndarray, np.ndarray] | None:
    """An alpha kernel's per-channel scale (QKeras's, from its quantizer on the kernel) and the quantized bias hls4ml
    moves after it, float32; None where a scale is not a power of two."""
    from codesign.quantizers import unquantized_weights

    quantizer = getattr(keras_layer, "kernel_quantizer_internal", None) or getattr(keras_layer, "depthwise_quantizer_internal", None)
    kernel, bias = unquantized_weights(keras_layer)
    if quantizer is None or kernel is None:
        return None
    quantizer(kernel)
    scale = np.asarray(getattr(quantizer, "scale", 1.0), dtype=np.float32).reshape(-1)
    if not np.all(scale > 0) or not np.all(np.log2(scale) % 1 == 0):
        return None
    channels = kernel.shape[-1]
    bias_quantizer = getattr(keras_layer, "bias_quantizer_internal", None)
    bias = np.zeros(channels, np.float32) if bias is None else np.asarray(bias_quantizer(bias) if bias_quantizer else bias, np.float32)
    return np.resize(scale, channels), bias.reshape(-1)
