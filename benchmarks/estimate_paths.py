"""Generated hls4ml projects estimated with their config and model, then from their firmware alone (docs/estimation.md).

    .venv/bin/python benchmarks/estimate_paths.py [--seed S] [--generation G] [--n N] [--start K] [--backend Vitis|Vivado] [--hls4ml-from DIR]
                                                  [--distributed-arithmetic] [--layer-settings]

Each fuzzer model (codesign/fuzz_models.py: random QKeras layers, quantizers, io types and strategies) is written by
hls4ml 1.3 (the Vitis backend by default, xcu250), estimated as `codesign estimate PROJECT_DIR` does, then estimated
again with hls4ml_config.yml and the Keras model removed (what some users commit). Prints one row per model: the two
totals the same, different (both shown), or the error of a path that refused; then the counts. A project whose
firmware prices otherwise than its config's design is estimated from its firmware (project.design_of) and counted
as "firmware not the config's design": written by hls4ml 1.3, each such model is a firmware reader's error.

With `--layer-settings` each kernel's strategy, reuse factor and (an io_parallel convolution's) parallelization factor
are drawn, where the fuzzer's models take the model's. With `--distributed-arithmetic` every Dense and convolution is in that strategy (its kernels written as code, read
back by estimate/da_firmware.py). With `--hls4ml-from DIR` another hls4ml writes the projects, as public projects were written (the estimate still runs
hls4ml 1.3): DIR holds it, e.g. `.venv/bin/pip install --target /tmp/hls4ml-0.8.1 --no-deps hls4ml==0.8.1 calmjs.parse
ply tabulate` (calmjs.parse needs ply; hls4ml 1.0 also onnx==1.15.0 for this stack's protobuf). Its firmware can differ from what hls4ml 1.3 makes of the same model (hls4ml 0.8 keeps a quantizer's cast after
a batch normalization, writes a separable convolution as one call): "different" then says which path read what.
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
from codesign.fuzz_models import DRAWN, GENERATION  # noqa: E402

METRICS = ("dsp", "lut", "ff", "bram_18k", "latency_cycles")


KERNELS = ("Dense", "Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")


def drawn_layer_settings(model, config: dict, io_type: str, seed: int, index: int) -> None:
    """Each kernel's own strategy, reuse factor and (an io_parallel convolution's) parallelization factor, drawn from
    (seed, index): hls4ml takes the nearest valid value of each, as it does a user's."""
    import numpy as np

    rng = np.random.default_rng([seed, index, 7])
    for layer in model.layers:
        kind = type(layer).__name__.lstrip("Q")
        if kind not in KERNELS or layer.name not in config["LayerName"]:
            continue
        entry = config["LayerName"][layer.name]
        entry.update(Strategy=str(rng.choice(["Latency", "Resource"])), ReuseFactor=int(rng.choice([1, 2, 3, 4, 8, 16])))
        if io_type == "io_parallel" and kind in ("Conv1D", "Conv2D"):
            pixels = int(np.prod(layer.output_shape[1:-1]))
            entry["ParallelizationFactor"] = int(rng.choice([1, 2, 4, pixels]))


def written(recipe: dict, folder: Path, backend: str, distributed_arithmetic: bool = False, settings_of: tuple[int, int] | None = None) -> None:
    """The recipe's model as hls4ml writes its project, the model saved beside it (hls4ml before 1.0 did not); with
    `distributed_arithmetic`, every Dense and convolution kernel in that strategy (hls4ml takes it per layer); with
    `settings_of` (seed, index), each kernel's settings drawn (drawn_layer_settings)."""
    import hls4ml

    from codesign.fuzz_models import build_model

    model = build_model(recipe)
    try:
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    except TypeError:  # hls4ml before 0.7 took no backend here (before 0.6: Vivado only)
        config = hls4ml.utils.config_from_keras_model(model, granularity="name")
    config["Model"]["Strategy"] = recipe["strategy"]
    if distributed_arithmetic:
        for layer in model.layers:
            if type(layer).__name__.lstrip("Q") in ("Dense", "Conv1D", "Conv2D") and layer.name in config["LayerName"]:
                config["LayerName"][layer.name]["Strategy"] = "distributed_arithmetic"
    if settings_of:
        drawn_layer_settings(model, config, recipe["io_type"], *settings_of)
    settings = {"hls_config": config, "output_dir": str(folder), "part": "xcu250-figd2104-2L-e", "io_type": recipe["io_type"]}
    try:
        graph = hls4ml.converters.convert_from_keras_model(model, backend=backend, **settings)
    except TypeError:  # hls4ml before 0.6: Vivado only, no backend argument, the part as fpga_part
        graph = hls4ml.converters.convert_from_keras_model(model, fpga_part=settings.pop("part"), **settings)
    graph.write()
    if not any((folder / name).exists() for name in ("keras_model.keras", "keras_model.h5")):
        model.save(folder / "keras_model.h5")


