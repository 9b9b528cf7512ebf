"""The Python API: build a run or open one, and check its firmware from a user's own code and tests.

`import codesign` stays light: TensorFlow and hls4ml are imported only when a model is loaded or built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from codesign.errors import RunDirError
from codesign.layout import RunLayout
from codesign.outputs import predicted
from codesign.pipeline import steps_through
from codesign.quiet import quiet_dependencies
from codesign.records import EmulationMeta, Manifest
from codesign.results import EstimateResult, ValidationResult


@quiet_dependencies
def build(
    spec: str | Path | None = None,
    *,
    model: str | Path | None = None,
    data: str | Path | None = None,
    name: str | None = None,
    precision: str | None = None,
    no_train: bool = False,
    head: str | None = None,
    from_step: str | None = None,
    to_step: str | None = None,
    output_root: str | Path = "hls_projects",
    say: Callable[[str], None] = print,
) -> "Run":
    """What `codesign build` does, with the same arguments; steps whose inputs did not change are skipped."""
    from codesign.commands import build_run, resolve_build_spec

    resolved, run_name = resolve_build_spec(
        Path(spec) if spec is not None else None,
        Path(model) if model is not None else None,
        Path(data) if data is not None else None,
        name,
        precision,
        no_train,
        head,
        say,
    )
    run_dir = Path(output_root) / run_name
    build_run(resolved, run_dir, say, from_step, to_step)
    return Run(run_dir, require_complete=to_step is None)


@quiet_dependencies
def import_project(
    project: str | Path,
    name: str,
    *,
    data: str | Path | None = None,
    output_root: str | Path = "hls_projects",
    domain: list | tuple | None = None,
    say: Callable[[str], None] = print,
) -> "Run":
    """What `codesign import` does: a run of an existing hls4ml project folder, converted as its config says, its
    exactness proven over `domain` ([low, high]; default the input type)."""
    from codesign.commands import import_run

    run_dir = Path(output_root) / name
    import_run(Path(project), name, Path(data) if data is not None else None, run_dir, say, _ranges(domain))
    return Run(run_dir)


@quiet_dependencies
def repair_project(
    project: str | Path,
    out: str | Path,
    *,
    data: str | Path | None = None,
    domain: list | tuple | None = None,
    say: Callable[[str], None] = print,
) -> dict:
    """What `codesign repair` does: `project` made exact into the new folder `out`, only types changed; the report
    (out/repair.json: changes and why, validation, proof and estimate before and after)."""
    from codesign.project_repair import repair_project as repair

    return repair(Path(project), Path(out), Path(data) if data is not None else None, say, _ranges(domain))


@quiet_dependencies
def estimate_design(target: str | Path, tool: str | None = None, **options) -> EstimateResult:
    """What `codesign estimate TARGET` does: an hls4ml project folder as its config sets it (with the vendor's report
    beside it, when there is one), a run directory, or a Keras/QKeras model file with hls settings as keywords
    (part=..., io_type=..., reuse_factor=...); `tool` ('Vitis HLS 2021.1'): as that tool would synthesize it."""
    from codesign.commands import estimate_target

    return EstimateResult(**estimate_target(Path(target), options, None, lambda _: None, tool))


@quiet_dependencies
def compare(*runs: "Run | str | Path"):
    """Runs side by side with their differences highlighted (codesign.notebook.Comparison): what
    `codesign report RUN_A RUN_B` writes, displayed inline in a notebook; `.save(out_dir)` writes it."""
    from codesign.notebook import Comparison

    if len(runs) < 2:
        raise ValueError("compare takes two runs or more")
    return Comparison([run.path if isinstance(run, Run) else Path(run) for run in runs])


def _ranges(domain) -> list | None:
    """A domain as the spec holds it: [low, high], or a list of [low, high] pairs (numpy arrays and tuples accepted)."""
    return None if domain is None else np.asarray(domain, dtype=float).tolist()


VALIDATED = steps_through("validate")  # the steps a usable run has finished


class Run:
    """A run directory: its spec and manifest, its firmware's emulation, its models, validation and estimate."""

    def __init__(self, path: str | Path, require_complete: bool = True):
        """Open a run whose firmware is built and validated (its later steps, bench and report, may be stale)."""
        self.path = Path(path)
        self._layout = RunLayout(self.path)
        if not self._layout.config.exists() or not self._layout.manifest.exists():
            raise RunDirError(f"{self.path}: not a run directory (no config.yaml/manifest.json); build it with codesign.build first")
        steps = self.manifest.get("steps", {})
        unfinished = [step for step in VALIDATED if steps.get(step, {}).get("status") != "ok"]
        if require_complete and unfinished:
            raise RunDirError(
                f"{self.path}: the build did not finish (step {', '.join(unfinished)} not done); "
                "build it again with codesign.build or 'codesign build'"
            )
        self._models: dict[Path, object] = {}
        self._whatifs: dict[tuple, object] = {}

    def __repr__(self) -> str:
        """Run('hls_projects/digits_cnn'): bit-exact on all 360 samples checked; 1,389 DSP (...), ... on xcu250."""
        from codesign.notebook import estimate_line, validation_line

        found = [kind.read_if_exists(self._layout.report(step)) for kind, step in ((ValidationResult, "validate"), (EstimateResult, "estimate"))]
        said = [line(report.dump()) for line, report in zip((validation_line, estimate_line), found) if report]
        return f"Run({str(self.path)!r})" + (f": {'; '.join(said)}" if said else "")

    @quiet_dependencies
    def _repr_html_(self) -> str:
        from codesign.notebook import run_html

        return run_html(self.path)

    @quiet_dependencies
    def report(self):
        """The run's full report (codesign.notebook.Report): displayed inline in a notebook, `.save()` writes
        report.html, summary.md and summary.json."""
        from codesign.notebook import Report

        return Report(self.path)

    @property
    def spec(self):
        """The resolved spec the run was built with (codesign.config.Spec)."""
        from codesign.config import spec_from_dict

        return spec_from_dict(yaml.safe_load(self._layout.config.read_text()), source=str(self._layout.config))

    @property
    def manifest(self) -> dict:
        """manifest.json: steps, their status, seconds and input digests, the stack's versions."""
        return Manifest.read(self._layout.manifest).dump()

    @quiet_dependencies
    def emulate(self, x) -> np.ndarray:
        """The firmware's outputs on x, one row per sample (float64, exact): the vectorized emulator where it models
        every layer (checked against the compiled C++ emulation on the first samples, unless the run's validation
        found both identical on this library), else the C++ emulation."""
        from codesign.emulate import firmware_outputs

        if not self._layout.library.exists():
            raise RunDirError(f"{self.path}: the emulation is not compiled; build the run to its compile step first")
        return firmware_outputs(self._layout, self._samples(x))

    @quiet_dependencies
    def predict_qkeras(self, x) -> np.ndarray:
        """The quantized model's outputs on x (the logits; the model the firmware must equal; several side by side)."""
        return predicted(self._model(self._layout.qkeras_model), self._samples(x))

    @quiet_dependencies
    def predict_float(self, x) -> np.ndarray | None:
        """The float twin's outputs on x; None for an imported model, which has no twin."""
        if not self._layout.float_model.exists():
            return None
        return predicted(self._model(self._layout.float_model), self._samples(x))

    @quiet_dependencies
    def validate(self, x=None, y=None, domain=None) -> ValidationResult:
        """The firmware against the model on every output of every sample: on x (labels y optional), or on the run's
        own test set (its validate step, rerun only when its inputs changed), with its proof over every input of the
        run's domain; `domain=[low, high]` (or one pair per input value) makes that the run's domain and proves it."""
        if x is not None and domain is not None:
            raise ValueError("validate(x) compares the samples given; validate(domain=...) proves over a domain: one at a time")
        if domain is not None:
            from codesign.commands import validate_run

            return ValidationResult(**validate_run(self.path, lambda _: None, _ranges(domain)))
        if x is None:
            self._bring_up_to("validate")
            return ValidationResult.read(self._layout.report("validate"))
        from codesign.emulate import run_emulation
        from codesign.validate import compare_with_model, firmware_logits

        x = self._samples(x)
        spec = self.spec
        if spec.hls.head == "firmware":  # judged on the logits, traced out of the layer feeding the head
            traced = run_emulation(self._layout.library, self._layout.emulation_meta, x, lambda _: None, trace=True)
            logits = firmware_logits(self._layout, spec, traced)
        else:
            from codesign.emulate import CROSS_CHECK_SAMPLES, firmware_outputs

            logits = firmware_outputs(self._layout, x, CROSS_CHECK_SAMPLES)  # new data: the C++ emulation checks its first samples
        report, reference = compare_with_model(self._layout, spec, x, None if y is None else np.asarray(y), logits, self._model)
        if spec.hls.head == "firmware":  # and by the decision it outputs
            from codesign.head import decisions_on_samples

            report["head"] = {**report["head"], **decisions_on_samples(report["head"]["function"], traced.outputs, reference)}
        return ValidationResult(**report)

    @quiet_dependencies
    def estimate(self, tool: str | None = None, **what_if) -> EstimateResult:
        """Resources and latency of the run's design; with hls settings as keywords (reuse_factor=4, part=...), of
        the same converted model with only those changed; with `tool` ('Vivado HLS 2019.2'), as that tool would
        synthesize it."""
        self._bring_up_to("estimate")
        own = EstimateResult.read(self._layout.report("estimate"))
        if what_if or tool:
            from codesign.commands import estimate_target
            from codesign.config import hls_from_dict
            from codesign.estimate.run import add_vendor
            from codesign.estimate.whatif import rebuilt_by

            changed = {**what_if, **({"tool": tool} if tool else {})}
            rebuilt = rebuilt_by(self.spec.hls, what_if)
            if rebuilt:  # what hls4ml builds changes: convert again (not the run's design first), and say so
                report = estimate_target(self.path, what_if, None, lambda _: None, tool)
                report.setdefault("notes", []).append(f"converted again: a change of {', '.join(rebuilt)} changes the layers hls4ml builds")
            else:
                report = add_vendor(self._whatif(tool).estimate(hls_from_dict({**self.spec.hls.model_dump(mode="json"), **what_if}, source="what-if")),
                                    self._layout.hls_dir)
            return EstimateResult.what_if(report, own.dump(), changed)
        return own

    @quiet_dependencies
    def fit(self, part: str, io_type: str | None = None, **goal):
        """Per-layer strategies and reuse factors that fit `part` (keywords: max_utilization=0.8, max_latency_cycles,
        min_throughput, clock_ns, strategy, optimistic, objective), fastest first, in `io_type` or (when nothing fits in
        the run's) the other: a FitResult with `.hls` (the settings), `.layer_settings()`, `.report` (their estimate)
        and `.frontier` (docs/fit.md). NothingFits (a SpecError) says why when no setting does."""
        from codesign.fit import Goal
        from codesign.fit_target import fit_in

        self._bring_up_to("estimate")
        return fit_in(lambda chosen: self._whatif(None, chosen), self.spec.hls.io_type, io_type, Goal(part=part, **goal), lambda _: None)

    def _whatif(self, tool: str | None, io_type: str | None = None):
        """The run's design converted once (per tool and io type), for what-ifs in milliseconds."""
        from codesign.fit_target import run_whatif

        key = (tool, io_type or self.spec.hls.io_type)
        if key not in self._whatifs:
            self._whatifs[key] = run_whatif(self.spec, self._layout, self.spec.hls.model_copy(update={"io_type": key[1]}), tool)
        return self._whatifs[key]

    def _bring_up_to(self, step: str) -> None:
        """Run the steps up to this one that are not up to date (none, for an unchanged run): nothing goes stale."""
        from codesign.commands import bring_up_to

        bring_up_to(self.spec, self._layout, step)

    def _model(self, path: Path):
        if path not in self._models:
            from codesign.model import load_keras_model

            self._models[path] = load_keras_model(path)
        return self._models[path]

    def _samples(self, x) -> np.ndarray:
        """x as float32 samples of the model's input shape; a clear error naming both shapes otherwise."""
        x = np.asarray(x, dtype=np.float32)
        expected = tuple(EmulationMeta.read(self._layout.emulation_meta).input_shapes[0])
        if x.shape[1:] != expected and x.shape[1:] != (int(np.prod(expected)),):
            raise ValueError(f"{self.path}: the firmware takes samples of shape {expected}, got an array of shape {x.shape}")
        return x
