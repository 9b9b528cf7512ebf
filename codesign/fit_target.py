"""`codesign fit TARGET`: a spec, a run or a model file converted once, fitted to a part, and written back as a spec
ready for `codesign build`, with the frontier the search explored (docs/fit.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import yaml

from codesign.config import hls_from_dict
from codesign.errors import SpecError
from codesign.estimate.run import convert_for_estimate, with_interval
from codesign.estimate.whatif import WhatIf
from codesign.fit import FitResult, Goal, NothingFits, fit
from codesign.layout import RunLayout, write_atomic, write_json

Say = Callable[[str], None]
MODEL_SUFFIXES = (".h5", ".keras")
SPEC_SUFFIXES = (".yaml", ".yml")


def fit_target(target: Path, goal: Goal, io_type: str | None, out: Path | None, say: Say) -> FitResult:
    """Fit TARGET to goal.part and write the chosen settings (out: the spec to write, default NAME_fit.yaml here)."""
    from codesign.commands import _run_spec
    from codesign.estimate.project import is_project

    target = Path(target)
    if not target.exists():
        raise SpecError(f"{target}: no such spec, run directory or model file")
    if not 0 < goal.max_utilization <= 1:
        raise SpecError(f"--max-utilization {goal.max_utilization}: a fraction of the part, above 0 and at most 1 (e.g. 0.8)")
    layout = RunLayout(target)
    if target.is_dir() and layout.config.exists():
        result = _fit_run(_run_spec(layout), layout, goal, io_type, say)
        written, advice = yaml.safe_load(layout.config.read_text()), "build it: codesign build {out}: it builds the spec again, as the run was built"
    elif is_project(target):
        result, config = _fit_project(target, goal, io_type, say)
        written, advice = None, ("the project's hls4ml config with the chosen strategies and reuse factors: convert with it, e.g. "
                                 "hls4ml.converters.convert_from_config('{out}')")
    elif target.suffix in SPEC_SUFFIXES:
        result, written = _fit_spec(target, goal, io_type, say)
        advice = "build it: codesign build {out}"
    elif target.suffix in MODEL_SUFFIXES:
        result = _fit_model(target, goal, io_type, say)
        written = {"name": target.stem, "model": {"file": str(target.resolve())}}
        advice = "build it: codesign build {out} --data YOUR_DATA.npz"
    else:
        raise SpecError(f"{target}: give a spec (.yaml), a run directory or a model file (.h5/.keras)")
    for line in fit_lines(result):
        say(line)
    if written is None:
        out = Path(out) if out else Path(f"{target.resolve().name}_fit_hls4ml_config.yml")
        _write_config(result, config, out, target)
    else:
        out = Path(out) if out else Path(f"{written.get('name') or target.stem}_fit.yaml")
        _write(result, written, out, target)
    say(f"wrote {out} ({advice.format(out=out)}), {out.with_suffix('.json')} and {out.with_suffix('.png')} (the frontier)")
    return result


def _fit_run(spec, layout: RunLayout, goal: Goal, io_type: str | None, say: Say) -> FitResult:
    """A run's design: its QKeras model with the types its conversion verified."""
    if not layout.report("convert").exists():
        raise SpecError(f"{layout.root}: the run has no conversion yet: build it to its convert step first")
    return fit_in(lambda chosen: run_whatif(spec, layout, spec.hls.model_copy(update={"io_type": chosen})), spec.hls.io_type, io_type, goal, say)


def fit_in(whatif_in: Callable[[str], WhatIf], current: str, asked: str | None, goal: Goal, say: Say) -> FitResult:
    """Fit in the io type asked, else in the target's; when nothing fits there, in the other one too (an io type
    changes the layers hls4ml builds: one more conversion)."""
    from codesign.errors import ModelError

    first = asked or current
    say(f"  converting once in {first} (hls4ml); every what-if after this is priced from the converted graph")
    try:
        return fit(whatif_in(first), goal)
    except NothingFits as error:
        if asked:
            raise
        other = "io_stream" if first == "io_parallel" else "io_parallel"
        say(f"  in {first}: {error}; converting again in {other}")
        try:
            return fit(whatif_in(other), goal)
        except NothingFits as again:
            raise NothingFits(f"in {first}: {error}; in {other}: {again}") from None
        except ModelError:
            raise error from None


