"""`codesign repair`: an existing hls4ml project made exact by changing only the types that need it (docs/repair.md).

Every run keeps what the author chose (backend, part, clock, io type, strategies and reuse factors per layer, table
sizes, layer names): `before` is the project as configured (codesign import); `search` is the bit-exact type search on
the author's settings; `after` is the author's config with a type replaced by the search's only where the author's
cannot stand in for it (a plain container, TRN/WRAP, that the author's type holds is kept; a type that rounds or
saturates as a quantizer does must be the search's), converted with codesign's repairs. `after` is validated on the data
and proven over the domain like any run; where it is not exact and the search is, the search's types are written. A
float Keras model has no exact firmware: the model-wide type whose decisions match the model's on the data is offered,
said not to be exactness. NEW_DIR must not exist, and is removed whole if the repair fails: the original folder is only
read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import yaml

from codesign.errors import ModelError, SpecError, ValidationFailed
from codesign.fixed import Fixed

Say = Callable[[str], None]
REPORT_NAME = "repair"
RUNS = "codesign_runs"  # where NEW_DIR keeps the runs behind its report
FLOAT_MODEL_TYPES = ("ap_fixed<16,6>", "ap_fixed<20,8>", "ap_fixed<24,10>", "ap_fixed<32,12>")  # tried in order for a float model
BUILD_ARTIFACTS = ("*.so", "codesign_*", "tb_data")  # the emulation's, not the project's


def repair_project(folder: Path, out: Path, data: Path | None, say: Say, domain: list | None = None) -> dict:
    """Repair the project in `folder` into `out` (which must not exist); return the report written as out/repair.json."""
    from codesign.commands import build_run, import_run
    from codesign.model import load_keras_model
    from codesign.quantizers import has_quantizers

    folder, out = Path(folder).resolve(), Path(out).resolve()
    _check_target(folder, out)
    runs = out / RUNS  # built in place (its runs' compiled emulations name their own paths); removed whole if anything fails
    try:
        say(f"[repair] the project as configured: {folder}")
        import_run(folder, "before", data, runs / "before", say, domain)
        before = _RunFacts(runs / "before")
        check_firmware_matches(folder, before.path / "hls")
        if not has_quantizers(load_keras_model(before.spec["model"]["file"])):
            chosen, search, status = _decision_types(before, runs, say)
        else:
            say("[repair] the bit-exact type search, on the project's own settings")
            try:
                build_run(_spec(before, "search", "bit-exact", before.config_path), runs / "search", say)
            except ValidationFailed as failed:  # no candidate is exact: its report names the layer; the rest is still repaired
                say(f"[repair] the search found no exact types: {failed}")
            search = _RunFacts(runs / "search")
            types, changes = merged_types(before.layers, search.layers, before.proof_layers, before.head)
            config_path = runs / "after_hls4ml_config.yml"
            config_path.write_text(yaml.safe_dump(_with_types(before.config, types), sort_keys=False))
            say(f"[repair] the project's types, {len(changes)} changed where the search's differ and the project's cannot hold them")
            build_run(_spec(before, "after", "as-repaired", config_path), runs / "after", say)
            chosen = _RunFacts(runs / "after")
            if not chosen.exact and search.exact:
                say("[repair] the minimal changes are not exact; the search's types are written")
                chosen = search
            status = "exact" if chosen.exact else f"not exact{_blocked(search)}"
        report = _report(folder, out, before, search, chosen, status)
        _write_project(chosen, folder, out, report["renames"])
        report["reconverted"] = reconversion(out, chosen)
        (out / f"{REPORT_NAME}.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / f"{REPORT_NAME}.md").write_text("\n".join(report_lines(report)) + "\n")
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    for line in report_lines(report)[2:]:
        say(line)
    return report


def _blocked(search: _RunFacts) -> str:
    """Where no type makes the model exact: the layer and the model change that would, as the search found them."""
    diverging = search.validation.get("first_diverging_layer") or {}
    return f": layer {diverging['name']} cannot be ({diverging['why']}); every other type is repaired" if diverging.get("why") else ""


def _check_target(folder: Path, out: Path) -> None:
    """A project to read and a new folder to write, or a SpecError naming what is wrong (before any work)."""
    from codesign.estimate.project import CONFIG_NAME, is_project, read_project
    from codesign.model import load_keras_model

    if not is_project(folder):
        raise SpecError(f"{folder}: not an hls4ml project folder (no hls4ml_config.yml in it, nor firmware/ with parameters.h and defines.h)")
    if not (folder / CONFIG_NAME).is_file():
        raise SpecError(f"{folder}: no {CONFIG_NAME} and no Keras model: a repair makes the firmware equal to the project's model, "
                        "and there is none (codesign import validates the firmware against its own exact evaluation)")
    try:
        load_keras_model(read_project(folder).model_path)
    except ModelError as error:
        raise SpecError(f"{error}: a repair makes the firmware equal to the project's model, which Keras/QKeras must load "
                        "(codesign import and codesign estimate take such a project from its firmware)") from None
    if out.exists():
        raise SpecError(f"--out {out}: already exists; name a new folder (nothing is written over)")
    if out == folder or folder in out.parents:
        raise SpecError(f"--out {out}: inside the project folder; name a folder outside it (the project is only read)")


def check_firmware_matches(folder: Path, converted: Path) -> None:
    """The project's own firmware holds the weights of its model, as this conversion of it writes them (same files, sizes
    and values, to 1e-3), or a SpecError naming the first that differs: a model that is not the firmware's is not repaired."""
    import numpy as np

    from codesign.estimate.firmware import weight_file

    theirs = Path(folder) / "firmware" / "weights"
    if not theirs.is_dir():
        return
    names = sorted({path.stem for path in theirs.iterdir() if path.suffix in (".txt", ".h")})
    for name in names:
        written = converted / "firmware" / "weights"
        if not any((written / f"{name}{suffix}").is_file() for suffix in (".txt", ".h")):
            raise SpecError(f"{folder}: firmware/weights/{name} has no counterpart in the model's conversion: the model does not match "
                            "the firmware (give the model the firmware was written from)")
        old, new = weight_file(theirs.parent, name), weight_file(written.parent, name)
        if old.shape != new.shape or not np.allclose(old, new, rtol=1e-3, atol=1e-3):
            where = f"{old.size} values, the model's {new.size}" if old.shape != new.shape else \
                f"value {int(np.argmax(np.abs(old - new)))} is {old[np.argmax(np.abs(old - new))]:g}, the model's {new[np.argmax(np.abs(old - new))]:g}"
            raise SpecError(f"{folder}: firmware/weights/{name} is not the model's ({where}): the model does not match the firmware "
                            "(give the model the firmware was written from)")


