"""hls4ml projects written from PyTorch models, estimated from their firmware as `codesign estimate FOLDER` does (docs/estimation.md).

    .venv/bin/python benchmarks/pytorch_projects.py --torch-from DIR [--hls4ml-from DIR] [--models NAME ...]

torch is not a dependency of codesign: DIR holds it, e.g. `.venv/bin/pip install --target /tmp/torch torch==2.5.1`
(then remove the packages it brings that the environment already has: filelock, fsspec, jinja2, markupsafe,
typing_extensions). --hls4ml-from: an older hls4ml writes the projects (1.0 to 1.2 also need `onnx`; see
benchmarks/firmware_versions.py); by default the environment's. Each model is written by hls4ml's PyTorch front end
(Vitis backend, Latency and Resource at reuse factor 4, io_parallel and io_stream) in a child process, then estimated
from its folder (its config names a PytorchModel: the firmware is read), and the kernels rebuilt from the firmware are
compared with the PyTorch weights, in Keras's layout (a Dense after a Flatten: each output's weights as a set, since
hls4ml reorders its inputs to channels last). Prints one row per folder, then the counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from writer_child import add_write_one, written_by, wrote_one  # noqa: E402
MODELS = ("mlp", "mlp_bn_tanh", "cnn1d_bn", "cnn2d", "cnn2d_bn_upsample", "residual")
WEIGHTS = "torch_weights.npz"  # the child's PyTorch kernels in Keras's layout, beside the project


def torch_model(name: str):
    """The PyTorch model `name` and its input shape (channels first), its weights drawn (seeded)."""
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(12, 12), nn.Linear(12, 12), nn.Linear(24, 4)

        def forward(self, x):
            y = torch.relu(self.fc1(x))
            return self.fc3(torch.cat([self.fc2(y) + x, y], dim=1))

    torch.manual_seed(MODELS.index(name))
    built = {
        "mlp": lambda: (nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 5), nn.Softmax(dim=1)), (16,)),
        "mlp_bn_tanh": lambda: (nn.Sequential(nn.Linear(10, 20), nn.BatchNorm1d(20), nn.Tanh(), nn.Linear(20, 3)), (10,)),
        "cnn1d_bn": lambda: (nn.Sequential(nn.Conv1d(2, 8, 3, padding=1), nn.BatchNorm1d(8), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(),
                                           nn.Linear(8 * 8, 4), nn.Sigmoid()), (2, 16)),
        "cnn2d": lambda: (nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(), nn.Flatten(),
                                        nn.Linear(16 * 3 * 3, 10)), (3, 12, 12)),
        "cnn2d_bn_upsample": lambda: (nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
                                                    nn.Upsample(scale_factor=2), nn.Conv2d(4, 4, 1), nn.ELU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3),
                                                    nn.Softmax(dim=1)), (2, 8, 8)),
        "residual": lambda: (Residual(), (12,)),
    }[name]()
    built[0].eval()
    return built


def write(name: str, folder: Path, io_type: str, strategy: str) -> None:
    """The hls4ml project of model `name` (in the child process, where torch and that hls4ml are importable), and its
    kernels in Keras's layout beside it (a Linear's transposed; a convolution's as (k..., in, out))."""
    import hls4ml
    import numpy as np

    model, shape = torch_model(name)
    config = hls4ml.utils.config_from_pytorch_model(model, input_shape=shape, granularity="name", backend="Vitis",
                                                    default_precision="ap_fixed<16,6>", default_reuse_factor=4 if strategy == "Resource" else 1)
    config["Model"]["Strategy"] = strategy
    graph = hls4ml.converters.convert_from_pytorch_model(model, hls_config=config, output_dir=str(folder), backend="Vitis", io_type=io_type,
                                                         part="xcvu13p-flga2577-2-e")
    graph.write()
    kernels = [parameter.detach().numpy() for key, parameter in model.state_dict().items() if key.endswith("weight") and parameter.ndim > 1]
    np.savez(folder / WEIGHTS, *[np.moveaxis(kernel, (0, 1), (-1, -2)) for kernel in kernels])


def estimated(folder: Path) -> tuple[str, str]:
    """(the estimate's totals, or its refusal or internal error, named), (the rebuilt kernels against PyTorch's)."""
    import numpy as np

    from codesign.estimate.firmware import keras_model_of, read_firmware
    from codesign.estimate.project import estimate_project

    try:
        total = estimate_project(folder)["total"]
    except Exception as error:  # a refusal (ModelError) or an internal error: what this benchmark counts
        return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}", ""
    totals = f"{total['dsp']:,} DSP, {total['lut']:,} LUT, {total['ff']:,} FF, {total['latency_cycles']:,} cycles"
    written = list(np.load(folder / WEIGHTS).values())
    rebuilt = [values for values in keras_model_of(read_firmware(folder))[0].get_weights() if values.ndim > 1]
    if len(written) != len(rebuilt) or any(a.shape != b.shape for a, b in zip(written, rebuilt)):
        return totals, "WEIGHTS NOT AS WRITTEN"
    if all(np.allclose(a, b, atol=2.0**-10) for a, b in zip(written, rebuilt)):
        return totals, "weights as written"
    # hls4ml reorders a Dense's inputs after a channels-first Flatten to its channels-last order: each output's weights,
    # as a set, are PyTorch's
    permuted = all(np.allclose(np.sort(a, axis=0), np.sort(b, axis=0), atol=2.0**-10) for a, b in zip(written, rebuilt))
    return totals, "weights as written, a Dense's inputs in channels-last order" if permuted else "WEIGHTS NOT AS WRITTEN"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-from", help="a folder holding torch (required)")
    parser.add_argument("--hls4ml-from", help="a folder holding the hls4ml to write the projects with (default: the environment's)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS, help="some of the models (default: all)")
    add_write_one(parser)
    args = parser.parse_args()
    if wrote_one(args, write):
        return
    if not args.torch_from:
        parser.error("--torch-from DIR is required")
    path = os.pathsep.join(filter(None, (args.hls4ml_from, args.torch_from)))
    counts = {"estimated": 0, "refused": 0, "internal error": 0, "not written": 0, "weights not as written": 0}
    started = time.perf_counter()
    print("| model | io type | strategy | estimate | rebuilt kernels |\n|---|---|---|---|---|")
    runs = [(name, io_type, strategy) for name in args.models for io_type in ("io_parallel", "io_stream") for strategy in ("Latency", "Resource")]
    with tempfile.TemporaryDirectory(prefix="codesign-pytorch-") as scratch:
        for index, (name, io_type, strategy) in enumerate(runs, start=1):
            print(f"  {index}/{len(runs)}", end="\r", file=sys.stderr, flush=True)
            folder = Path(scratch) / f"{name}_{io_type}_{strategy}"
            try:
                written_by(__file__, path, name, folder, io_type, strategy)
            except RuntimeError as error:  # hls4ml cannot take the model: not a path of codesign's
                counts["not written"] += 1
                print(f"| {name} | {io_type} | {strategy} | hls4ml: {error} | |")
                continue
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimate, kernels = estimated(folder)
            key = "refused" if estimate.startswith("ModelError") else "internal error" if ":" in estimate.split(",")[0] else "estimated"
            counts[key] += 1
            counts["weights not as written"] += kernels == "WEIGHTS NOT AS WRITTEN"
            print(f"| {name} | {io_type} | {strategy} | {estimate} | {kernels} |")
    print(f"\n{len(runs)} folders written by hls4ml's PyTorch front end ({args.hls4ml_from or 'the environment'}'s hls4ml): "
          + ", ".join(f"{key} {value}" for key, value in counts.items()) + f"; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
