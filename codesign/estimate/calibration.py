"""The published hls4ml designs of shared/calibration, rebuilt with weights of the same shape, sparsity and
quantization, so the estimator's error can be measured on each (docs/estimation.md)."""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

@dataclass(frozen=True)
class Design:
    """One calibration row's architecture and hls4ml settings."""

    row_id: str
    build: Callable[[np.random.Generator], object]
    backend: str
    io_type: str
    strategy: str
    reuse_factor: int
    part: str
    clock_ns: float = 5.0
    precision: str = "fixed<16,6>"


TRAINED_SCALE = 3.0  # trained weights sit well above their initial scale; see docs/estimation.md


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    """Stand-in for trained weights (not public): Glorot-normal widened by TRAINED_SCALE."""
    return rng.normal(0.0, TRAINED_SCALE * np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def _prune(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """Magnitude pruning: the smallest `sparsity` fraction of the weights set to zero."""
    if sparsity <= 0:
        return weights
    threshold = np.quantile(np.abs(weights), sparsity)
    return np.where(np.abs(weights) > threshold, weights, 0.0)


def jet_mlp(sparsity: float) -> Callable:
    """Dense 16-64-32-32-5 with relu and softmax (the hls4ml tutorial jet tagger)."""

    def build(rng):
        from tensorflow import keras

        inputs = keras.Input((16,), name="inputs")
        x = inputs
        sizes = [16, 64, 32, 32, 5]
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            dense = keras.layers.Dense(n_out, name=f"fc{index}")
            x = dense(x)
            dense.set_weights([_prune(_glorot(rng, (n_in, n_out), n_in, n_out), sparsity), rng.normal(0, 0.1, n_out)])
            x = keras.layers.Activation("relu" if n_out != 5 else "softmax", name=f"act{index}")(x)
        return keras.Model(inputs, x)

    return build


def svhn_cnn(rng):
    """The hls4ml paper/tutorial SVHN CNN, 50% of the weights zero; batchnorm folded into the weights before
    (as in the published design, whose report has no batchnorm instance), so it is left out here."""
    from tensorflow import keras

    inputs = keras.Input((32, 32, 3), name="inputs")
    x = inputs
    channels = 3
    for index, filters in enumerate((16, 16, 24), start=1):
        conv = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"conv{index}")
        x = conv(x)
        conv.set_weights([_prune(_glorot(rng, (3, 3, channels, filters), 9 * channels, 9 * filters), 0.5)])
        x = keras.layers.Activation("relu", name=f"relu{index}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
        channels = filters
    x = keras.layers.Flatten(name="flatten")(x)
    n_in = 2 * 2 * 24
    for index, units in enumerate((42, 64), start=1):
        dense = keras.layers.Dense(units, use_bias=False, name=f"dense{index}")
        x = dense(x)
        dense.set_weights([_prune(_glorot(rng, (n_in, units), n_in, units), 0.5)])
        x = keras.layers.Activation("relu", name=f"relu_dense{index}")(x)
        n_in = units
    output = keras.layers.Dense(10, name="output")
    x = output(x)
    output.set_weights([_prune(_glorot(rng, (n_in, 10), n_in, 10), 0.5), np.zeros(10)])
    x = keras.layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, x)


def ci_conv2d(rng):
    """hls4ml's CI baseline: Conv2D 28x28x3 -> 32 filters 4x4 stride 4 'same', no bias, N(0, 1) weights."""
    from tensorflow import keras

    inputs = keras.Input((28, 28, 3), name="inputs")
    conv = keras.layers.Conv2D(32, 4, strides=4, padding="same", use_bias=False, name="conv")
    outputs = conv(inputs)
    conv.set_weights([rng.normal(0.0, 1.0, (4, 4, 3, 32))])
    return keras.Model(inputs, outputs)


DESIGNS = {
    design.row_id: design
    for design in (
        Design("tut_p1_vitis2024", jet_mlp(0.0), "Vitis", "io_parallel", "Latency", 1, "xcu250-figd2104-2L-e"),
        Design("tut_p3_pruned75_vitis2024", jet_mlp(0.75), "Vitis", "io_parallel", "Latency", 1, "xcu250-figd2104-2L-e"),
        Design("tut_p6_cnn_pruned_vhls2020", svhn_cnn, "Vivado", "io_stream", "Latency", 1, "xcu250-figd2104-2L-e"),
        Design("hls4ml_ci_conv2d_vitis2024", ci_conv2d, "Vitis", "io_parallel", "Resource", 1, "xcvu13p-flga2577-2-e"),
    )
}


def convert_design(design: Design, seed: int = 0):
    """The hls4ml graph of a rebuilt design (converted, not written or compiled)."""
    import hls4ml

    model = design.build(np.random.default_rng(seed))
    config = hls4ml.utils.config_from_keras_model(
        model, granularity="model", backend=design.backend, default_precision=design.precision
    )
    config["Model"]["Strategy"] = design.strategy
    config["Model"]["ReuseFactor"] = design.reuse_factor
    with tempfile.TemporaryDirectory() as scratch:
        return hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=scratch,
            backend=design.backend,
            io_type=design.io_type,
            part=design.part,
            clock_period=design.clock_ns,
        )


def published_rows(csv_path: Path) -> list[dict]:
    """The calibration CSV as dicts, numbers as ints."""
    with open(csv_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    for row in rows:
        for key in ("latency_cycles", "ii", "dsp", "lut", "ff", "bram18k"):
            row[key] = int(row[key])
    return rows


def compare(csv_path: Path, seed: int = 0) -> list[dict]:
    """Estimate every calibration row and put it beside the published figures, with the ratio per metric."""
    from codesign.estimate.model import estimate_design
    from codesign.estimate.parts import find_part
    from codesign.estimate.run import METRICS

    table = []
    for row in published_rows(csv_path):
        design = DESIGNS[row["id"]]
        graph = convert_design(design, seed)
        estimate = estimate_design(graph, find_part(design.part), design.clock_ns, design.io_type, design.backend)
        metrics = {}
        for metric in METRICS:
            published = row["bram18k" if metric == "bram_18k" else metric]
            value = estimate["total"][metric]
            metrics[metric] = {"estimate": value, "published": published, "ratio": round(value / published, 3) if published else None}
        table.append({"id": row["id"], "metrics": metrics, "layers": estimate["layers"]})
    return table