class _RunFacts:
    """What a run of the repair wrote: its spec, conversion, validation and estimate reports."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.spec = yaml.safe_load((self.path / "config.yaml").read_text())
        reports = self.path / "reports"
        self.conversion = json.loads((reports / "convert.json").read_text())
        self.validation = json.loads((reports / "validate.json").read_text())
        self.estimate = json.loads((reports / "estimate.json").read_text())
        self.layers = {layer["name"]: layer for layer in self.conversion["layers"]}
        self.config_path = Path(self.spec["hls"]["hls4ml_config"])
        self.config = yaml.safe_load(self.config_path.read_text())
        proof = self.validation.get("proof") or {}
        self.proof_layers = {layer["name"]: layer for layer in proof.get("layers") or []}
        head = self.validation.get("head") or {}
        self.head = head.get("layer") if head.get("runs_on") == "firmware" else None  # a softmax/sigmoid the firmware computes

    @property
    def exact(self) -> bool:
        proof = (self.validation.get("proof") or {}).get("status")
        return bool(self.validation["bit_exact"]) and proof != "counterexample"


def _spec(before: _RunFacts, name: str, precision: str, config_path: Path) -> "object":
    """The run's spec: the project's, with another precision policy (and config)."""
    from codesign.config import spec_from_dict

    spec = json.loads(json.dumps(before.spec))
    spec["name"] = name
    spec["hls"].update(precision=precision, hls4ml_config=str(config_path))
    return spec_from_dict(spec, source=f"codesign repair ({name})")


def merged_types(before: dict, search: dict, proof_layers: dict, head: str | None = None) -> tuple[dict, list[dict]]:
    """Per layer, the type of each variable the repaired project uses, and the changes with why: the project's type where
    the search's is a plain container (TRN, WRAP) the project's holds, or the same type, and all of a head in firmware
    (exactness is judged on the logits before it); the search's otherwise."""
    types, changes = {}, []
    for name, layer in search.items():
        ours = (before.get(name) or {}).get("types", {})
        types[name] = {}
        for key, found in layer["types"].items():
            kept = ours.get(key)
            if kept is not None and (stands_in(kept, found) or name == head):
                types[name][key] = kept
                continue
            types[name][key] = found
            changes.append({"layer": name, "variable": key, "old": kept, "new": found,
                            "why": _why(kept, found, proof_layers.get(name))})
    return types, changes


