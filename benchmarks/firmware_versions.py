"""Plain Keras models written by an older hls4ml, estimated with their config and from their firmware alone (docs/estimation.md).

    .venv/bin/python benchmarks/firmware_versions.py --hls4ml-from DIR [--io-types io_parallel io_stream] [--models NAME ...]

DIR holds the hls4ml that writes the projects, e.g. `.venv/bin/pip install --target /tmp/hls4ml-0.4.0 --no-deps
hls4ml==0.4.0` (0.5 to 0.8 also `calmjs.parse ply tabulate`). The fuzzer's QKeras models are beyond hls4ml 0.4 and
0.5 (benchmarks/estimate_paths.py writes none of them there): these are the plain layers older projects have (Dense;
Conv1D and Conv2D with padding, strides, max, average and global pooling; batch normalization; LeakyReLU, ELU, tanh,
sigmoid, softmax; an Add; zero padding; an upsampling; a reshape and a permute; an LSTM and a GRU). Each is written by that hls4ml (Vivado backend, Latency and
Resource at reuse factor 4, each io type given; hls4ml 0.4 has io_parallel only), estimated as `codesign estimate`
does with its config where that hls4ml wrote one, then from its firmware alone; and the model rebuilt from the
firmware is compared with the written one, kernel by kernel. Prints one row per model, then the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from writer_child import add_write_one, written_by, wrote_one  # noqa: E402
METRICS = ("dsp", "lut", "ff", "bram_18k", "latency_cycles")
PLAIN_MODELS = ("mlp", "mlp_bn", "mlp_activations", "cnn2d", "cnn2d_bn_average", "cnn2d_global", "cnn1d", "cnn1d_global", "zero_padding",
                "add", "upsampling", "permute", "lstm", "gru")
FRACTION_BITS = 10  # the written types, ap_fixed<16,6>: a rebuilt weight is the written one to this


def plain_model(name: str):
    """The Keras model `name`, its weights drawn (seeded; a batch normalization's variance positive)."""
    import numpy as np
    from tensorflow import keras

    layers = keras.layers
    stacks = {
        "mlp": ((12,), [layers.Dense(16), layers.Activation("relu"), layers.Dense(5), layers.Activation("softmax")]),
        "mlp_bn": ((10,), [layers.Dense(12), layers.BatchNormalization(), layers.Activation("relu"), layers.Dense(3), layers.Activation("sigmoid")]),
        "mlp_activations": ((10,), [layers.Dense(16), layers.LeakyReLU(0.1), layers.Dense(12), layers.Activation("elu"), layers.Dense(8),
                                    layers.Activation("tanh"), layers.Dense(4), layers.Activation("sigmoid")]),
        "cnn2d": ((10, 10, 2), [layers.Conv2D(4, 3, padding="same"), layers.Activation("relu"), layers.MaxPooling2D(2), layers.Conv2D(6, 3, strides=2),
                                layers.Activation("relu"), layers.Flatten(), layers.Dense(4), layers.Activation("softmax")]),
        "cnn2d_bn_average": ((8, 8, 3), [layers.Conv2D(4, 3), layers.BatchNormalization(), layers.Activation("relu"), layers.AveragePooling2D(2),
                                         layers.Flatten(), layers.Dense(3)]),
        "cnn2d_global": ((8, 8, 2), [layers.Conv2D(6, 3), layers.Activation("relu"), layers.GlobalMaxPooling2D(), layers.Dense(3)]),
        "cnn1d": ((20, 3), [layers.Conv1D(4, 5, padding="same"), layers.Activation("relu"), layers.MaxPooling1D(2), layers.Conv1D(5, 3, strides=2),
                            layers.Activation("relu"), layers.Flatten(), layers.Dense(3), layers.Activation("tanh")]),
        "cnn1d_global": ((16, 2), [layers.Conv1D(6, 3), layers.Activation("relu"), layers.GlobalAveragePooling1D(), layers.Dense(3)]),
        "zero_padding": ((6, 6, 2), [layers.ZeroPadding2D(1), layers.Conv2D(3, 3), layers.Activation("relu"), layers.Flatten(), layers.Dense(3)]),
        "lstm": ((6, 3), [layers.LSTM(5, return_sequences=True), layers.Flatten(), layers.Dense(3)]),
        "gru": ((6, 3), [layers.GRU(5), layers.Dense(3)]),
        "permute": ((12,), [layers.Dense(12), layers.Reshape((3, 4)), layers.Permute((2, 1)), layers.Conv1D(2, 2), layers.Flatten(), layers.Dense(3)]),
        "upsampling": ((4, 4, 2), [layers.Conv2D(3, 3, padding="same"), layers.UpSampling2D(2), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)]),
    }
    if name == "add":
        inputs = keras.Input((8,))
        summed = layers.Add()([layers.Dense(8)(inputs), layers.Dense(8)(inputs)])
        model = keras.Model(inputs, layers.Dense(3)(layers.Activation("relu")(summed)))
    else:
        shape, stack = stacks[name]
        model = keras.Sequential([keras.Input(shape), *stack])
    rng = np.random.default_rng(0)
    model.set_weights([np.abs(rng.normal(1, 0.2, values.shape)) + 0.1 if "variance" in weight.name else rng.normal(0, 0.4, values.shape)
                       for weight, values in zip(model.weights, model.get_weights())])
    return model


