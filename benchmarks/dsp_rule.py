"""The evidence for the DSP binding rule: per-layer vendor DSP counts of the real-weight projects against candidate rules.

Run: .venv/bin/python benchmarks/dsp_rule.py [--calibration DIR]
For every Dense/Conv layer of the projects in shared/calibration/projects built at reuse factor 1 with DSPs allowed,
the vendor's per-instance DSP count (the C-synthesis report's instance table, matched by hls4ml's config number)
beside what each candidate rule counts on the layer's real weights. Prints a Markdown table for docs/estimation.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def candidate_counts(layer) -> dict:
    """What each rule would bind to DSPs in this layer (16-bit-and-wider data, one DSP per multiplication)."""
    from codesign.estimate.features import constant_bits, csd_digits, quantized_weights

    weight = layer.weights["weight"]
    quantized = quantized_weights(np.asarray(weight.data, dtype=np.float64), weight.type.precision)
    outputs = int(layer.get_attr("n_filt" if "Conv" in layer.class_name else "n_out", 0) or quantized.shape[-1])
    matrix = quantized.reshape(-1, outputs) if quantized.shape[-1] == outputs else quantized.reshape(outputs, -1).T
    digits = csd_digits(matrix)
    significant = np.vectorize(constant_bits)(matrix)

    def distinct(mask):
        return sum(len(set(row[chosen].tolist())) for row, chosen in zip(matrix, mask))

    return {
        "nonzero, not a power of two": int(((matrix != 0) & (significant > 1)).sum()),
        "significant bits > 8 (previous rule)": int((significant > 8).sum()),
        "CSD digits >= 3": int((digits >= 3).sum()),
        "distinct (input, constant), CSD digits >= 3 (the rule)": distinct(digits >= 3),
        "distinct, CSD digits >= 4": distinct(digits >= 4),
    }


def main() -> None:
    from codesign.estimate.calibration import project_rows
    from codesign.estimate.vendor import vendor_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=ROOT.parent / "shared" / "calibration")
    args = parser.parse_args()
    header = None
    totals: dict[str, list[int]] = {}
    for row in project_rows(args.calibration):
        if row.reuse_factor != 1 or row.multipliers == "fabric":
            continue
        instances = vendor_results(args.calibration / "projects" / row.id)["csynth"]["instances"]
        by_config = {int(match.group(1)): item for item in instances if (match := re.search(r"config(\d+)", item["module"]))}
        for layer in row.convert().get_layers():
            vendor = by_config.get(layer.index)
            if layer.class_name not in ("Dense", "Conv1D", "Conv2D") or not vendor or not vendor["module"].startswith(("dense", "conv")):
                continue
            counts = candidate_counts(layer)
            if header is None:
                header = list(counts)
                print("| project | layer | vendor DSP | " + " | ".join(header) + " |")
                print("|---|---|---|" + "---|" * len(header))
            print(f"| {row.group.split('__')[-1]} {row.id[-10:]} | {layer.name} | {vendor['dsp']} | " + " | ".join(str(counts[key]) for key in header) + " |")
            for key in ["vendor", *header]:
                totals.setdefault(key, []).append(vendor["dsp"] if key == "vendor" else counts[key])
    vendor = np.array(totals.pop("vendor"))
    print("\n| rule | layers within 10% of the vendor count | total / vendor total |\n|---|---|---|")
    for key, counts in totals.items():
        counts = np.array(counts)
        close = int((np.abs(counts - vendor) <= np.maximum(1, 0.1 * vendor)).sum())
        print(f"| {key} | {close}/{len(vendor)} | {counts.sum():,} / {vendor.sum():,} |")


if __name__ == "__main__":
    main()
