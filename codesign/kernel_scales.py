"""A separable or depthwise convolution's power-of-two kernel scales folded into its kernel before hls4ml converts it:
hls4ml 1.3 cannot convert a separable one whose kernel carries a scale and writes a depthwise one's float kernel, so
the firmware is converted from a copy whose quantizers are alpha=1 types that hold QKeras's quantized kernel exactly
(the same function, checked: tests/test_repairs.py); other scales stay refused (refusals.scaled_separable_kernels)."""

from __future__ import annotations

import math

import numpy as np

KERNELS = (("depthwise_quantizer", "depthwise_kernel"), ("pointwise_quantizer", "pointwise_kernel"))  # in get_weights() order


def foldable(keras_layer, attribute: str) -> bool:
    """Whether the layer's quantizer (e.g. 'depthwise_quantizer') scales its kernel by powers of two QKeras computes
    from the kernel once ('auto_po2'), so its quantized kernel is a fixed-point grid an alpha=1 quantizer holds."""
    quantizer = getattr(keras_layer, f"{attribute}_internal", None)
    return type(quantizer).__name__ == "quantized_bits" and getattr(quantizer, "alpha", None) == "auto_po2"


def with_folded_kernel_scales(keras_model):
    """The model itself where no separable or depthwise kernel has a foldable scale, else a copy whose such kernels
    hold QKeras's quantized values under quantized_bits(bits, integer, alpha=1) of just the bits they need."""
    from codesign.model import custom_objects

    folds = {layer.name: [(index, attribute, kernel) for index, (attribute, kernel) in enumerate(KERNELS) if foldable(layer, attribute)]
             for layer in keras_model.layers if any(part in type(layer).__name__ for part in ("Separable", "Depthwise"))}
    folds = {name: found for name, found in folds.items() if found}
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
