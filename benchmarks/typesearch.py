"""The first build of a 64x64x3 QKeras CNN with its own test set, and what the emulation library's -O level costs.

    .venv/bin/python benchmarks/typesearch.py

The model is shaped like the public QKeras CNNs users bring (no input quantizer, three Conv2D + max-pooling
blocks, a Dense layer and a float softmax head; seeded weights, 8-bit quantizers), its data 300 test images on a
2^-8 grid. Prints the seconds of `codesign build --model ... --data ... --to validate` per step, then the kept
candidate's project compiled again at -O3 (hls4ml's build_lib.sh), -O1 (codesign's) and -O0 side by side, each with
its compile seconds, g++ peak memory (GNU time, /usr/bin/time) and C++ emulation speed on 40 samples, and whether the three libraries agree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def make_model(folder: Path) -> tuple[Path, Path]:
    import numpy as np
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((64, 64, 3), name="image")
    x = inputs
    for index, filters in enumerate((8, 16, 16), start=1):
        x = QConv2D(filters, 3, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1), name=f"conv{index}")(x)
        x = QActivation(quantized_relu(8, 3), name=f"relu{index}")(x)
        x = tf.keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(32, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1), name="fc1")(x)
    x = QActivation(quantized_relu(8, 3), name="relu4")(x)
    x = QDense(4, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1), activation="softmax", name="out")(x)
    model = tf.keras.Model(inputs, x)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.3, weight.shape).astype(np.float32) for weight in model.get_weights()])
    model.save(folder / "cnn64.h5")

    def images(count: int):
        return (np.round(rng.uniform(0, 1, (count, 64, 64, 3)) * 256) / 256).astype(np.float32)

    np.savez(folder / "data.npz", x_train=images(64), y_train=rng.integers(0, 4, 64), x_test=images(300), y_test=rng.integers(0, 4, 300))
    return folder / "cnn64.h5", folder / "data.npz"


def compile_at(hls: Path, level: str, scratch: Path) -> tuple[Path, float, float]:
    """The project copied and compiled at `level`: its folder, compile seconds and g++ peak memory (MiB)."""
    copy = scratch / f"hls{level}"
    shutil.copytree(hls, copy)
    for library in (copy / "firmware").glob("*.so"):
        library.unlink()
    script = (copy / "build_lib.sh").read_text()
    (copy / "build_lib.sh").write_text(re.sub(r'CFLAGS="-O\d ', f'CFLAGS="{level} ', script))
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []  # Debian's `time` package
    started = time.perf_counter()
    done = subprocess.run([*timer, "bash", "build_lib.sh"], cwd=copy, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak = int(done.stderr.strip().splitlines()[-1]) / 1024 if timer else float("nan")  # maximum resident set, KiB
    return copy, seconds, peak


def main() -> None:
    import numpy as np

    from codesign.commands import build_run, resolve_build_spec
    from codesign.emulate import run_emulation
    from codesign.layout import RunLayout, read_json

    with tempfile.TemporaryDirectory(prefix="codesign-typesearch-") as folder:
        scratch = Path(folder)
        model, data = make_model(scratch)
        spec, name = resolve_build_spec(None, model, data, "cnn64", None)
        started = time.perf_counter()
        build_run(spec, scratch / name, lambda _: None, to_step="validate")
        total = time.perf_counter() - started
        layout = RunLayout(scratch / name)
        steps = read_json(layout.manifest)["steps"]
        print(f"first build of a 64x64x3 QKeras CNN, 300 test samples: {total:.1f} s "
              + "(" + ", ".join(f"{step} {entry['seconds']:.1f} s" for step, entry in steps.items()) + ")")
        validation = read_json(layout.report("validate"))
        kept = next(candidate for candidate in read_json(layout.report("convert"))["candidates"] if candidate["kept"])
        print(f"kept: {kept['candidate']}; bit-exact {validation['bit_exact']}; proof {validation['proof']['status']}")
        x = np.load(data)["x_test"][:40]
        outputs = {}
        for level in ("-O3", "-O1", "-O0"):
            copy, seconds, peak = compile_at(layout.hls_dir, level, scratch)
            library = next((copy / "firmware").glob("*.so"))
            emulation = run_emulation(library, copy / "codesign_emulation.json", x, lambda _: None)
            outputs[level] = emulation.outputs
            print(f"g++ {level}: compile {seconds:.1f} s, peak {peak:,.0f} MiB, emulation {len(x) / emulation.seconds:.1f} samples/s")
        same = all(np.array_equal(outputs["-O3"], other) for other in outputs.values())
        print(f"the three libraries' outputs on {len(x)} samples: {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
