"""The seed CIFAR-10 CNN through the Python API, as a user times it: Run.emulate, predict_qkeras, predict_float and
validate on the same 10,000 images, each called twice (the first call loads and traces), in one run (docs/emulation.md).

Run: .venv/bin/python benchmarks/seed_speed.py [RUN_DIR] [N]
Without RUN_DIR, builds models/cifar10_cnn.yaml untrained on synthetic data to its validate step in a temporary
directory first. Prints each call's seconds, emulation / float and emulation / QKeras on the second calls, and
whether the emulation equals QKeras on every output of every image.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


def timed(function, *args) -> tuple[object, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def measure(run_dir: Path, n: int) -> None:
    import numpy as np

    import codesign

    run = codesign.Run(run_dir)
    x = np.random.default_rng(0).random((n, *run._samples(np.zeros((1, 32, 32, 3), dtype=np.float32)).shape[1:]), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 10, n)
    seconds = {}
    for call in (1, 2):
        for name, function in (("float", run.predict_float), ("qkeras", run.predict_qkeras), ("emulate", run.emulate)):
            outputs, seconds[name, call] = timed(function, x)
            if name == "qkeras":
                qkeras = outputs
            if name == "emulate":
                emulated = outputs
            print(f"call {call}: run.{'predict_' + name if name != 'emulate' else 'emulate'}(x): {seconds[name, call]:.2f} s", flush=True)
    result, validate = timed(run.validate, x, y)
    print(f"run.validate(x, y): {validate:.2f} s (bit-exact: {result.bit_exact}; the C++ emulation checked the first 16 images; "
          f"exact reference on {result.exact_reference['samples'] if result.exact_reference else 0})")
    print(f"{n} images; second calls: emulation / float {seconds['float', 2] / seconds['emulate', 2]:.2f}x, emulation / QKeras "
          f"{seconds['qkeras', 2] / seconds['emulate', 2]:.2f}x; first calls: emulation / float {seconds['float', 1] / seconds['emulate', 1]:.2f}x")
    print(f"emulation = QKeras on every output of every image: {bool(np.array_equal(np.asarray(qkeras, dtype=np.float64).reshape(n, -1), emulated))}")


def main(run_dir: str | None, n: int) -> None:
    if run_dir:
        measure(Path(run_dir), n)
        return
    from codesign.commands import build_run, resolve_build_spec

    spec, name = resolve_build_spec(ROOT / "models" / "cifar10_cnn.yaml", None, Path("synthetic"), None, None, no_train=True)
    with tempfile.TemporaryDirectory() as scratch:
        build_run(spec, Path(scratch) / name, lambda _: None, to_step="validate")
        measure(Path(scratch) / name, n)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None, int(sys.argv[2]) if len(sys.argv) > 2 else 10000)
