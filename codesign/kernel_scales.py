"""A separable or depthwise convolution's power-of-two kernel scales folded into its kernel before hls4ml converts it:
hls4ml 1.3 cannot convert a separable one whose kernel carries a scale and writes a depthwise one's float kernel, so
the firmware is converted from a copy whose quantizers are alpha=1 types that hold QKeras's quantized kernel exactly
(the same function, checked: tests/test_repairs.py); other scales stay refused (refusals.scaled_separable_kernels).
The same for a Dense or convolution followed by two quantizers, which hls4ml would merge into the node applying its
scale, dropping a cast (merged_into_a_scale; refusals.quantizer_merged_away refuses other scales)."""

from __future__ import annotations

import math

import numpy as np

KERNELS = (("depthwise_quantizer", "depthwise_kernel"), ("pointwise_quantizer", "pointwise_kernel"))  # in get_weights() order
KERNEL = ("kernel_quantizer", "kernel")  # a Dense's or convolution's, first in get_weights()


def foldable(keras_layer, attribute: str) -> bool:
    """Whether the layer's quantizer (e.g. 'depthwise_quantizer') scales its kernel by powers of two QKeras computes
    from the kernel once ('auto_po2'), so its quantized kernel is a fixed-point grid an alpha=1 quantizer holds."""
    quantizer = getattr(keras_layer, f"{attribute}_internal", None)
    return type(quantizer).__name__ == "quantized_bits" and getattr(quantizer, "alpha", None) == "auto_po2"


def merged_into_a_scale(keras_model) -> list[tuple]:
    """(quantizer layer, owner, how it is lost, the owner's alpha) for each linear quantizer whose cast hls4ml 1.3 loses in
    the ApplyAlpha it puts after a layer whose kernel carries a scale (alpha other than 1), typed 'auto': a QActivation
    of quantized_bits after another such quantizer of the owner (a QActivation, or the owner's own activation=), both
    merged into that ApplyAlpha (fuzz seeds 1353, 1360); or the owner's one such quantizer followed by a batch
    normalization, into which hls4ml then fuses the ApplyAlpha (fuse_consecutive_batch_normalization; fuzz seed 1441
    model 13: 100 of 100 samples off, no reason given), or by a binary or ternary activation, which hls4ml merges with
    the ApplyAlpha into one compare (fuzz seed 1464 model 13: 95 of 100 samples off, no reason given)."""
    from codesign.layers import is_batch_normalization, is_quantizer_layer, producer_past_identities
    from codesign.quantizers import activation_quantizer, is_linear_quantizer, is_quantized_bits, is_step_quantizer

    found = []
    for layer in keras_model.layers:
        first = producer_past_identities(layer)
        if first is None:
            continue
        step = is_quantizer_layer(layer) and is_step_quantizer(activation_quantizer(layer))
        joined = f"merges into the compare '{layer.name}'" if step else f"fuses into the normalization '{layer.name}'"
        if is_linear_quantizer(layer) and is_linear_quantizer(first):  # a QActivation after another
            owner = producer_past_identities(first)
            lost = (layer, owner, f"it follows another, '{first.name}', after '{owner.name}'" if owner is not None else "", "merges both into that scale's layer")
        elif is_linear_quantizer(layer) and is_quantized_bits(activation_quantizer(first)):  # after the layer's own activation=
            lost = (layer, first, f"it follows the activation quantizer of '{first.name}'", "merges both into that scale's layer")
        elif (is_batch_normalization(layer) or step) and is_linear_quantizer(first):  # a normalization or a step after the owner's QActivation
            owner = producer_past_identities(first)
            lost = (first, owner, f"it follows '{owner.name}'" if owner is not None else "", f"merges it into that scale's layer, which it {joined} after")
        elif (is_batch_normalization(layer) or step) and is_quantized_bits(activation_quantizer(first)):  # after the owner's own activation=
            lost = (first, first, f"it is the activation quantizer of '{first.name}'", f"merges it into that scale's layer, which it {joined} after")
        else:
            continue
        quantizer_layer, owner, how, merge = lost
        alpha = kernel_scale(owner, "kernel_quantizer_internal") if owner is not None else None
        if alpha is not None:
            found.append((quantizer_layer, owner, f"{how}, whose kernel carries a scale (alpha={alpha!r}), and hls4ml {merge}", alpha))
    return found


