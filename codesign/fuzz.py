"""`codesign fuzz`: a differential fuzzer of the whole flow. Each seeded random QKeras model (fuzz_models.py) is
built as a user would (`codesign build --model M.h5 --data D.npz`, to the validate step) and must end in exactly
one of: exact; different with a reason (the first diverging layer's `why`); refused with exit 2 and one line. An
internal error, a difference without a reason, or a proof a sample contradicts is a codesign failure: it shrinks to
a minimal model, saved where a test loads it (docs/fuzzing.md)."""

from __future__ import annotations

import json
import shutil
import time
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from codesign.errors import CodesignError, InternalError, ValidationFailed
from codesign.fuzz_models import GENERATION, build_model, describe, random_recipe, recipe_data, smaller
from codesign.layout import RunLayout, read_json, write_json

GOOD = ("exact", "reasoned", "refused")
FAILURES = ("internal error", "reasonless", "contradicted")
SHRINK_BUILDS = 24  # builds the shrinker may spend on one failure


@dataclass
class Outcome:
    """How one model's build ended: `kind` one of GOOD or FAILURES, and the line that says why."""

    kind: str
    detail: str
    seconds: float = 0.0
    where: str = ""  # the first diverging layer's class, or the exception's: the shrinker keeps a failure where it was

    @property
    def signature(self) -> tuple[str, str]:
        return self.kind, self.where

    @property
    def failed(self) -> bool:
        return self.kind in FAILURES


def run_case(recipe: dict, folder: Path, cpp_samples: int = 16, head: str = "host") -> Outcome:
    """Save the recipe's model and data in `folder`, build them to the validate step, and classify the ending; with
    `head` 'firmware', a model's softmax or sigmoid head is built in firmware and its decision judged too."""
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with warnings.catch_warnings():  # Keras's and QKeras's warnings on every model would hide the table
        warnings.simplefilter("ignore")
        outcome = _built(recipe, folder, cpp_samples, head)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _built(recipe: dict, folder: Path, cpp_samples: int, head: str) -> Outcome:
    from codesign.commands import build_run, resolve_build_spec
    from codesign.config import spec_from_dict

    name = "case"
    try:
        _save(recipe, folder)
        in_firmware = "firmware" if head == "firmware" and recipe["head"] != "linear" else None
        spec, name = resolve_build_spec(None, folder / "model.h5", folder / "data.npz", name, None, no_train=True, head=in_firmware)
        data = spec.model_dump(mode="json")
        data["hls"].update(io_type=recipe["io_type"], strategy=recipe["strategy"], reuse_factor=recipe.get("reuse_factor", 1),
                           backend=recipe.get("backend", "Vitis"))
        data["validation"]["cpp_samples"] = cpp_samples
        build_run(spec_from_dict(data), folder / name, lambda _: None, to_step="validate")
        outcome = _judged(RunLayout(folder / name), None)
    except InternalError as error:
        outcome = Outcome("contradicted" if "proof said proven" in str(error) else "internal error", _line(error))
    except ValidationFailed as error:
        outcome = _judged(RunLayout(folder / name), error)
    except CodesignError as error:
        outcome = Outcome("refused", _line(error)) if "\n" not in str(error).strip() else Outcome("internal error", f"a refusal of several lines: {_line(error)}")
    except Exception as error:  # noqa: BLE001 (the fuzzer's job is to find these: each is recorded with its traceback)
        (folder / "traceback.txt").write_text(traceback.format_exc())
        outcome = Outcome("internal error", f"{type(error).__name__}: {_line(error)}", where=type(error).__name__)
    return outcome


def _save(recipe: dict, folder: Path) -> None:
    build_model(recipe).save(folder / "model.h5")
    np.savez(folder / "data.npz", **recipe_data(recipe))
    write_json(folder / "recipe.json", recipe)


def _line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] if text else type(error).__name__