def stands_in(kept: str, found: str) -> bool:
    """Whether the project's type computes what the search's does: the same type, or one holding every value of a
    search type that neither rounds nor saturates."""
    if kept == found:
        return True
    old, new = Fixed.parse(kept), Fixed.parse(found)
    if old is None or new is None or (new.rounding, new.saturation) != ("TRN", "WRAP"):
        return False
    integer = old.integer - (1 if old.signed and not new.signed else 0)
    return (old.signed or not new.signed) and integer >= new.integer and old.frac >= new.frac


def _why(kept: str | None, found: str, proof_layer: dict | None) -> str:
    """What the old type loses that the new one keeps, in the proof's words where it found the layer wrong."""
    if proof_layer and not proof_layer.get("holds", True) and proof_layer.get("why"):
        return proof_layer["why"]
    old, new = Fixed.parse(kept or ""), Fixed.parse(found)
    if kept is None:
        return "a variable the project's conversion did not have"
    if old is None or new is None:
        return f"{kept} is not the fixed-point type the model computes in"
    reasons = []
    if old.frac < new.frac:
        reasons.append(f"{kept} keeps {old.frac} fraction bits, the values need {new.frac}: it rounds where QKeras does not")
    if old.integer - (old.signed and not new.signed) < new.integer or (new.signed and not old.signed):
        reasons.append(f"{kept} holds [{old.low * old.lsb:g}, {old.largest:g}]: it overflows where QKeras does not")
    if (new.rounding, new.saturation) != ("TRN", "WRAP") and (old.rounding, old.saturation, old.width, old.integer) != (
            new.rounding, new.saturation, new.width, new.integer):
        reasons.append(f"{found} rounds ({new.rounding}) and saturates ({new.saturation}) as QKeras's quantizer does; {kept} does not")
    return "; ".join(reasons) or f"{found} is the type the search verified"


def _with_types(config: dict, types: dict) -> dict:
    """The project's HLSConfig with every layer's types written out (hls4ml reads LayerName Precision per variable)."""
    config = json.loads(json.dumps(config))
    per_layer = config.setdefault("LayerName", {}) or {}
    config["LayerName"] = per_layer
    for name, variables in types.items():
        entry = per_layer.setdefault(name, {}) or {}
        per_layer[name] = entry
        entry["Precision"] = dict(variables)
        if ("weight" in variables or "scale" in variables) and not name.endswith("_alpha") and f"{name}_linear" not in types:
            # hls4ml's linear activation after a weighted layer (after its alpha scale, if any) is removed when it casts to
            # nothing: its type is the one it reads
            feeding = types.get(f"{name}_alpha", variables)
            per_layer.setdefault(f"{name}_linear", {}).setdefault("Precision", {})["result"] = feeding["result"]
    return config


def _decision_types(before: _RunFacts, runs: Path, say: Say) -> tuple[_RunFacts, None, str]:
    """A float Keras model: the first model-wide type (author's settings kept) whose decisions equal the model's on every
    sample; else (or for a model with no decision, a regression) the one closest to the model: best decision agreement,
    then smallest largest difference."""
    from codesign.commands import build_run

    say("[repair] a float Keras model: no fixed-point firmware is exact; looking for the types that come closest to it")
    tried = []
    for index, precision in enumerate(FLOAT_MODEL_TYPES):
        name = f"closest_{index}"
        build_run(_spec(before, name, precision, before.config_path), runs / name, say)
        tried.append(_RunFacts(runs / name))
        if tried[-1].validation.get("argmax_agreement") == 1.0:
            return tried[-1], None, "decisions match (not exact: the model is float)"
    best = min(tried, key=lambda run: (-(run.validation.get("argmax_agreement") or 0.0), run.validation["max_abs_diff"]))
    what = "decisions differ" if best.validation.get("argmax_agreement") is not None else "closest outputs"
    return best, None, f"{what} (not exact: the model is float; the closest of {', '.join(FLOAT_MODEL_TYPES)})"


