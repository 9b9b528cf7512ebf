"""Estimator error on every calibration row, and its speed on the 32x32x3 conv32/conv64/fc512/fc10 CNN.

Run: .venv/bin/python benchmarks/estimator.py [path/to/shared/calibration]
Prints a Markdown table (estimate / published per metric) for docs/estimation.md, then timings.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CALIBRATION = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "calibration"


def calibration_table() -> None:
    from codesign.estimate.calibration import compare
    from codesign.estimate.run import METRICS

    with contextlib.redirect_stdout(io.StringIO()):
        table = compare(CALIBRATION / "published_synthesis.csv")
    print("| row | " + " | ".join(METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for row in table:
        cells = []
        for metric in METRICS:
            value = row["metrics"][metric]
            ratio = f"{value['ratio']:.2f}" if value["ratio"] is not None else "-"
            cells.append(f"{value['estimate']:,} / {value['published']:,} ({ratio})")
        print(f"| {row['id']} | " + " | ".join(cells) + " |")


def cifar_cnn_timing() -> None:
    import numpy as np
    from tensorflow import keras

    from codesign.config import HLSSpec
    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import estimate_design
    from codesign.estimate.parts import find_part

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dense(512, activation="relu")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    hls = HLSSpec(io_type="io_stream", strategy="Resource", reuse_factor=64, precision="ap_fixed<16,6>")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        graph = build_graph(model, hls, Path("/tmp/codesign-bench-estimate"), None, Path(os.devnull), policy_candidate(hls.precision))
    converted = time.perf_counter()
    report = estimate_design(graph, find_part(hls.part), hls.clock_ns, hls.io_type, hls.backend)
    done = time.perf_counter()
    params = model.count_params()
    print(f"\nCIFAR-10 CNN ({params:,} parameters, io_stream, Resource, RF 64):")
    print(f"  hls4ml conversion {converted - started:.2f} s, estimate {done - converted:.2f} s")
    print(f"  total: DSP {report['total']['dsp']:,}, LUT {report['total']['lut']:,}, latency {report['total']['latency_cycles']:,} cycles")
    np.random.default_rng(0)


if __name__ == "__main__":
    calibration_table()
    cifar_cnn_timing()