def scaled_before_a_normalization(keras_model) -> list:
    """Each layer whose kernel carries a scale and whose output a batch normalization reads (past the identities): hls4ml
    fuses the ApplyAlpha it puts after the layer into the normalization, in floating point (fuzz seed 1319 model 12's
    class: off by 0.05, reasoned by the fusion)."""
    from codesign.layers import is_batch_normalization, producer_past_identities

    owners = [producer_past_identities(layer) for layer in keras_model.layers if is_batch_normalization(layer)]
    return [owner for owner in owners if owner is not None and kernel_scale(owner, "kernel_quantizer_internal") is not None]


def kernel_scale(keras_layer, attribute: str):
    """The alpha of a layer's kernel quantizer as hls4ml reads it (QKeras set it when the layer was built), where it is
    a scale (not 1); None otherwise."""
    alpha = getattr(getattr(keras_layer, attribute, None), "alpha", None)
    return None if alpha is None or (isinstance(alpha, (int, float)) and alpha == 1) else alpha


def folded_kernels(keras_model) -> dict[str, list[tuple[int, str, str]]]:
    """Per layer whose kernel scale with_folded_kernel_scales folds: (weight index, quantizer attribute, kernel) of each
    such kernel."""
    folds = {layer.name: [(index, attribute, kernel) for index, (attribute, kernel) in enumerate(KERNELS) if foldable(layer, attribute)]
             for layer in keras_model.layers if any(part in type(layer).__name__ for part in ("Separable", "Depthwise"))}
    owners = [owner for _, owner, _, _ in merged_into_a_scale(keras_model)] + scaled_before_a_normalization(keras_model)
    folds.update({owner.name: [(0, *KERNEL)] for owner in owners if foldable(owner, KERNEL[0])})
    return {name: found for name, found in folds.items() if found}


def with_folded_kernel_scales(keras_model):
    """The model itself where no separable or depthwise kernel, nor a kernel hls4ml would merge quantizers or fuse a
    batch normalization into the scale of, has a foldable scale; else a copy whose such kernels hold QKeras's quantized values under quantized_bits(bits,
    integer, alpha=1) of just the bits they need."""
    from codesign.model import custom_objects

    folds = folded_kernels(keras_model)
    if not folds:
        return keras_model
    config = keras_model.get_config()
    weights = {layer.name: layer.get_weights() for layer in keras_model.layers}
    for entry in config["layers"]:
        name = entry["config"]["name"]
        for index, attribute, kernel in folds.get(name, ()):
            layer = keras_model.get_layer(name)
            values = np.asarray(getattr(layer, f"{attribute}_internal")(getattr(layer, kernel)), dtype=np.float64)
            entry["config"][attribute] = _holding(values)
            weights[name][index] = values.astype(np.float32)
    copy = type(keras_model).from_config(config, custom_objects=custom_objects())
    for layer in copy.layers:
        layer.set_weights(weights[layer.name])
    return copy


def _holding(values: np.ndarray) -> dict:
    """The serialized quantized_bits(bits, integer, alpha=1) whose grid and range hold every value exactly (2 bits at
    least: a kernel of zeros keeps a sign bit and a value bit)."""
    magnitudes = np.abs(values[values != 0])
    fraction = 0
    while magnitudes.size and not np.all(np.floor(magnitudes * 2.0**fraction) == magnitudes * 2.0**fraction):
        fraction += 1
    integer = max(0, math.ceil(math.log2(float(magnitudes.max()) + 2.0**-fraction))) if magnitudes.size else 0
    return {"class_name": "quantized_bits", "config": {"bits": max(2, 1 + integer + fraction), "integer": integer, "keep_negative": True, "alpha": 1}}