def run_whatif(spec, layout: RunLayout, hls, tool: str | None = None) -> WhatIf:
    """The run's QKeras model converted once under `hls` with the types its conversion verified, ready for what-ifs."""
    from codesign.convert import conversion_of
    from codesign.records import ConversionRecord
    from codesign.validate import firmware_model

    candidate, input_type = conversion_of(ConversionRecord.read(layout.report("convert")))
    with tempfile.TemporaryDirectory(prefix="codesign-fit-") as scratch:
        graph, candidate = convert_for_estimate(firmware_model(spec, layout), hls, input_type, Path(scratch) / "convert.log", candidate)
    return WhatIf(graph, hls, candidate, tool)


def _fit_spec(path: Path, goal: Goal, io_type: str | None, say: Say) -> tuple[FitResult, dict]:
    """A spec's design as `codesign build SPEC --no-train --data synthetic` makes it (seeded weights, verified types)."""
    from codesign.commands import build_run, resolve_build_spec

    spec, name = resolve_build_spec(path, None, Path("synthetic"), None, None, no_train=True)
    say(f"  building {name} untrained on synthetic data to its convert step (as codesign build {path} --no-train --data synthetic): "
        "the types are the verified ones; a trained model's weights change the estimate (fit its run for them)")
    with tempfile.TemporaryDirectory(prefix="codesign-fit-") as scratch:
        layout = RunLayout(Path(scratch) / name)
        build_run(spec, layout.root, lambda line: say(f"  {line}"), to_step="convert")
        result = _fit_run(spec, layout, goal, io_type, say)
    return result, yaml.safe_load(path.read_text())


def _fit_model(path: Path, goal: Goal, io_type: str | None, say: Say) -> FitResult:
    """A model file as `codesign estimate MODEL` converts it: the bit-exact policy's first types that convert."""
    from codesign.model import load_keras_model, recommended_io_type

    model = load_keras_model(path)

    def whatif_in(chosen: str) -> WhatIf:
        hls = hls_from_dict({"part": goal.part, "io_type": chosen}, source="command line")
        with tempfile.TemporaryDirectory(prefix="codesign-fit-") as scratch:
            graph, candidate = convert_for_estimate(model, hls, None, Path(scratch) / "convert.log")
        return WhatIf(graph, hls, candidate)

    say(f"  {path}: the bit-exact policy's first types that convert (verify them with codesign build --model)")
    return fit_in(whatif_in, "io_stream" if recommended_io_type(path) else "io_parallel", io_type, goal, say)


def _fit_project(folder: Path, goal: Goal, io_type: str | None, say: Say) -> tuple[FitResult, dict]:
    """An hls4ml project as its config converts it (its types, the tool its report, log or scripts name)."""
    from codesign.estimate.project import CONFIG_NAME, design_of, forced_multipliers, load_config
    from codesign.estimate.vendor import tool_of_folder

    path = folder / CONFIG_NAME
    if not path.is_file():
        raise SpecError(f"{folder}: no {CONFIG_NAME}: codesign fit writes the project's hls4ml config with the settings it chooses, and a "
                        "firmware-only folder has none (codesign estimate reads it as it is)")
    graph, settings, _ = design_of(folder, as_built=False)  # the config's design: the fit writes the config
    if io_type not in (None, settings["io_type"]):
        raise SpecError(f"--io-type {io_type}: a project is fitted in its own io type ({settings['io_type']}); convert it again in {io_type} first")
    say(f"  {folder}: converted once as its {CONFIG_NAME} sets it (its types and io type kept)")
    strategy = settings["strategy"] if settings["strategy"] in ("Latency", "Resource") else "Latency"
    hls = hls_from_dict({"backend": settings["backend"], "part": settings["part"], "clock_ns": settings["clock_ns"], "io_type": settings["io_type"],
                         "strategy": strategy, "reuse_factor": int(settings["reuse_factor"]), "precision": "as-configured",
                         "hls4ml_config": str(path)}, source=str(path))
    whatif = WhatIf(graph, hls, None, tool_of_folder(folder, settings["backend"])[0], forced_multipliers(folder))
    return fit(whatif, goal), load_config(path)


