"""HGQ's per-value bit widths, which its declared types only bound (docs/estimation.md, "HGQ designs").

An HGQ model's quantizers give each value its own width, 0 for a value they prune. hls4ml 1.x writes each such
quantizer as a function of one cast per value into firmware/nnet_utils/nnet_code_gen.h (`out[3] = ap_fixed<6,4,...>(inp[3]);`,
`out[4] = 0;`), and the proxy model it saves beside the firmware (keras_model.keras) holds them as the quantizer's
weights (keep_negative, bits, integers). A folder with either gives each quantizer's widths; one with neither leaves
them to the declared types.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

GENERATED_CODE = Path("firmware") / "nnet_utils" / "nnet_code_gen.h"
PROXY_MODEL = "keras_model.keras"
QUANTIZER_CLASS = "FixedPointQuantizer"
MASK_FUNCTION = re.compile(r"void\s+(\w+)\s*\(\s*input_t\s*\*\s*inp\s*,\s*output_t\s*\*\s*out\s*\)\s*\{(.*?)\n\}", flags=re.DOTALL)
VALUE_CAST = re.compile(r"out\[(\d+)\]\s*=\s*(?:ap_u?fixed<\s*(\d+)\s*,[^>]*>\s*\(\s*inp\[\d+\]\s*\)|0)\s*;")


def value_bits_of_code(text: str) -> dict[str, np.ndarray]:
    """Each quantizer function's per-value widths (0 where it writes 0), by function name."""
    found = {}
    for name, body in MASK_FUNCTION.findall(text):
        casts = VALUE_CAST.findall(body)
        if not casts:
            continue
        bits = np.zeros(max(int(index) for index, _ in casts) + 1, dtype=np.int64)
        for index, value_width in casts:
            bits[int(index)] = int(value_width) if value_width else 0
        found[name] = bits
    return found


def value_bits_of_proxy_model(path: Path) -> dict[str, np.ndarray]:
    """Each per-value (not fusible) quantizer's widths in a saved HGQ proxy model, by layer name; {} where the archive
    is not one codesign reads."""
    import h5py

    try:
        with zipfile.ZipFile(path) as archive:
            layers = json.loads(archive.read("config.json")).get("config", {}).get("layers", [])
            quantizers = [layer["config"] for layer in layers if str(layer.get("class_name", "")).endswith(QUANTIZER_CLASS)]
            if not quantizers:  # not a proxy model: its weights (any size) are not read
                return {}
            weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    except (OSError, KeyError, ValueError, AttributeError, zipfile.BadZipFile):
        return {}
    found = {}
    with weights:
        for index, layer in enumerate(quantizers):
            # Keras 3 keeps a layer's variables under its name; Keras 2.13-2.15 under its class's automatic name, in order
            group = weights.get(f"layers/{layer['name']}/vars") or weights.get(f"_layer_checkpoint_dependencies/fixed_point_quantizer{f'_{index}' if index else ''}/vars")
            if group is None or "1" not in group or layer.get("fusible", False):
                continue
            found[layer["name"]] = np.asarray(group["1"], dtype=np.int64)  # keep_negative, bits, integers: hls4ml's reading
    return found


def value_bits_in_folder(folder: Path) -> tuple[dict[str, np.ndarray], str | None]:
    """The per-value widths the folder states, by quantizer (function or layer) name, and the file they come from."""
    code = Path(folder) / GENERATED_CODE
    if code.is_file():
        found = value_bits_of_code(code.read_text(errors="replace"))
        if found:
            return found, str(GENERATED_CODE)
    archive = Path(folder) / PROXY_MODEL
    if archive.is_file():
        found = value_bits_of_proxy_model(archive)
        if found:
            return found, PROXY_MODEL
    return {}, None


def per_value(bits, shape) -> np.ndarray | None:
    """A quantizer's widths as one per value of a tensor of `shape` (its mask broadcast as HGQ broadcasts it), or None
    where they do not fit that tensor."""
    if bits is None:
        return None
    values = np.asarray(bits, dtype=np.int64)
    count = int(np.prod(shape)) if len(shape) else 1
    if values.size == count:
        return values.reshape(-1)
    try:
        return np.broadcast_to(values.reshape(values.shape[1:]) if values.ndim > len(shape) else values, tuple(shape)).reshape(-1)
    except ValueError:
        return None
