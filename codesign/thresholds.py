"""The step QKeras computes where hls4ml merged a scale with a binary or ternary activation into one compare per
channel (BatchNormalizationQuantizedTanh), and the thresholds on the firmware's input grid that reproduce it: shared
by the repair that writes them (codesign/repairs.py) and the proof that checks them (codesign/proof.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from codesign.fixed import Fixed
from codesign.kernel_scales import folded_kernels
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


def step_of(keras_model, firmware_name: str, source_name: str, firmware_names) -> Step | None:
    """What QKeras computes at hls4ml's merged layer `firmware_name` on the values of the firmware layer `source_name`
    it reads (`firmware_names`: every layer of the firmware): the alpha scale and bias of that layer's kernel where
    hls4ml fused its ApplyAlpha into the compare, then a batch normalization ('bnbt_<normalization>', or one hls4ml
    fused into the ternary's threshold scale 'bnbt_<activation>_scale'), then the binary or ternary quantizer; None
    where it is none of these (or an alpha's scales are not powers of two: QKeras then rounds its kernel in float32)."""
    layers = {layer.name: layer for layer in keras_model.layers}
    name, source = firmware_name.removeprefix("bnbt_"), layers.get(keras_owner(source_name, layers) or "")
    owner = name if name in layers else keras_owner(name, layers)
    if owner is None:
        return None
    normalization = None
    if is_batch_normalization(layers[owner]) and name == owner:
        normalization, holder = layers[owner], _step_after(layers[owner], layers)
    elif name.endswith("_scale"):  # hls4ml's scale for a ternary's threshold, and a normalization it fused into it
        holder = layers[owner] if is_step_quantizer(activation_quantizer(layers[owner])) else None
        before = producer_past_identities(holder) if holder is not None and is_quantizer_layer(holder) else None
        normalization = before if before is not None and before is not source and is_batch_normalization(before) else None
    elif name.endswith("_alpha"):  # the alpha kernel's own ApplyAlpha merged with its activation
        holder = layers[owner] if is_step_quantizer(activation_quantizer(layers[owner])) else _step_after(layers[owner], layers)
    else:
        return None
    scaled = _fused_alpha(source) if fused_alpha_scale(keras_model, source, firmware_names) else (lambda values: values)
    if holder is None or scaled is None:
        return None
    quantizer = activation_quantizer(holder)

    def levels(values: np.ndarray) -> np.ndarray:
        values = scaled(values.astype(np.float32))
        return _applied(quantizer, values if normalization is None else _normalized(normalization, values))

    return Step(levels, type(quantizer).__name__ == "binary", holder.name)


def fused_alpha_scale(keras_model, source, firmware_names) -> bool:
    """Whether hls4ml fused the ApplyAlpha of `source` (QKerasFactorizeAlpha: a kernel or bias quantizer of alpha other
    than 1) into the compare reading it: no '<layer>_alpha' is in the firmware, and codesign did not fold that scale
    into the kernel the firmware holds (kernel_scales.with_folded_kernel_scales; the proof reads the user's model)."""
    return (source is not None and factorized(source) and f"{source.name}_alpha" not in set(firmware_names)
            and source.name not in folded_kernels(keras_model))


def _fused_alpha(source) -> Callable[[np.ndarray], np.ndarray] | None:
    """What QKeras adds to a layer's values before the step where its ApplyAlpha is fused into the compare
    (fused_alpha_scale): its kernel's alpha scale and the bias hls4ml moves after it, in float32; None where a scale is
    not a power of two."""
    scaled = scale_and_bias(source)
    if scaled is None:
        return None
    scale, bias = scaled
    return lambda values: (values * scale + bias).astype(np.float32)


def factorized(keras_layer) -> bool:
    """hls4ml moves this layer's alpha scale and bias into an ApplyAlpha (QKerasFactorizeAlpha.match: a QDense or
    QConv whose kernel or bias quantizer, as the model saves it, has an alpha other than 1)."""
    if getattr(keras_layer, "kernel_quantizer_internal", None) is None:  # a QDense or QConv (not a depthwise or separable one)
        return False
    config = keras_layer.get_config()
    alphas = [config[key].get("config", {}).get("alpha") for key in ("kernel_quantizer", "bias_quantizer") if isinstance(config.get(key), dict)]
    return any(alpha not in (None, 1, 1.0) for alpha in alphas)


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


def _applied(quantizer, values: np.ndarray) -> np.ndarray:
    return np.asarray(quantizer(values.astype(np.float32)), dtype=np.float64).reshape(values.shape)


def _normalized(layer, values: np.ndarray) -> np.ndarray:
    """The normalization's float32 output for (samples, channels) values, the layer called at its own rank (Keras
    computes a 4-D input with its fused kernel), each sample's channels at one position."""
    rank = len(layer.input_shape)
    shaped = values.astype(np.float32).reshape((len(values),) + (1,) * (rank - 2) + (values.shape[-1],))
    return np.asarray(layer(shaped, training=False)).reshape(values.shape)


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
