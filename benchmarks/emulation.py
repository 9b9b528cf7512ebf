"""C++ emulation vs the vectorized emulator vs QKeras on the CPU, on the CIFAR-10 CNN, same inputs, one run.

Run: .venv/bin/python benchmarks/emulation.py [N_CPP] [N]
Builds models/cifar10_cnn.yaml untrained on synthetic data (up to the compile step) in a temporary directory,
then times each on the same images and checks that the two emulations are identical, bit for bit.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


def main(n_cpp: int, n: int) -> None:
    import numpy as np

    from codesign.build import build_run, resolve_build_spec
    from codesign.emulate import run_emulation
    from codesign.layout import RunLayout
    from codesign.model import load_keras_model
    from codesign.vectorized import VectorizedEmulator

    spec, _ = resolve_build_spec(ROOT / "models" / "cifar10_cnn.yaml", None, Path("synthetic"), None, None, no_train=True)
    with tempfile.TemporaryDirectory() as scratch:
        layout = RunLayout(Path(scratch) / "cifar")
        build_run(spec, layout.root, lambda _: None, to_step="compile")
        x = np.random.default_rng(0).random((n, 32, 32, 3), dtype=np.float32)
        model = load_keras_model(layout.qkeras_model)
        model.predict(x[:64], verbose=0)  # warm-up
        started = time.perf_counter()
        reference = model.predict(x, batch_size=256, verbose=0)
        qkeras_rate = n / (time.perf_counter() - started)
        emulator = VectorizedEmulator(layout.hls_dir)
        assert emulator.unsupported() is None, emulator.unsupported()
        emulator.predict(x[:16])  # warm-up
        ours, seconds = emulator.predict(x)
        vectorized_rate = n / seconds
        cpp = run_emulation(layout.library, layout.emulation_meta, x[:n_cpp], lambda _: None)
        cpp_rate = n_cpp / cpp.seconds
        identical = np.array_equal(cpp.outputs, ours[:n_cpp])
        agree_qkeras = int((reference.reshape(n, -1) == ours).all(axis=1).sum())
    print(f"CIFAR-10 CNN (2.1 M parameters, io_stream, Resource), {os.cpu_count()} cores")
    print(f"  hls4ml C++ emulation (1 process): {cpp_rate:10.1f} images/s  ({n_cpp} images)")
    print(f"  vectorized emulator:              {vectorized_rate:10.1f} images/s  ({n} images)")
    print(f"  QKeras predict on the CPU:        {qkeras_rate:10.1f} images/s  ({n} images)")
    print(f"  vectorized / C++: {vectorized_rate / cpp_rate:.0f}x; vectorized / QKeras: {vectorized_rate / qkeras_rate:.2f}x")
    print(f"  vectorized identical to C++ on all {n_cpp} common images: {identical}; equal to QKeras on {agree_qkeras}/{n}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50, int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