def _judged(layout: RunLayout, error: ValidationFailed | None) -> Outcome:
    """A finished validation: exact (its proof not contradicted), or different with or without a reason."""
    report = read_json(layout.report("validate"))
    proof = report.get("proof") or {}
    layer = report.get("first_diverging_layer") or {}
    if proof.get("status") == "proven" and not report["bit_exact"]:
        return Outcome("contradicted", f"proof says proven while {report['mismatched_samples']} samples differ", where=layer.get("class", ""))
    decision = ((report.get("head") or {}).get("proof") or {}).get("status")
    if error is None:
        return Outcome("exact", f"{report['samples']} samples identical; proof {proof.get('status')}" + (f"; decision {decision}" if decision else ""))
    if layer.get("why"):
        return Outcome("reasoned", f"{layer['name']}: {layer['why']}")
    return Outcome("reasonless", _line(error), where=layer.get("class", ""))


def shrink(recipe: dict, outcome: Outcome, scratch: Path, say: Callable[[str], None], head: str = "host") -> tuple[dict, Outcome]:
    """The smallest recipe found (greedy, one step at a time) that still fails the same way: the same kind of
    failure at the same kind of layer (seed 1314's reasonless ApplyAlpha shrank, by kind alone, to an unrelated
    Dense)."""
    builds = 0
    improved = True
    while improved and builds < SHRINK_BUILDS:
        improved = False
        for candidate in smaller(recipe):
            if builds >= SHRINK_BUILDS:
                break
            builds += 1
            result = run_case(candidate, scratch, head=head)
            if result.signature == outcome.signature:
                recipe, outcome, improved = candidate, result, True
                say(f"    shrunk to {describe(recipe)}")
                break
    return recipe, outcome


def fuzz(count: int, seed: int, out: Path, say: Callable[[str], None], shrink_failures: bool = True, start: int = 0,
         head: str = "host", generation: int = GENERATION) -> list[dict]:
    """Build `count` models of this seed (of the generator's `generation`); one row per model (its recipe, outcome
    and detail); each failure's minimal recipe, model and data under out/failures/. `head` 'firmware': heads in
    firmware, their decisions judged."""
    from codesign.progress import Progress

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with Progress(count, "fuzzed models", "model") as bar:
        for index in range(start, start + count):
            with warnings.catch_warnings():  # Keras warns about unseeded initializers while a recipe is drawn
                warnings.simplefilter("ignore")
                recipe = random_recipe(seed, index, generation)
            outcome = run_case(recipe, out / "scratch", head=head)
            row = {"seed": seed, "index": index, "model": describe(recipe), **asdict(outcome)}
            say(f"{seed:>5} {index:>4}  {outcome.kind:<15} {outcome.seconds:5.1f}s  {describe(recipe)}")
            if outcome.kind != "exact":
                say(f"{'':12}{outcome.detail}")
            if outcome.failed:
                with warnings.catch_warnings():  # the shrinker draws smaller recipes, and Keras warns about their initializers
                    warnings.simplefilter("ignore")
                    minimal, last = shrink(recipe, outcome, out / "scratch", say, head) if shrink_failures else (recipe, outcome)
                case = out / "failures" / f"seed{seed}_{index}"
                run_case(minimal, case, head=head)
                write_json(case / "case.json", {"recipe": minimal, "outcome": asdict(last), "original": recipe})
                row["minimal"] = describe(minimal)
                row["case"] = str(case)
            rows.append(row)
            bar.advance(1, outcome.kind)
    shutil.rmtree(out / "scratch", ignore_errors=True)
    write_json(out / "fuzz.json", {"seed": seed, "count": count, "head": head, "rows": rows, "summary": summary(rows)})
    return rows


def summary(rows: list[dict]) -> dict[str, int]:
    """How many models ended each way (every kind listed, zeros included)."""
    return {kind: sum(row["kind"] == kind for row in rows) for kind in GOOD + FAILURES}


def load_case(path: Path) -> dict:
    """The minimal recipe of a saved failure (case.json, or a folder holding it)."""
    path = Path(path)
    return json.loads((path / "case.json" if path.is_dir() else path).read_text())["recipe"]
