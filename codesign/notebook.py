"""Rich display in Jupyter: a run, its validation, an estimate (and a what-if beside the run's own), the full report and
a comparison of runs, each rendered from the report's own sections (report/templates/sections.html.j2), self-contained
(inline CSS and PNG, no script, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

from codesign.layout import RunLayout
from codesign.report.data import collect, compare_runs, estimate_differences, estimate_section, summarize
from codesign.report.render import FORMATS, number, render_html, write_reports

FRAGMENT = "fragment.html.j2"


def run_html(run_dir: Path) -> str:
    """A run at a glance: the verdict, validation, CPU/GPU/FPGA comparison and the estimate with its plots."""
    data = summarize(RunLayout(Path(run_dir))) | {"path": str(run_dir)}
    return render_html(data, "run_card.html.j2", FRAGMENT)


def validation_html(validation: dict) -> str:
    """A validation result: over which samples it is bit-exact, accuracies, the first diverging layer."""
    return render_html({"validation": validation}, "validation_card.html.j2", FRAGMENT)


def estimate_html(estimate: dict, baseline: dict | None = None, changed: dict | None = None) -> str:
    """An estimate with its intervals, utilization and plots; a what-if shows the run's own estimate beside it."""
    data = {
        "estimate": estimate_section(estimate),
        "changed": changed or {},
        "differences": estimate_differences(baseline, estimate) if baseline else None,
    }
    return render_html(data, "estimate_card.html.j2", FRAGMENT)


def estimate_line(estimate: dict) -> str:
    """'1,389 DSP (1,322-1,389), 134,805 LUT (...), ..., 100 cycles (95-251) on xcu250': the totals in one line."""
    from codesign.estimate.run import INTERVAL_LABELS, with_interval

    total, bounds = estimate.get("total") or {}, estimate.get("interval") or {}
    parts = [with_interval(total[key], label, bounds.get(key)) for key, label in INTERVAL_LABELS]
    part = (estimate.get("part") or {}).get("name")
    return ", ".join(parts) + (f" on {part}" if part else "")


def validation_line(validation: dict) -> str:
    """'bit-exact on all 360 samples' or 'not bit-exact: 12 of 360 samples differ, first at layer fc1'."""
    samples = number(validation.get("samples"))
    proof = validation.get("proof") or {}
    if validation.get("bit_exact") and proof.get("status") == "proven":
        return f"bit-exact, proven for {proof['domain']['text']}"
    if validation.get("bit_exact"):
        beyond = {"counterexample": f"; not for every input: counterexample in {proof.get('counterexample')}",
                  "unproven": "; not proven for every input"}.get(proof.get("status"), "")
        return f"bit-exact on all {samples} samples checked{beyond}"
    first = validation.get("first_diverging_layer")
    where = f", first at layer {first['name']}" if first else ""
    return f"not bit-exact: {number(validation.get('mismatched_samples'))} of {samples} samples differ{where}"


class Report:
    """A run's full report, computed once from its run directory: shown inline in a notebook, saved as the
    report.html, summary.md and summary.json that `codesign report` writes."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir)
        self.data = collect(self.path)

    def __repr__(self) -> str:
        return f"Report({self.data['run']!r}: {validation_line(self.data['validation'])}; {estimate_line(self.data['estimate'])})"

    def _repr_html_(self) -> str:
        return render_html(self.data, "run.html.j2", FRAGMENT)

    def html(self) -> str:
        """The report as one self-contained HTML page (what report.html holds)."""
        return render_html(self.data, "run.html.j2")

    def save(self, out_dir: str | Path | None = None, formats: tuple[str, ...] = FORMATS) -> list[Path]:
        """Write report.html, summary.md and summary.json into out_dir (default: the run's reports/)."""
        return write_reports(self.data, Path(out_dir) if out_dir else RunLayout(self.path).reports_dir, formats)


class Comparison:
    """Runs side by side, differences from the first highlighted: what `codesign report RUN_A RUN_B` writes."""

    def __init__(self, run_dirs: list[Path]):
        self.paths = [Path(path) for path in run_dirs]
        self.data = compare_runs([collect(path) for path in self.paths])

    def __repr__(self) -> str:
        differing = [row["metric"] for row in self.data["rows"] if any(row["differs"])]
        return f"Comparison({', '.join(self.data['runs'])}: differ in {', '.join(differing) or 'nothing shown'})"

    def _repr_html_(self) -> str:
        return render_html(self.data, "compare.html.j2", FRAGMENT)

    def save(self, out_dir: str | Path = "codesign_comparison", formats: tuple[str, ...] = FORMATS) -> list[Path]:
        """Write comparison.html, comparison.md and comparison.json into out_dir."""
        return write_reports(self.data, Path(out_dir), formats, comparison=True)
