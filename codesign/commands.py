"""What `codesign build` and `codesign validate` do, as library functions the CLI and tests share."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Callable

import yaml

from codesign import pipeline
from codesign.bench import format_table
from codesign.config import Spec, hls_from_dict, load_spec, spec_from_dict
from codesign.errors import CodesignError, ModelError, RunDirError, SpecError
from codesign.layout import RunLayout, read_json, write_json
from codesign.pipeline import run_pipeline
from codesign.records import BenchRecord, ConversionRecord, Manifest, RtlRecord
from codesign.results import EstimateResult, ValidationResult
from codesign.steps import Context
from codesign.validate import summary_lines

Say = Callable[[str], None]


def resolve_build_spec(
    spec_file: Path | None,
    model_file: Path | None,
    data_file: Path | None,
    name: str | None,
    precision: str | None,
    no_train: bool = False,
    head: str | None = None,
    say: Say | None = None,
    head_output: str | None = None,
) -> tuple[Spec, str]:
    """The spec a build runs (a YAML spec, a user's model, or both, with CLI overrides) and the run's name; a user's
    large CNN streams unless the spec chose its io type (said through `say`)."""
    from codesign.model import recommended_io_type

    if spec_file is None and model_file is None:
        raise SpecError("give a spec file (e.g. models/digits_cnn.yaml) or --model MODEL.h5")
    data = load_spec(spec_file).model_dump(mode="json", exclude_none=True) if spec_file else {}
    if model_file is not None:
        data["model"] = {"file": str(Path(model_file).resolve())}
        data.get("quantization", {}).pop("layers", None)
        chosen = spec_file is not None and "io_type" in ((yaml.safe_load(Path(spec_file).read_text()) or {}).get("hls") or {})
        reason = None if chosen else recommended_io_type(Path(model_file))
        if reason:
            data.setdefault("hls", {})["io_type"] = "io_stream"
            if say:
                say(f"note: {reason}")
    if data_file is not None and str(data_file) == "synthetic":
        data.setdefault("dataset", {})["synthetic"] = True
    elif data_file is not None:
        data["dataset"] = {"name": "npz", "path": str(Path(data_file).resolve())}
    if no_train:
        data.setdefault("training", {})["enabled"] = False
    if precision is not None:
        data.setdefault("hls", {})["precision"] = precision
    if head is not None:
        hls = data.setdefault("hls", {})
        hls.pop("softmax_in_firmware", None)
        hls["head"] = head
    if head_output is not None:
        data.setdefault("hls", {})["head_output"] = head_output
    run_name = name or data.get("name") or Path(spec_file or model_file).stem
    data["name"] = run_name
    source = str(spec_file) if spec_file else "command line"
    return spec_from_dict(data, source=source), run_name


def bring_up_to(spec: Spec, layout: RunLayout, step: str, say: Say = lambda _: None) -> Manifest:
    """Run the steps up to this one that are not up to date (none, for an unchanged run): nothing goes stale."""
    return pipeline.bring_up_to(Context(spec, layout, say), step)


def build_run(spec: Spec, run_dir: Path, say: Say, from_step: str | None = None, to_step: str | None = None) -> Manifest:
    """Run the pipeline into run_dir and print the summary."""
    layout = RunLayout(Path(run_dir))
    say(f"building {spec.name} in {layout.root}")
    spec = _kept_domain(spec, layout, say)
    fresh = not layout.root.exists()
    try:
        manifest = run_pipeline(Context(spec, layout, say), from_step, to_step)
    except CodesignError as error:
        if fresh and error.exit_code == 2 and not _any_step_done(layout):  # a mistaken input: leave nothing behind
            import shutil

            shutil.rmtree(layout.root, ignore_errors=True)
        raise
    if manifest.complete:
        for line in build_summary(layout):
            say(line)
    return manifest


def _kept_domain(spec: Spec, layout: RunLayout, say: Say) -> Spec:
    """A domain `codesign validate --domain` gave the run stays when the spec rebuilding it names none (said once)."""
    if spec.validation.domain is not None or not layout.config.exists():
        return spec
    domain = ((yaml.safe_load(layout.config.read_text()) or {}).get("validation") or {}).get("domain")
    if domain is None:
        return spec
    say(f"note: keeping the run's proof domain {domain} (set by codesign validate --domain); set validation.domain in the spec to change it")
    data = spec.model_dump(mode="json")
    data["validation"]["domain"] = domain
    return spec_from_dict(data, source=str(layout.config))


def _any_step_done(layout: RunLayout) -> bool:
    manifest = Manifest.read_if_exists(layout.manifest)
    return manifest is not None and any(state.status == "ok" for state in manifest.steps.values())


def import_run(project: Path, name: str, data: Path | None, run_dir: Path, say: Say, domain: list | None = None) -> dict:
    """`codesign import`: a run of an existing hls4ml project folder, built through every step (its firmware's
    exactness proven over `domain`, or the whole input type, with the project's own types)."""
    from codesign.estimate.project import is_project
    from codesign.project_import import import_spec

    if not is_project(project):
        raise SpecError(f"{project}: not an hls4ml project folder (no hls4ml_config.yml in it, nor firmware/ with parameters.h and defines.h)")
    return build_run(import_spec(project, name, data, run_dir, say, domain), run_dir, say)


def validate_run(run_dir: Path, say: Say, domain: list | None = None) -> dict:
    """Rerun the validate step of an existing run with the spec it was built from; with `domain`, the run's claim
    becomes a proof over that domain (saved in its config.yaml)."""
    layout = RunLayout(Path(run_dir))
    spec = _run_spec(layout)
    if domain is not None:
        data = spec.model_dump(mode="json")
        data["validation"]["domain"] = domain
        spec = spec_from_dict(data, source="--domain")
    run_pipeline(Context(spec, layout, say), "validate", "validate")
    return ValidationResult.read(layout.report("validate")).dump()


def bench_run(run_dir: Path, say: Say, device=None, batch_sizes: str | None = None, runs: int | None = None) -> dict:
    """Rerun the bench step of an existing run, with the spec's bench settings or the ones given."""
    layout = RunLayout(Path(run_dir))
    data = _run_spec(layout).model_dump(mode="json")
    overrides = {"device": device, "runs": runs, "batch_sizes": _batch_sizes(batch_sizes) if batch_sizes else None}
    data["bench"].update({key: value for key, value in overrides.items() if value is not None})
    spec = spec_from_dict(data, source="command line")
    run_pipeline(Context(spec, layout, say), "bench", "bench")
    return BenchRecord.read(layout.report("bench")).dump()


PROJECT_FACTS = ("part", "clock_ns")  # options a project folder may not say, stated for its estimate (with --tool)


def estimate_target(target: Path, options: dict, json_out: Path | None, say: Say, tool: str | None = None) -> dict:
    """`codesign estimate`: a run directory's estimate step, an hls4ml project folder as configured, or a what-if
    estimate of a run or a model file (`tool`: as that tool would synthesize it)."""
    from codesign.convert import conversion_of
    from codesign.estimate.project import estimate_project, is_project, listed, projects_under
    from codesign.estimate.run import TOOL_PATTERN, add_vendor, estimate_model, format_estimate
    from codesign.model import load_keras_model
    from codesign.refusals import converted_otherwise, unconvertible
    from codesign.validate import firmware_model

    if tool is not None and not re.fullmatch(TOOL_PATTERN, tool):
        raise SpecError(f"tool {tool!r}: name it as its C-synthesis report does, e.g. 'Vitis HLS 2021.1' or 'Vivado HLS 2019.2'")
    target = Path(target)
    layout = RunLayout(target)
    is_run = target.is_dir() and layout.config.exists()
    held_in = None  # the folder given, where it holds one hls4ml project
    if target.is_dir() and not is_run and not is_project(target) and not (target / "saved_model.pb").is_file():
        nested = projects_under(target)
        if len(nested) != 1:
            raise SpecError(f"{target}: not an hls4ml project folder (no hls4ml_config.yml, nor firmware/ with parameters.h and defines.h), "
                            "a codesign run nor a saved model"
                            + (f"; it holds {len(nested)} projects: {listed(nested, target)}: estimate one of them" if nested else ""))
        held_in, target = target, nested[0]
    if is_project(target) and not is_run:
        design_options = sorted(set(options) - set(PROJECT_FACTS))
        if design_options:
            raise SpecError(f"{target}: an hls4ml project is estimated as it builds (its firmware as written, else its hls4ml_config.yml), "
                            f"not with --{', --'.join(option.replace('_', '-') for option in design_options)}: for a what-if, estimate its "
                            "Keras model with these options, or edit the config and write the project again with hls4ml (--part, "
                            "--clock-ns and --tool state what the folder does not say)")
        report = estimate_project(target, stated={**{fact: options.get(fact) for fact in PROJECT_FACTS}, "tool": tool})
        if held_in is not None:
            report["notes"].insert(0, f"{held_in} is not an hls4ml project folder: estimated the one project it holds, {target}")
        for line in format_estimate(report):
            say(line)
    elif is_run and not options and not tool:
        run_pipeline(Context(_run_spec(layout), layout, say), "estimate", "estimate")
        report = EstimateResult.read(layout.report("estimate")).dump()
    else:
        spec = _run_spec(layout) if is_run else None
        hls = hls_from_dict({**(spec.hls.model_dump(mode="json") if spec else {}), **options}, source="command line")
        with tempfile.TemporaryDirectory(prefix="codesign-estimate-") as scratch:  # hls4ml's output, which no one reads
            log = Path(scratch) / "convert.log"
            if spec is not None:  # the run's own converted design, with only the options changed
                candidate, input_type = conversion_of(ConversionRecord.read(layout.report("convert")))
                report = estimate_model(firmware_model(spec, layout), hls, input_type, log, candidate, tool)
            else:
                model = load_keras_model(target)
                refused = unconvertible(model)
                if refused:
                    raise ModelError(f"{target}: {refused}")
                report = estimate_model(model, hls, None, log, tool=tool)
                dropped = converted_otherwise(model)  # a design that builds, computing another function
                if dropped:
                    report.setdefault("notes", []).append(f"the design estimated is not the model's function: {dropped}")
            report.setdefault("notes", []).append(
                f"a model file is estimated as hls4ml converts it with --precision {hls.precision}: every layer in firmware (a final softmax "
                "or sigmoid too, as lookup tables) and no verified types; a run's estimate has its verified types and its head where the "
                "run put it (the host by default)")
        if is_run:
            add_vendor(report, layout.hls_dir)
        for line in format_estimate(report):
            say(line)
        if spec is not None:
            for line in what_if_lines(spec.hls.model_dump(mode="json"), options, tool, layout, report):
                say(line)
    if json_out is not None:
        write_json(Path(json_out), report)
    return report


def what_if_lines(run_hls: dict, options: dict, tool: str | None, layout: RunLayout, report: dict) -> list[str]:
    """What a what-if changed from the run's settings, and each total beside the run's own estimate."""
    from codesign.report.data import estimate_differences

    changed = [f"{key} {run_hls.get(key)} -> {value}" for key, value in options.items() if run_hls.get(key) != value]
    changed += [f"tool {tool}"] if tool else []
    lines = [f"what-if: {', '.join(changed) or 'the run as it is'}; everything else as the run"]
    baseline = EstimateResult.read_if_exists(layout.report("estimate"))
    if baseline is None:
        return lines + ["  the run has no estimate of its own yet (build it to its estimate step to compare)"]
    baseline = baseline.dump()
    shown = []
    for row in estimate_differences(baseline, report):
        ratio = f" (x{row['ratio']:g})" if row["differs"] and row["ratio"] is not None else ""
        shown.append(f"{row['metric']} {row['run']:,} -> {row['what_if']:,}{ratio}" if row["run"] is not None and row["what_if"] is not None
                     else f"{row['metric']} {row['run']} -> {row['what_if']}")
    lines.append("  against the run's own estimate: " + ", ".join(shown))
    families = [(baseline.get("part") or {}).get("family"), (report.get("part") or {}).get("family")]
    if families[0] != families[1]:
        lines.append(f"  note: the part's family changes ({families[0]} -> {families[1]}): its multipliers, fabric speed (how many "
                     "pipeline registers a clock period needs) and memories are priced for it")
    if options.get("strategy") == "Resource" and run_hls.get("strategy") != "Resource":
        lines.append("  note: the Resource strategy shares each multiplier over reuse_factor cycles: fewer multipliers, but hls4ml's "
                     "Resource kernels add the multiplexers, counters and registers that feed them (LUT, FF), and the latency grows")
    return lines


def synth_run(run_dir: Path, vsynth: bool, say: Say) -> dict:
    """`codesign synth`: the vendor build on a run's project, then the estimate step again to show both."""
    from codesign.estimate.vendor import run_vendor_build

    layout = RunLayout(Path(run_dir))
    spec = _run_spec(layout)
    say(f"running {spec.hls.backend} HLS C synthesis in {layout.hls_dir} (this takes minutes to hours)")
    run_vendor_build(layout.hls_dir, spec.hls.backend, vsynth, layout.log("synth"))
    run_pipeline(Context(spec, layout, say), "estimate", "estimate")
    return EstimateResult.read(layout.report("estimate")).dump()


def rtl_run(run_dir: Path, synth: bool, family: str, say: Say) -> dict:
    """`codesign rtl`: switch the run's rtl step on (with these settings) and run it, then the bench and report again."""
    layout = RunLayout(Path(run_dir))
    data = _run_spec(layout).model_dump(mode="json", exclude_none=True)
    data["rtl"] = {"enabled": True, "synth": synth, "family": family}
    spec = spec_from_dict(data, source=str(layout.config))
    run_pipeline(Context(spec, layout, say), "rtl", "report")
    return RtlRecord.read(layout.report("rtl")).dump()


def report_runs(run_dirs: list[Path], out_dir: Path | None, formats: str, say: Say) -> list[Path]:
    """`codesign report`: one run's reports (into its reports/ unless --out), or a comparison of several."""
    from codesign.report.data import collect, compare_runs
    from codesign.report.render import FORMATS, write_reports

    chosen = tuple(part.strip() for part in formats.split(",") if part.strip())
    unknown = [part for part in chosen if part not in FORMATS]
    if unknown or not chosen:
        raise SpecError(f"--format: '{formats}' is not a comma-separated choice of {', '.join(FORMATS)}")
    for run_dir in run_dirs:
        _run_spec(RunLayout(Path(run_dir)))  # a clear error for anything that is not a run directory
    runs = [collect(Path(run_dir)) for run_dir in run_dirs]
    if len(runs) == 1:
        written = write_reports(runs[0], Path(out_dir) if out_dir else RunLayout(Path(run_dirs[0])).reports_dir, chosen)
    else:
        written = write_reports(compare_runs(runs), Path(out_dir or "codesign_comparison"), chosen, comparison=True)
    for path in written:
        say(f"wrote {path}")
    return written


def _batch_sizes(text: str) -> list[int]:
    """'1,8,64' -> [1, 8, 64]; a SpecError naming the option otherwise."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"--batch-sizes: '{text}' is not a comma-separated list of integers") from None


def _run_spec(layout: RunLayout) -> Spec:
    """The spec a run was built with (its config.yaml)."""
    if not layout.config.exists():
        raise RunDirError(f"{layout.root}: not a run directory (no config.yaml); build it with 'codesign build' first")
    return spec_from_dict(yaml.safe_load(layout.config.read_text()), source=str(layout.config))


def build_summary(layout: RunLayout) -> list[str]:
    """The terminal summary of a finished run: validation, hls settings and where the project is."""
    validation = ValidationResult.read(layout.report("validate"))
    conversion = ConversionRecord.read(layout.report("convert"))
    settings = (
        f"{conversion.backend} {conversion.part} @ {conversion.clock_ns} ns, {conversion.io_type}, "
        f"{conversion.strategy}, reuse factor {conversion.reuse_factor}"
    )
    bench = BenchRecord.read_if_exists(layout.report("bench"))
    comparison = ["  comparison:", *("    " + line for line in format_table(bench.table))] if bench else []
    rtl = RtlRecord.read_if_exists(layout.report("rtl"))
    rtl_lines = []
    if rtl is not None and rtl.enabled:
        exact = "bit-exact on all" if rtl.bit_exact else f"NOT bit-exact: {rtl.mismatched_samples} of"
        counts = f", {rtl.total['lut']:,} LUT {rtl.total['carry']:,} CARRY4 (yosys, {rtl.family})" if rtl.total else ""
        rtl_lines = [f"  rtl: Verilog in {layout.rtl_dir}, Verilator {exact} {rtl.samples} samples{counts}"]
    return [
        "",
        f"summary of {layout.root}",
        *("  " + line for line in summary_lines(validation.dump())),
        *rtl_lines,
        *comparison,
        f"  precision: {conversion.policy} ({conversion.conversion})",
        f"  hls: {settings}",
        f"  project: {layout.hls_dir} (vitis_hls -f build_prj.tcl)",
        f"  reports: {layout.reports_dir} (open report.html in a browser)",
    ]


def _built_projects(folders: list[Path], say) -> list[Path]:
    """The project folders of the folders given: a project itself, or the projects a folder holds that have a
    C-synthesis report (the others are named and skipped)."""
    from codesign.estimate.project import is_project, listed, projects_under
    from codesign.estimate.vendor import vendor_results

    found = []
    for folder in map(Path, folders):
        if folder.is_file():
            raise SpecError(f"{folder}: a report alone has no design to compare it with: give the hls4ml project folder it belongs to")
        if is_project(folder):
            found.append(folder)
            continue
        nested = projects_under(folder) if folder.is_dir() else []
        built = [project for project in nested if vendor_results(project).get("csynth")]
        if not built:
            raise SpecError(f"{folder}: not an hls4ml project folder (no hls4ml_config.yml or firmware/)"
                            + (f", and none of the {len(nested)} projects it holds has a C-synthesis report" if nested else ""))
        unbuilt = [project for project in nested if project not in built]
        if unbuilt:
            say(f"  {folder}: {len(unbuilt)} of its {len(nested)} projects have no C-synthesis report, skipped: {listed(unbuilt, folder)}")
        found += built
    return found


def calibrate_with(folders: list[Path], into: Path, say) -> dict:
    """`codesign calibrate`: estimate each project folder as shipped (no local correction), read its C-synthesis report,
    and keep both in `into` (a folder added again replaces its earlier entry); return the calibration with its refitted
    ratios (codesign/estimate/local.py)."""
    from codesign.estimate.local import METRICS, ratios
    from codesign.estimate.project import estimate_project
    from codesign.estimate.vendor import vendor_results

    calibration = read_json(into) if into.exists() else {"builds": []}
    builds = {build["source"]: build for build in calibration.get("builds", [])}
    for folder in _built_projects(folders, say):
        vendor = vendor_results(folder).get("csynth")
        if not vendor:
            raise SpecError(f"{folder}: no C-synthesis report (myproject_prj/solution1/syn/report/*_csynth.rpt or .xml): build it with the vendor "
                            "tool first, or copy the report into reports/")
        report = estimate_project(folder, local=False)
        builds[str(folder.resolve())] = {
            "source": str(folder.resolve()), "key": report["tool_family"], "tool": report["settings"]["tool"],
            "estimate": {metric: report["total"][metric] for metric in METRICS},
            "vendor": {metric: vendor.get(metric) for metric in METRICS},
        }
        say(f"  {folder}: {report['settings']['tool']}: " + ", ".join(
            f"{metric} {report['total'][metric]:,} estimated, {vendor[metric]:,} built" for metric in METRICS if vendor.get(metric) is not None))
    calibration = {"builds": sorted(builds.values(), key=lambda build: build["source"]), "ratios": ratios(list(builds.values()))}
    into.parent.mkdir(parents=True, exist_ok=True)
    write_json(into, calibration)
    return calibration