def fit_lines(result: FitResult) -> list[str]:
    """The chosen settings per layer, the estimate with its intervals, the utilization as judged, the search."""
    report, goal, hls = result.report, result.goal, result.hls
    part = report["part"]
    lines = [f"fit on {hls.part} ({part['board']}): every resource within {goal.max_utilization:.0%} of the part {goal.judged}; "
             f"{'highest throughput' if goal.objective == 'throughput' else 'lowest latency'}"]
    rows = [("layer", "strategy", "reuse", "cycles", "II", "DSP", "LUT", "FF", "BRAM18")]
    chosen = result.layer_settings()
    for layer in report["layers"]:
        if layer["name"] in chosen:
            setting = chosen[layer["name"]]
            rows.append((layer["name"], setting["strategy"], setting["reuse_factor"], layer["latency_cycles"], layer["ii"], layer["dsp"],
                         layer["lut"], layer["ff"], layer["bram_18k"]))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(str(cell).ljust(width) if i < 2 else str(cell).rjust(width) for i, (cell, width) in enumerate(zip(row, widths)))
              for row in rows]
    total, bounds = report["total"], report["interval"]
    lines.append("  estimated: " + ", ".join(with_interval(total[key], label, bounds.get(key)) for key, label in
                                             (("dsp", "DSP"), ("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM18"), ("latency_cycles", "cycles"))))
    lines.append("  of the part " + goal.judged + ": " + ", ".join(f"{key} {share:.1f}%" for key, share in result.shares().items()))
    lines.append(f"  at {hls.clock_ns} ns: latency {total['latency_cycles']:,} cycles ({total['latency_ns']:,.0f} ns), II {total['ii']:,}, "
                 f"{total['throughput_per_s']:,.0f} inferences/s (point estimates)")
    lines.append(f"  searched {result.evaluated} designs in {result.seconds:.2f} s (what-ifs of one conversion); the frontier: "
                 f"{len(result.frontier)} designs from {result.frontier[0]['latency_cycles']:,} cycles at {result.frontier[0]['utilization']}% "
                 f"to {result.frontier[-1]['latency_cycles']:,} cycles at {result.frontier[-1]['utilization']}%")
    lines += [f"  note: {note}" for note in report.get("notes", [])]
    return lines


def _write(result: FitResult, written: dict, out: Path, target: Path) -> None:
    """The spec with the fitted hls settings (its other keys as they were), the fit's JSON and its frontier plot."""
    hls = dict(written.get("hls") or {})
    fitted = result.hls.model_dump(mode="json", exclude_none=True)
    hls.update({key: fitted[key] for key in ("part", "clock_ns", "io_type")})
    hls["layers"] = fitted["layers"]
    written = {**written, "hls": hls}
    header = f"# written by codesign fit {target} --part {result.goal.part} ({result.goal.judged}, docs/fit.md)\n"
    write_atomic(out, header + yaml.safe_dump(written, sort_keys=False))
    _write_record(result, out)


def _write_record(result: FitResult, out: Path) -> None:
    """The fit's JSON and its frontier plot beside the file written."""
    from codesign.report.plots import fit_frontier

    write_json(out.with_suffix(".json"), result.as_dict())
    chosen = {"latency_cycles": result.report["total"]["latency_cycles"], "ii": result.report["total"]["ii"],
              "utilization": round(max(result.shares().values()), 2)}
    picture = fit_frontier(result.frontier, chosen, result.goal.max_utilization, result.goal.objective)
    if picture:
        out.with_suffix(".png").write_bytes(picture)


def _write_config(result: FitResult, config: dict, out: Path, target: Path) -> None:
    """The project's hls4ml config with the part, clock and every weighted layer's strategy and reuse factor chosen."""
    from codesign.estimate.project import dump_config

    config = dict(config)
    config["Part"] = result.hls.part
    config["ClockPeriod"] = result.hls.clock_ns
    layers = config.setdefault("HLSConfig", {}).setdefault("LayerName", {})
    for name, setting in result.layer_settings().items():
        layers[name] = {**(layers.get(name) or {}), "Strategy": setting["strategy"], "ReuseFactor": setting["reuse_factor"]}
    write_atomic(out, f"# written by codesign fit {target} --part {result.goal.part} ({result.goal.judged}, docs/fit.md)\n" + dump_config(config))
    _write_record(result, out)
