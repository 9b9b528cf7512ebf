"""Thin command line over the library: parse, call, print; user mistakes are one line and exit 2."""

from __future__ import annotations

import math
import os
import sys
import traceback
from pathlib import Path

import click

from codesign.errors import CodesignError
from codesign.fuzz_models import DRAWN, GENERATION
from codesign.steps import STEP_NAMES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter hides the progress lines


def _quiet_tensorflow() -> None:
    """TensorFlow's Python logger warns about retracing on every predict of a new shape; not the user's concern."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


DOMAIN_HELP = "LOW,HIGH: prove bit-exactness for every input value in [LOW, HIGH] (default: the input type; docs/proof.md)."


def _domain(text: str | None) -> list[float] | None:
    """'--domain -4,4' as [-4.0, 4.0]; a clear error naming the option otherwise."""
    if text is None:
        return None
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise click.BadParameter(f"'{text}' is not LOW,HIGH (two numbers, e.g. -4,4)", param_hint="--domain") from None
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise click.BadParameter(f"'{text}': LOW and HIGH must be finite, LOW <= HIGH", param_hint="--domain")
    return [low, high]


def _part(text: str | None) -> str | None:
    """'--part NAME': a full part number of codesign's table, checked before TensorFlow loads."""
    from codesign.parts import check_full_name

    if text is not None:
        try:
            check_full_name(text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--part") from None
    return text


def _say(message: str) -> None:
    click.echo(message)


def _fail(error: CodesignError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


class _Group(click.Group):
    """Turns CodesignError into one line + its exit code, and anything else into a short internal-error line."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CodesignError as error:
            _fail(error)
        except click.BadParameter as error:  # a bad option value: one line naming the option, like every other mistake
            where = f"{error.param_hint}: " if isinstance(error.param_hint, str) else ""
            click.echo(f"error: {where}{error.message}", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # a bug: keep the traceback in a file, not on the terminal
            log = Path(os.environ.get("TMPDIR", "/tmp")) / "codesign-internal-error.log"
            log.write_text(traceback.format_exc())
            click.echo(f"internal error: {type(error).__name__}: {error} (traceback in {log})", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="codesign", message="codesign %(version)s")
def main() -> None:
    """codesign: QKeras -> hls4ml FPGA projects, validated bit for bit."""


@main.command()
@click.argument("spec_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "model_file", type=click.Path(path_type=Path), help="A trained QKeras/Keras model (.h5/.keras).")
@click.option("--data", "data_file", type=click.Path(path_type=Path), help="An .npz with x_train, y_train, x_test, y_test, or 'synthetic' (random data of the spec dataset's shape).")
@click.option("--no-train", is_flag=True, help="Keep the seeded random initial weights (quantized): no training.")
@click.option("--name", help="Run name (default: the spec's name or file stem).")
@click.option("--precision", help="bit-exact (default), hls4ml-default, 'ap_fixed<W,I>', or as-configured (with hls.hls4ml_config).")
@click.option("--head", type=click.Choice(["host", "firmware"]), help="Where a final softmax/sigmoid/tanh runs: host (default; the firmware ends on the logits) or firmware (exact on the logits, its decision proven the model's).")
@click.option("--head-output", type=click.Choice(["decision", "probabilities"]), help="With --head firmware: what a softmax outputs, the class (default; hls4ml's argmax) or probabilities (its lookup tables).")
@click.option("--from", "from_step", type=click.Choice(STEP_NAMES), help="Rerun from this step.")
@click.option("--to", "to_step", type=click.Choice(STEP_NAMES), help="Stop after this step.")
@click.option("--output-root", type=click.Path(file_okay=False, path_type=Path), default=Path("hls_projects"), show_default=True)
def build(spec_file, model_file, data_file, no_train, name, precision, head, head_output, from_step, to_step, output_root) -> None:
    """Train (or import), convert, compile and validate: SPEC_FILE is a YAML spec from models/."""
    from codesign.commands import build_run, resolve_build_spec

    spec, run_name = resolve_build_spec(spec_file, model_file, data_file, name, precision, no_train, head, _say, head_output)  # before TensorFlow
    _quiet_tensorflow()
    build_run(spec, output_root / run_name, _say, from_step, to_step)


@main.command(name="import")
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Run name: the run goes to OUTPUT_ROOT/NAME.")
@click.option("--data", "data_file", type=click.Path(dir_okay=False, path_type=Path), help="An .npz with x_train, y_train, x_test, y_test (default: inputs drawn across the input type's range, flagged synthetic).")
@click.option("--output-root", type=click.Path(file_okay=False, path_type=Path), default=Path("hls_projects"), show_default=True)
@click.option("--domain", callback=lambda ctx, param, value: _domain(value), help=DOMAIN_HELP)
def import_project(project: Path, name: str, data_file, output_root: Path, domain) -> None:
    """A codesign run of an existing hls4ml project folder (hls4ml_config.yml + its Keras model), as configured there."""
    from codesign.commands import import_run

    _quiet_tensorflow()
    import_run(project, name, data_file, output_root / name, _say, domain)


@main.command()
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="The repaired project's folder (must not exist).")
@click.option("--data", "data_file", type=click.Path(dir_okay=False, path_type=Path), help="An .npz with x_train, y_train, x_test, y_test (default: inputs drawn across the input type's range, flagged synthetic).")
@click.option("--domain", callback=lambda ctx, param, value: _domain(value), help=DOMAIN_HELP)
def repair(project: Path, out: Path, data_file, domain) -> None:
    """An existing hls4ml project made exact in a new folder: only the types that need it change (docs/repair.md)."""
    from codesign.project_repair import repair_project

    _quiet_tensorflow()
    repair_project(project, out, data_file, _say, domain)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--domain", callback=lambda ctx, param, value: _domain(value), help=DOMAIN_HELP)
def validate(run_dir: Path, domain) -> None:
    """Rerun the emulation on the test set and compare it with QKeras, and prove it over the domain; exit 3 when a
    bit-exact policy is not."""
    from codesign.commands import validate_run

    _quiet_tensorflow()
    validate_run(run_dir, _say, domain)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--device", type=click.Choice(["cpu", "gpu", "all"]), help="Where to measure (default: the spec's, all).")
@click.option("--batch-sizes", help="Comma-separated batch sizes for throughput, e.g. 1,8,64,256,1024.")
@click.option("--runs", type=int, help="Timed batch-1 calls behind p50/p99.")
def bench(run_dir: Path, device, batch_sizes, runs) -> None:
    """Measure the float and QKeras models on the CPU/GPU and compare with the FPGA figures."""
    from codesign.commands import bench_run

    _quiet_tensorflow()
    bench_run(run_dir, _say, device=device, batch_sizes=batch_sizes, runs=runs)


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--part", callback=lambda ctx, param, value: _part(value), help="A full FPGA part number, e.g. xcu250-figd2104-2L-e.")
@click.option("--clock-ns", type=float, help="Clock period in ns.")
@click.option("--io-type", type=click.Choice(["io_parallel", "io_stream"]))
@click.option("--strategy", type=click.Choice(["Latency", "Resource", "distributed_arithmetic"]))
@click.option("--reuse-factor", type=int)
@click.option("--precision", help="bit-exact, hls4ml-default or 'ap_fixed<W,I>'.")
@click.option("--backend", type=click.Choice(["Vitis", "Vivado"]))
@click.option("--tool", help="The tool that will synthesize it, as its report names it: 'Vitis HLS 2021.1', 'Vivado HLS 2019.2' (default: a current one).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the estimate here.")
def estimate(target: Path, json_out, tool, **options) -> None:
    """Resources and latency per layer of a run directory or a model file (.h5/.keras), without vendor tools."""
    from codesign.commands import estimate_target

    _quiet_tensorflow()
    estimate_target(target, {key: value for key, value in options.items() if value is not None}, json_out, _say, tool)


@main.command()
@click.argument("projects", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--into", type=click.Path(dir_okay=False, path_type=Path), help="The calibration file (default: $CODESIGN_CALIBRATION, else hls_projects/calibration.json).")
def calibrate(projects, into) -> None:
    """Add your own builds (hls4ml project folders with a C-synthesis report, or folders holding them) to a local calibration: later estimates of
    designs the same tool builds on the same fabric are scaled by what they say (docs/estimation.md)."""
    from codesign.commands import calibrate_with
    from codesign.estimate.local import calibration_path, describe

    _quiet_tensorflow()
    into = into or calibration_path()
    calibration = calibrate_with(list(projects), into, _say)
    for key, entry in calibration["ratios"].items():
        _say(f"{key}: {entry['builds']} builds; estimates corrected: {describe(entry)}")
    _say(f"calibration: {into} ({len(calibration['builds'])} builds)" + ("" if into == calibration_path() else
         f"; estimates read it with CODESIGN_CALIBRATION={into}"))


@main.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--part", required=True, callback=lambda ctx, param, value: _part(value), help="The FPGA to fit, e.g. xcu250-figd2104-2L-e.")
@click.option("--max-utilization", type=float, default=0.8, show_default=True, help="Largest share of the part any resource may take.")
@click.option("--max-latency-cycles", type=click.IntRange(min=1), help="Latency the design may not exceed (point estimate).")
@click.option("--min-throughput", type=click.FloatRange(min=0, min_open=True), help="Inferences per second the design must reach (point estimate).")
@click.option("--clock-ns", type=click.FloatRange(min=0, min_open=True), help="Clock period (default: the target's).")
@click.option("--io-type", type=click.Choice(["io_parallel", "io_stream"]), help="Convert in this io type (default: the target's).")
@click.option("--strategy", type=click.Choice(["Latency", "Resource"]), help="Every weighted layer's strategy (default: chosen per layer).")
@click.option("--objective", type=click.Choice(["latency", "throughput"]), default="latency", show_default=True)
@click.option("--optimistic", is_flag=True, help="Judge resources at the point estimate, not the upper end of its interval.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The spec to write (default: NAME_fit.yaml here).")
def fit(target: Path, part, max_utilization, max_latency_cycles, min_throughput, clock_ns, io_type, strategy, objective, optimistic, out) -> None:
    """Choose per-layer reuse factors and strategies so that a spec, run or model fits a part, fastest first."""
    from codesign.fit import Goal
    from codesign.fit_target import fit_target

    _quiet_tensorflow()
    goal = Goal(part, max_utilization, max_latency_cycles, min_throughput, clock_ns, strategy, optimistic, objective)
    fit_target(target, goal, io_type, out, _say)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--vsynth", is_flag=True, help="Also run Vivado logic synthesis after C synthesis.")
def synth(run_dir: Path, vsynth: bool) -> None:
    """Run the vendor's C synthesis on a run's project (needs vitis_hls or vivado_hls on PATH)."""
    from codesign.commands import synth_run

    _quiet_tensorflow()
    synth_run(run_dir, vsynth, _say)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-synth", is_flag=True, help="Simulate only: no yosys synthesis.")
@click.option("--family", type=click.Choice(["xc7"]), default="xc7", show_default=True, help="yosys synth_xilinx family.")
def rtl(run_dir: Path, no_synth: bool, family: str) -> None:
    """Verilog of a distributed_arithmetic run's kernels, simulated with Verilator against the emulator, LUTs from yosys."""
    from codesign.commands import rtl_run

    _quiet_tensorflow()
    rtl_run(run_dir, not no_synth, family, _say)


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Where to write (default: the run's reports/, or ./codesign_comparison for several runs).")
@click.option("--format", "formats", default="html,md,json", show_default=True, help="Any of html, md, json.")
def report(run_dirs, out_dir, formats) -> None:
    """Shareable report of a run (report.html, summary.md, summary.json), or a side-by-side comparison of several."""
    from codesign.commands import report_runs

    _quiet_tensorflow()
    report_runs(list(run_dirs), out_dir, formats, _say)


@main.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jobs", type=int, help="Local worker processes (default: one per core).")
@click.option("--scheduler", help="An existing Dask scheduler, tcp://HOST:PORT.")
@click.option("--dask-local", type=int, help="Start a Dask LocalCluster of N worker processes.")
@click.option("--dry-run", is_flag=True, help="List the points (and which share a training) without running.")
@click.option("--best", is_flag=True, help="Name the best finished point under the limits below.")
@click.option("--max-dsp", type=int)
@click.option("--max-lut", type=int)
@click.option("--min-accuracy", type=float)
@click.option("--output-root", type=click.Path(file_okay=False, path_type=Path), default=Path("hls_projects"), show_default=True)
def sweep(sweep_file, jobs, scheduler, dask_local, dry_run, best, max_dsp, max_lut, min_accuracy, output_root) -> None:
    """Design-space exploration over a grid of spec settings; resumable; Pareto front and plots."""
    from codesign import sweep as sweeps

    if best:
        row = sweeps.best_point(sweeps.results_of(sweep_file, output_root), max_dsp, max_lut, min_accuracy)
        if row is None:
            raise CodesignError("no finished point meets those limits")
        settings = {key: value for key, value in row.items() if key not in ("run_dir", "error", "seconds", "status")}
        _say(f"best: {row['point']} ({', '.join(f'{k}={v}' for k, v in settings.items() if k != 'point')})")
        _say(f"  run directory: {row['run_dir']}")
        return
    _quiet_tensorflow()
    sweeps.run_sweep(sweep_file, output_root, _say, jobs=jobs, scheduler=scheduler, dask_local=dask_local, dry_run=dry_run)


@main.command()
@click.option("--n", "count", type=click.IntRange(min=1), default=20, show_default=True, help="Models to generate and build.")
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed: model I of seed S is always the same model.")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="Index of the first model (resume or split a run).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("hls_projects/fuzz"), show_default=True,
              help="Where fuzz.json and each failure's minimal model (failures/) go.")
@click.option("--no-shrink", is_flag=True, help="Save failures as generated, without shrinking them.")
@click.option("--head", type=click.Choice(["host", "firmware"]), default="host", show_default=True,
              help="firmware: build each model's softmax/sigmoid head in firmware and judge its decision too.")
@click.option("--generation", type=click.Choice([str(generation) for generation in DRAWN]), default=str(GENERATION), show_default=True,
              help="The generator's generation: the older ones draw the models of the seeds used before (docs/fuzzing.md).")
def fuzz(count, seed, start, out_dir, no_shrink, head, generation) -> None:
    """Differential fuzzing: random QKeras models built as a user would; exit 1 when any ends in an internal error, a
    difference without a reason, or a proof a sample contradicts (docs/fuzzing.md)."""
    from codesign.fuzz import FAILURES, fuzz as run_fuzz, summary

    _quiet_tensorflow()
    rows = run_fuzz(count, seed, out_dir, _say, shrink_failures=not no_shrink, start=start, head=head, generation=int(generation))
    counts = summary(rows)
    _say("summary: " + ", ".join(f"{kind} {number}" for kind, number in counts.items()) + f" (of {len(rows)}; {out_dir / 'fuzz.json'})")
    failed = sum(counts[kind] for kind in FAILURES)
    if failed:
        for row in rows:
            if row.get("case"):
                _say(f"failure {row['kind']}: {row['detail']}; minimal model in {row['case']}")
        sys.exit(1)


@main.command()
@click.argument("spec_file", type=click.Path(dir_okay=False, path_type=Path))
def show(spec_file: Path) -> None:
    """Print the resolved spec (every default filled in) and its digest."""
    from codesign.config import dump_spec, load_spec

    spec = load_spec(spec_file)
    click.echo(dump_spec(spec), nl=False)
    click.echo(f"# digest: {spec.digest()}")


if __name__ == "__main__":
    main()
