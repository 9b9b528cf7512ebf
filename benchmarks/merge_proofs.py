"""The proof of hls4ml's merges, checked on models built for it: each element-wise merge in both io types and a
concatenation along every axis of 1D and 2D tensors, built to the validate step. Each must be proven, identical to QKeras
on 30,000 random inputs, with every traced value of the merge inside its element's bounds and those bounds, their
layout reversed, not (so they follow hls4ml's element order). Prints a Markdown table (docs/proof.md).

Run: .venv/bin/python benchmarks/merge_proofs.py [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MERGES = ("add", "subtract", "multiply", "average", "maximum", "minimum")
CONCATENATIONS = {1: (1, 2, -1), 2: (1, 2, 3, -1)}  # Keras axes (batch first) of a rank-1 and a rank-2 feature map
SHAPES = {1: (7, 3), 2: (6, 5, 2)}
SAMPLES = 30_000


def build_model(op: str, axis: int, rank: int):
    """An input quantizer, two 1x1 convolution branches of different ranges (unsigned 6-bit, signed 5-bit), the merge,
    a Dense over all of it: a wrong element order in the merge's bounds shows in the Dense's."""
    import tensorflow as tf
    from qkeras import QActivation, QConv1D, QConv2D, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    tf.keras.utils.set_random_seed(3)
    conv = QConv2D if rank == 2 else QConv1D
    weights = {"kernel_quantizer": quantized_bits(6, 0, alpha=1), "bias_quantizer": quantized_bits(6, 0, alpha=1)}
    inputs = keras.Input(SHAPES[rank], name="x")
    x = QActivation(quantized_bits(6, 2, alpha=1), name="xq")(inputs)
    first = QActivation(quantized_relu(6, 3), name="b1q")(conv(2, 1, name="b1", **weights)(x))
    second = QActivation(quantized_bits(5, 0, alpha=1), name="b2q")(conv(2, 1, name="b2", **weights)(x))
    merge = keras.layers.Concatenate(axis=axis, name="merge") if op == "concatenate" else getattr(keras.layers, op.title())(name="merge")
    outputs = QDense(3, name="out", **weights)(keras.layers.Flatten(name="flat")(merge([first, second])))
    return keras.Model(inputs, outputs)


def random_inputs(rng, shape: tuple, grid: float = 1 / 8) -> np.ndarray:
    """On the input quantizer's grid and range, far outside it, and at its ends."""
    third = SAMPLES // 3
    return np.concatenate([np.round(rng.uniform(-8, 8, (third, *shape)) / grid) * grid, rng.uniform(-1e4, 1e4, (third, *shape)),
                           rng.choice([-8.0, 7.875, -1e5, 1e5, 0.0625], (SAMPLES - 2 * third, *shape))]).astype(np.float32)


def check(op: str, axis: int, rank: int, io_type: str, out: Path) -> dict:
    import codesign
    from codesign.commands import build_run
    from codesign.config import spec_from_dict
    from codesign.emulate import run_emulation
    from codesign.fixed import Fixed
    from codesign.layout import RunLayout, read_json
    from codesign.model import load_keras_model
    from codesign.proof import Domain, _Analysis
    from codesign.vectorized import VectorizedEmulator

    name = f"{op}_{axis}_{rank}d_{io_type}" if op == "concatenate" else f"{op}_{rank}d_{io_type}"
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_model(op, axis, rank).save(folder / "model.h5")
    rng = np.random.default_rng(0)
    data = {f"x_{split}": np.round(rng.uniform(-4, 4, (count, *SHAPES[rank])) * 8) / 8 for split, count in (("train", 64), ("test", 200))}
    np.savez(folder / "data.npz", **data, y_train=rng.normal(size=(64, 3)), y_test=rng.normal(size=(200, 3)))
    spec = {"name": name, "model": {"file": str(folder / "model.h5")}, "dataset": {"name": "npz", "path": str(folder / "data.npz")},
            "hls": {"io_type": io_type}}
    build_run(spec_from_dict(spec), folder / "run", lambda _: None, to_step="validate")
    layout = RunLayout(folder / "run")
    proof = read_json(layout.report("validate"))["proof"]["status"]
    model = load_keras_model(layout.qkeras_model)
    analysis = _Analysis(VectorizedEmulator(layout.hls_dir), model)
    analysis.run(Domain.of([-8, 8], int(np.prod(SHAPES[rank])), Fixed(6, 3, True, "RND_CONV", "SAT"), True), None)
    x = random_inputs(rng, SHAPES[rank])
    run = codesign.Run(layout.root)
    identical = np.array_equal(run.emulate(x), np.asarray(run.predict_qkeras(x), dtype=np.float64))
    traced = run_emulation(layout.library, layout.emulation_meta, x[:2000], lambda _: None, trace=True).layers["merge"]
    bounds = analysis.bounds["merge"]
    low, high = bounds.low * 2.0**-bounds.frac, bounds.high * 2.0**-bounds.frac
    return {"model": name, "proof": proof, "identical": identical, "inside": bool(((traced >= low) & (traced <= high)).all()),
            "reversed inside": bool(((traced >= low[::-1]) & (traced <= high[::-1])).all())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="merge-proofs-"))
    cases = [(op, -1, 2, io) for op in MERGES for io in ("io_parallel", "io_stream")]
    cases += [("concatenate", axis, rank, io) for rank, axes in CONCATENATIONS.items() for axis in axes for io in ("io_parallel", "io_stream")]
    print(f"| model | proof | {SAMPLES:,} random inputs identical | traced merge inside its bounds | bounds reversed: inside |")
    print("|---|---|---|---|---|")
    started, good = time.perf_counter(), 0
    for index, case in enumerate(cases, 1):
        row = check(*case, out)
        good += row["proof"] == "proven" and row["identical"] and row["inside"] and not row["reversed inside"]
        print(f"| {row['model']} | {row['proof']} | {row['identical']} | {row['inside']} | {row['reversed inside']} |", flush=True)
        print(f"  ({index}/{len(cases)}, {time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    print(f"\n{good} of {len(cases)} proven, identical, inside their bounds and not inside them reversed "
          f"({time.perf_counter() - started:.0f} s; runs in {out})")


if __name__ == "__main__":
    main()