def _write_project(chosen: _RunFacts, folder: Path, out: Path, renames: dict) -> None:
    """The chosen run's hls4ml project as a project of its own in `out`: its firmware and scripts, the model, and an
    hls4ml_config.yml with every type written and its paths pointing into `out`."""
    from codesign.convert import keep_settings
    from codesign.estimate.project import CONFIG_NAME, KerasModelPath, authored_hls_config, dump_config, load_config

    source = chosen.path / "hls"
    ignore = shutil.ignore_patterns(*BUILD_ARTIFACTS)
    for item in source.iterdir():
        if ignore(str(source), [item.name]):
            continue
        if item.is_dir():
            shutil.copytree(item, out / item.name, ignore=ignore)
        else:
            shutil.copy2(item, out / item.name)
    model = Path(chosen.spec["model"]["file"])
    for stale in ("keras_model.keras", "keras_model.h5"):
        (out / stale).unlink(missing_ok=True)
    model_name = f"keras_model{model.suffix}"
    shutil.copy2(model, out / model_name)
    config = load_config(source / "hls4ml_config.yml")
    config["OutputDir"] = str(out)
    config["KerasModel"] = KerasModelPath(str(out / model_name))
    layers = config["HLSConfig"].setdefault("LayerName", {})
    for layer in chosen.conversion["layers"]:
        entry = layers.setdefault(layer["name"], {})
        entry["Precision"] = dict(layer["types"])
        entry.pop("Trace", None)
    keep_settings(config["HLSConfig"], authored_hls_config(folder), renames)  # as the author wrote them, in hls4ml 1.3's spelling
    (out / CONFIG_NAME).write_text(dump_config(config))


def reconversion(project: Path, chosen: _RunFacts) -> dict:
    """Whether plain hls4ml 1.3, converting the written hls4ml_config.yml again (without codesign), writes the same
    firmware: every layer's types (as precisions, whatever hls4ml names them) and every weights/*.txt. Where it does not (a
    repair of codesign's that is not a type: a batch normalization's scale stored as QKeras computes it), build from
    firmware/."""
    import contextlib
    import io
    import tempfile
    import warnings

    import hls4ml

    from codesign.estimate.project import CONFIG_NAME, load_config
    from codesign.model import load_keras_model

    config = load_config(project / CONFIG_NAME)
    model = load_keras_model(project / Path(config["KerasModel"]).name)
    with tempfile.TemporaryDirectory(prefix="codesign-reconvert-") as scratch:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                graph = hls4ml.converters.convert_from_config({**config, "OutputDir": scratch, "KerasModel": model})
                graph.write()
            except Exception as error:  # hls4ml raises bare Exception for a config it does not take
                return {"same_firmware": False, "layers_typed_otherwise": [], "weights_that_differ": [],
                        "why": f"hls4ml 1.3 does not convert the written config: {' '.join(str(error).split())[:200]}"}
        found = {layer.name: {key.removesuffix("_t"): str(var.precision) for key, var in layer.types.items()} for layer in graph.get_layers()}
        types = sorted(name for name in set(found) | set(chosen.layers) if found.get(name) != chosen.layers.get(name, {}).get("types"))
        written, again = project / "firmware" / "weights", Path(scratch) / "firmware" / "weights"
        weights = sorted(path.name for path in written.glob("*.txt") if not (again / path.name).is_file()
                         or (again / path.name).read_text() != path.read_text())
    return {"same_firmware": not types and not weights, "layers_typed_otherwise": types, "weights_that_differ": weights}


def _settings(run: _RunFacts) -> dict:
    """What a repair must not change: the target, and each layer's strategy and reuse factor."""
    hls = run.conversion
    return {"backend": hls["backend"], "part": hls["part"], "clock_ns": hls["clock_ns"], "io_type": hls["io_type"],
            "layers": {layer["name"]: {"strategy": layer["strategy"], "reuse_factor": layer["reuse_factor"]} for layer in hls["layers"]
                       if layer["strategy"] is not None}}  # the layers that have one: Dense, convolutions


def _outcome(run: _RunFacts) -> dict:
    """A run's validation and proof, as the report shows them."""
    validation, proof = run.validation, run.validation.get("proof") or {}
    return {"bit_exact": validation["bit_exact"], "samples": validation["samples"], "mismatched_samples": validation["mismatched_samples"],
            "max_abs_diff": validation["max_abs_diff"], "argmax_agreement": validation.get("argmax_agreement"),
            "first_diverging_layer": validation.get("first_diverging_layer"), "synthetic_data": bool(validation.get("warning")),
            "head_in_firmware": validation.get("firmware_head"),
            "proof": {"status": proof.get("status"), "domain": (proof.get("domain") or {}).get("text"), "why": proof.get("why"),
                      "counterexample": str(run.path / proof["counterexample"]) if proof.get("counterexample") else None}}


def _estimate(run: _RunFacts) -> dict:
    """A run's estimate totals with their intervals."""
    total, interval = run.estimate["total"], run.estimate.get("interval") or {}
    return {key: {"value": total[key], "interval": interval.get(key)} for key in ("dsp", "lut", "ff", "bram_18k", "latency_cycles")}