def written_by(hls4ml_from: str, seed: int, index: int, folder: Path, backend: str, generation: int, layer_settings: bool = False) -> str:
    """written() in a child process whose hls4ml is the one installed in `hls4ml_from` (its error, one line, raised);
    that hls4ml's version."""
    import subprocess

    child = subprocess.run([sys.executable, __file__, "--write-one", str(seed), str(index), str(folder), "--backend", backend,
                            "--generation", str(generation)] + (["--layer-settings"] if layer_settings else []),
                           env={**os.environ, "PYTHONPATH": hls4ml_from}, capture_output=True, text=True)
    if child.returncode:
        raise RuntimeError((child.stderr.strip().splitlines() or ["no output"])[-1][:200])
    return child.stdout.strip().splitlines()[-1]


def estimated(folder: Path) -> tuple[dict | str, str]:
    """The totals, or the one line of the error; and the note of a firmware estimated instead of its config's design
    (project.design_of: empty where the two agree)."""
    from codesign.estimate.project import estimate_project

    try:
        report = estimate_project(folder)
    except Exception as error:  # a refusal (ModelError) or an internal error: both are what this benchmark counts
        return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}", ""
    other = next((note for note in report["notes"] if note.startswith("firmware/ is not the design")), "")
    return {metric: report["total"][metric] for metric in METRICS}, other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--generation", type=int, default=GENERATION, choices=sorted(DRAWN),
                        help="the fuzzer generator's (1: the runs before 2026-12-05, 2: 2026-12-05; docs/fuzzing.md)")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--backend", default="Vitis", choices=("Vitis", "Vivado"))
    parser.add_argument("--hls4ml-from", default=None, help="a folder holding another hls4ml to write the projects with")
    parser.add_argument("--distributed-arithmetic", action="store_true", help="every Dense and convolution in hls4ml's distributed_arithmetic strategy")
    parser.add_argument("--layer-settings", action="store_true", help="each kernel's strategy, reuse factor and parallelization factor drawn")
    parser.add_argument("--write-one", nargs=3, metavar=("SEED", "INDEX", "FOLDER"), help=argparse.SUPPRESS)  # the child of written_by
    args = parser.parse_args()
    from codesign.fuzz_models import describe, random_recipe

    if args.write_one:
        import hls4ml

        seed, index, folder = args.write_one
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            written(random_recipe(int(seed), int(index), args.generation), Path(folder), args.backend,
                    settings_of=(int(seed), int(index)) if args.layer_settings else None)
        print(hls4ml.__version__)
        return

    counts = {"same": 0, "different": 0, "project refused": 0, "firmware refused": 0, "not written": 0, "firmware not the config's design": 0}
    writer = f"the hls4ml in {args.hls4ml_from}" if args.hls4ml_from else "hls4ml 1.3"
    started = time.perf_counter()
    print("| model | recipe | from the project | from the firmware alone |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="codesign-paths-") as scratch:
        for index in range(args.start, args.start + args.n):
            recipe = random_recipe(args.seed, index, args.generation)
            folder = Path(scratch) / str(index)
            print(f"  {index - args.start + 1}/{args.n}", end="\r", file=sys.stderr, flush=True)
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if args.hls4ml_from:
                        writer = f"hls4ml {written_by(args.hls4ml_from, args.seed, index, folder, args.backend, args.generation, args.layer_settings)}"
                    else:
                        written(recipe, folder, args.backend, args.distributed_arithmetic, (args.seed, index) if args.layer_settings else None)
                except Exception as error:  # hls4ml cannot take the model: not a path of codesign's
                    counts["not written"] += 1
                    said = " ".join(str(error).split())[:160]
                    print(f"| {args.seed}/{index} | {describe(recipe)} | hls4ml: {type(error).__name__}: {said} | |", file=sys.__stdout__)
                    continue
                project, other = estimated(folder)
                for name in ("hls4ml_config.yml", "keras_model.keras", "keras_model.h5"):
                    (folder / name).unlink(missing_ok=True)
                firmware, _ = estimated(folder)
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(project, str):
                counts["project refused"] += 1
            elif isinstance(firmware, str):
                counts["firmware refused"] += 1
            else:
                counts["same" if project == firmware else "different"] += 1
            counts["firmware not the config's design"] += bool(other)
            said = f" ({other[other.index('estimated from the firmware'):].split('; ')[0]})" if other else ""
            print(f"| {args.seed}/{index} | {describe(recipe)} | {project}{said} | {'same' if project == firmware else firmware} |")
    print(f"\n{args.n} models of seed {args.seed} from {args.start} ({args.backend}, written by {writer}): "
          + ", ".join(f"{key} {value}" for key, value in counts.items())
          + f"; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
