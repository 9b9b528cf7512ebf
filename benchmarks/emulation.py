"""The exact emulators against a warmed QKeras on the CPU: CIFAR-10, SVHN and digits CNNs, same images, one run.

Run: .venv/bin/python benchmarks/emulation.py [N_CPP] [N]
Builds models/cifar10_cnn.yaml and models/svhn_cnn.yaml untrained on synthetic data and models/digits_cnn.yaml
untrained on the digits (up to the compile step) in a temporary directory. On the same N images (default 1024) it
times the float model and QKeras as warmed tf.functions at batch 256 (and QKeras's Keras predict, for reference), the vectorized emulator
(warmed) and its numpy arithmetic alone, each the median of 3 repeats, and hls4ml's C++ emulation (one process) on
N_CPP of them (default 50); then checks that the emulators are identical to each other and to QKeras.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
MODELS = (("CIFAR-10", "cifar10_cnn.yaml", "synthetic"), ("SVHN", "svhn_cnn.yaml", "synthetic"), ("digits", "digits_cnn.yaml", None))
REPEATS = 3
BATCH = 256


def rate(images: int, function) -> float:
    """Images per second: the median of REPEATS timed calls."""
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return images / statistics.median(seconds)


def measure(spec_file: str, data: str | None, n_cpp: int, n: int, scratch: Path) -> dict:
    import numpy as np
    import tensorflow as tf

    from codesign.commands import build_run, resolve_build_spec
    from codesign.emulate import run_emulation
    from codesign.layout import RunLayout
    from codesign.model import load_keras_model
    from codesign.vectorized import GRAPH_MIN_SAMPLES, VectorizedEmulator

    spec, name = resolve_build_spec(ROOT / "models" / spec_file, None, Path(data) if data else None, None, None, no_train=True)
    layout = RunLayout(scratch / name)
    build_run(spec, layout.root, lambda _: None, to_step="compile")
    shape = _input_shape(layout)
    x = np.random.default_rng(0).random((n, *shape), dtype=np.float32)
    model = load_keras_model(layout.qkeras_model)
    graph = tf.function(lambda batch: model(batch, training=False))
    batches = [tf.constant(x[start : start + BATCH]) for start in range(0, n, BATCH)]

    def qkeras():
        return np.concatenate([graph(batch).numpy() for batch in batches])

    reference = qkeras()  # warm-up: traces every batch shape once
    model.predict(x[:BATCH], batch_size=BATCH, verbose=0)
    float_model = load_keras_model(layout.float_model)
    float_graph = tf.function(lambda batch: float_model(batch, training=False))

    def float_run():
        return np.concatenate([float_graph(batch).numpy() for batch in batches])

    float_run()  # warm-up
    emulator = VectorizedEmulator(layout.hls_dir)
    assert emulator.unsupported() is None, emulator.unsupported()
    ours = emulator.predict(x)[0]  # warm-up: builds the graph function
    cpp = run_emulation(layout.library, layout.emulation_meta, x[:n_cpp], lambda _: None)
    return {
        "float": rate(n, float_run),
        "qkeras": rate(n, qkeras),
        "predict": rate(n, lambda: model.predict(x, batch_size=BATCH, verbose=0)),
        "vectorized": rate(n, lambda: emulator.predict(x)),
        "numpy": rate(n, lambda: emulator.predict_numpy(x)),
        "cpp": n_cpp / cpp.seconds,
        "path": "TensorFlow graph" if n >= GRAPH_MIN_SAMPLES and emulator._compiled().unsupported() is None else "numpy",
        "identical_cpp": bool(np.array_equal(cpp.outputs, ours[:n_cpp])),
        "identical_numpy": bool(np.array_equal(emulator.predict_numpy(x), ours)),
        "equal_qkeras": int((reference.reshape(n, -1).astype(np.float64) == ours).all(axis=1).sum()),
    }


def _input_shape(layout) -> tuple[int, ...]:
    from codesign.layout import read_json

    return tuple(read_json(layout.emulation_meta)["input_shapes"][0])


def main(n_cpp: int, n: int) -> None:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    print(f"{os.cpu_count()} cores, {n} images per model (C++: {n_cpp}), medians of {REPEATS} runs, QKeras batch {BATCH}")
    with tempfile.TemporaryDirectory() as scratch:
        for title, spec_file, data in MODELS:
            found = measure(spec_file, data, n_cpp, n, Path(scratch))
            print(f"{title} ({spec_file}; vectorized path: {found['path']})")
            print(f"  float tf.function (warmed):    {found['float']:10.1f} images/s")
            print(f"  QKeras tf.function (warmed):   {found['qkeras']:10.1f} images/s")
            print(f"  QKeras predict:                {found['predict']:10.1f} images/s")
            print(f"  vectorized emulator:           {found['vectorized']:10.1f} images/s")
            print(f"  its numpy arithmetic alone:    {found['numpy']:10.1f} images/s")
            print(f"  hls4ml C++ emulation (1 proc): {found['cpp']:10.1f} images/s")
            print(f"  identical: vectorized = C++ on {n_cpp}: {found['identical_cpp']}; = numpy on {n}: "
                  f"{found['identical_numpy']}; = QKeras on {found['equal_qkeras']}/{n}")
            if title == "CIFAR-10":
                cifar = found
    print(f"vectorized / C++: {cifar['vectorized'] / cifar['cpp']:.0f}x")
    print(f"vectorized / QKeras: {cifar['vectorized'] / cifar['qkeras']:.2f}x")
    print(f"vectorized / float: {cifar['vectorized'] / cifar['float']:.2f}x")
    identical = cifar["identical_cpp"] and cifar["identical_numpy"] and cifar["equal_qkeras"] == n
    print(f"outputs identical (CIFAR-10: C++, numpy and QKeras): {identical}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50, int(sys.argv[2]) if len(sys.argv) > 2 else 1024)