def _report(folder: Path, out: Path, before: _RunFacts, search: _RunFacts | None, chosen: _RunFacts, status: str) -> dict:
    """repair.json: what changed and why, the settings kept, validation, proof and estimate before and after."""
    _, changes = merged_types(before.layers, chosen.layers, before.proof_layers, before.head if chosen.path.name == "after" else None)
    kept = _settings(before) == _settings(chosen)
    return {
        "project": str(folder), "repaired": str(out), "status": status,
        "types_from": {"after": "the project's types, changed where needed", "search": "the bit-exact search's types throughout"}.get(
            chosen.path.name, f"model-wide {chosen.spec['hls']['precision']}"),
        "settings_kept": kept, "settings": _settings(chosen), "renames": _renames(before),
        "changes": changes,
        "before": {"validation": _outcome(before), "estimate": _estimate(before)},
        "after": {"validation": _outcome(chosen), "estimate": _estimate(chosen)},
        "search": None if search is None else {"exact": search.exact, "run": str(search.path)},
    }


def _renames(before: _RunFacts) -> dict:
    """The layer renames of the import (names that are not C++ identifiers), old -> new."""
    from codesign.project_import import RENAMES

    path = before.path / "imported" / RENAMES
    return json.loads(path.read_text()) if path.is_file() else {}


def report_lines(report: dict) -> list[str]:
    """repair.md: the outcome first, then the changes, the settings kept, validation, proof and estimates before/after."""
    after, before = report["after"], report["before"]
    proof = after["validation"]["proof"]
    lines = [f"# codesign repair of {Path(report['project']).name}", "",
             f"status: {report['status']} ({report['types_from']}); written to {report['repaired']}",
             f"settings kept (backend, part, clock, io type, each layer's strategy and reuse factor): {'yes' if report['settings_kept'] else 'NO'}"]
    for old, new in report["renames"].items():
        lines.append(f"renamed: '{old}' -> '{new}' (not a C++ identifier; the same name in config, firmware and report)")
    reconverted = report.get("reconverted") or {}
    if reconverted:
        lines.append("hls4ml 1.3 converting hls4ml_config.yml again writes this firmware (types and weights): " + (
            "yes" if reconverted["same_firmware"] else f"no: {reconverted['why']}" if reconverted.get("why") else "no: "
            + ", ".join(reconverted["layers_typed_otherwise"] + reconverted["weights_that_differ"]) + " differ (codesign's repairs: build from firmware/)"))
    lines += ["", f"## {len(report['changes'])} type changes", ""]
    lines += [f"- {change['layer']}.{change['variable']}: {change['old']} -> {change['new']}: {change['why']}" for change in report["changes"]]
    lines += ["", "## validation and proof", ""]
    for when, outcome in (("before", before["validation"]), ("after", after["validation"])):
        diverging = outcome["first_diverging_layer"]
        lines.append(f"- {when}: {'bit-exact' if outcome['bit_exact'] else 'NOT bit-exact'} on {outcome['samples']} samples"
                     f"{' (synthetic)' if outcome['synthetic_data'] else ''}, {outcome['mismatched_samples']} differ, argmax agreement "
                     f"{outcome['argmax_agreement']}" + (f"; first diverging layer {diverging['name']}" if diverging else "")
                     + f"; proof {outcome['proof']['status']} over {outcome['proof']['domain']}"
                     + (f" ({outcome['proof']['why']})" if outcome['proof']['why'] else "")
                     + (f", counterexample {outcome['proof']['counterexample']}" if outcome['proof']['counterexample'] else ""))
    head = after["validation"]["head_in_firmware"]
    if head:
        lines.append(f"- the {head['function']} head stays in the firmware (hls4ml's lookup tables; exactness above is on the logits): its "
                     f"{head['decision']} agrees with the model's on {head['agreement']:.4f} of the samples, its outputs within "
                     f"{head['max_abs_diff']:.4g} of the exact {head['function']}" + ("" if head["agreement"] == 1 else (
                         ": the tables change decisions, which no type of the layers before them repairs; the head on the host (the "
                         "firmware ending on the logits, `codesign build --model ... --head host`) decides exactly")))
    lines += ["", "## estimate (value [interval])", "", "| | " + " | ".join(before["estimate"]) + " |", "|---" * (len(before["estimate"]) + 1) + "|"]
    for when, outcome in (("before", before["estimate"]), ("after", after["estimate"])):
        cells = [f"{entry['value']:,} {entry['interval'] or ''}" for entry in outcome.values()]
        lines.append(f"| {when} | " + " | ".join(cells) + " |")
    return lines