def write(name: str, folder: Path, io_type: str, strategy: str) -> None:
    """The model's project as this process's hls4ml writes it (each version's own arguments), the model beside it."""
    import hls4ml

    model = plain_model(name)
    try:
        config = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vivado")
    except TypeError:  # before 0.7: no backend argument
        config = hls4ml.utils.config_from_keras_model(model, granularity="model")
    config["Model"].update(Strategy=strategy, ReuseFactor=4 if strategy == "Resource" else 1)
    settings = {"hls_config": config, "output_dir": str(folder), "clock_period": 5, "io_type": io_type}
    try:
        graph = hls4ml.converters.convert_from_keras_model(model, part="xcvu9p-flga2104-2L-e", backend="Vivado", **settings)
    except TypeError:  # before 0.6: the part as fpga_part, no backend; before 0.5 no io_type either
        if io_type == "io_parallel":
            settings.pop("io_type")
        graph = hls4ml.converters.convert_from_keras_model(model, fpga_part="xcvu9p-flga2104-2L-e", **settings)
    graph.write()
    if not any((folder / saved).exists() for saved in ("keras_model.h5", "keras_model.keras")):
        model.save(folder / "keras_model.h5")


def compared(name: str, folder: Path) -> tuple[str, str]:
    """(the two estimates: 'same', or both; a refusal named), (the rebuilt kernels: 'weights as written', or how not)."""
    import numpy as np

    from codesign.estimate.firmware import keras_model_of, read_firmware
    from codesign.estimate.project import estimate_project

    def totals(path: Path):
        try:
            return {metric: estimate_project(path)["total"][metric] for metric in METRICS}
        except Exception as error:  # a refusal (ModelError) or an internal error: what this benchmark counts
            return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"

    with_config = totals(folder) if (folder / "hls4ml_config.yml").is_file() else None
    for saved in ("hls4ml_config.yml", "keras_model.h5", "keras_model.keras"):
        (folder / saved).unlink(missing_ok=True)
    alone = totals(folder)
    if isinstance(alone, str):
        return f"firmware refused: {alone}", ""
    estimates = "firmware only (no config written)" if with_config is None else "same" if with_config == alone else f"config {with_config}, firmware {alone}"
    model = plain_model(name)
    written = [values for layer in model.layers if "BatchNormalization" not in type(layer).__name__ for values in layer.get_weights() if values.ndim > 1]
    rebuilt = keras_model_of(read_firmware(folder))[0]
    kernels = [values for values in rebuilt.get_weights() if values.ndim > 1]
    if len(written) == len(kernels) and all(a.shape == b.shape and np.allclose(a, b, atol=2.0**-FRACTION_BITS) for a, b in zip(written, kernels)):
        return estimates, "weights as written"
    normalizations = [sum("BatchNormalization" in type(layer).__name__ for layer in built.layers) for built in (model, rebuilt)]
    return estimates, "a batch normalization fused into its kernel" if normalizations[0] > normalizations[1] else "WEIGHTS NOT AS WRITTEN"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hls4ml-from", help="a folder holding the hls4ml to write the projects with (required)")
    parser.add_argument("--io-types", nargs="+", default=["io_parallel", "io_stream"], choices=("io_parallel", "io_stream"))
    parser.add_argument("--models", nargs="+", default=list(PLAIN_MODELS), choices=PLAIN_MODELS, help="some of the models (default: all)")
    add_write_one(parser)
    args = parser.parse_args()
    if wrote_one(args, write):
        return
    if not args.hls4ml_from:
        parser.error("--hls4ml-from DIR is required")
    counts = {"same": 0, "firmware only": 0, "different": 0, "refused": 0, "not written": 0, "weights not as written": 0}
    started = time.perf_counter()
    print("| model | io type | strategy | estimates | rebuilt kernels |\n|---|---|---|---|---|")
    runs = [(name, io_type, strategy) for io_type in args.io_types for strategy in ("Latency", "Resource") for name in args.models]
    with tempfile.TemporaryDirectory(prefix="codesign-versions-") as scratch:
        for index, (name, io_type, strategy) in enumerate(runs, start=1):
            print(f"  {index}/{len(runs)}", end="\r", file=sys.stderr, flush=True)
            folder = Path(scratch) / f"{name}_{io_type}_{strategy}"
            try:
                written_by(__file__, args.hls4ml_from, name, folder, io_type, strategy)
            except RuntimeError as error:  # that hls4ml cannot take the model: not a path of codesign's
                counts["not written"] += 1
                print(f"| {name} | {io_type} | {strategy} | hls4ml: {error} | |")
                continue
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimates, kernels = compared(name, folder)
            shutil.rmtree(folder, ignore_errors=True)
            key = estimates.split(" (")[0].split(":")[0].replace("firmware refused", "refused")
            counts[key if key in counts else "different"] += 1
            counts["weights not as written"] += kernels == "WEIGHTS NOT AS WRITTEN"
            print(f"| {name} | {io_type} | {strategy} | {estimates} | {kernels} |")
    print(f"\n{len(runs)} models written by the hls4ml in {args.hls4ml_from}: " + ", ".join(f"{key} {value}" for key, value in counts.items())
          + f"; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
