"""Render report data (computed once in data.py) as JSON, Markdown and a self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from codesign.bench import duration
from codesign.head import head_line
from codesign.layout import write_atomic
from codesign.records import RunComparison, RunSummary, SweepSummary
from codesign.report import plots

FORMATS = ("html", "md", "json")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("codesign.report", "templates"), undefined=StrictUndefined, autoescape=False
    )
    environment.filters["num"] = number
    environment.filters["pct"] = lambda value: "-" if value is None else f"{value:.1f}%"
    environment.filters["duration"] = duration
    environment.filters["yesno"] = lambda value: "-" if value is None else ("yes" if value else "NO")
    environment.filters["ranged"] = ranged
    environment.filters["head"] = head_text
    environment.filters["decision"] = lambda validation: head_line(validation["head"])
    return environment


def head_text(validation: dict) -> str:
    """'softmax on the host', or in firmware with its lookup tables' agreement and error; 'none' without a head."""
    head, tables = validation.get("head"), validation.get("firmware_head")
    if not head:
        return "none"
    text = f"{head['function']} on the {head['runs_on']}"
    if head.get("implementation"):
        text += f", {head['implementation']}" + (f" ({head['table_size']:,}-entry tables)" if head.get("table_size") else "")
    if tables:
        text += f" ({tables['decision']} agreement {tables['agreement']:.4f}, max abs diff {tables['max_abs_diff']:.3g})"
    return text


def ranged(value, bounds) -> str:
    """'1,290 (900-1,900)': an estimate with its interval (docs/estimation.md), or the number alone without one."""
    if value is None:
        return "-"
    if not bounds or list(bounds) == [value, value]:
        return number(value)
    return f"{number(value)} ({number(bounds[0])}-{number(bounds[1])})"


def number(value) -> str:
    """Thousands separators for ints, 4 significant decimals for floats, '-' for missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def render_markdown(data: dict, template: str = "run.md.j2") -> str:
    return _environment().get_template(template).render(d=data)


def render_html(data: dict, template: str = "run.html.j2", layout: str = "base.html.j2") -> str:
    """One HTML page (layout base.html.j2) or a fragment for a notebook (fragment.html.j2): CSS inline, plots embedded
    as PNG data URIs, no script, nothing fetched."""
    environment = _environment()
    environment.autoescape = True
    return environment.get_template(template).render(d=data, images=report_images(data), layout=layout)


def report_images(data: dict) -> dict:
    """The plots a run's report shows, for the sections its data has (base64 PNG, None where nothing to draw)."""
    images = {}
    if data.get("estimate"):
        images["resources"] = plots.resources_per_layer(data["estimate"])
        images["latency"] = plots.latency_per_layer(data["estimate"])
    if "precision_profile" in data:
        images["precision"] = plots.precision_profile(data["precision_profile"])
    return images


def write_reports(data: dict, out_dir: Path, formats: tuple[str, ...], comparison: bool = False) -> list[Path]:
    """Write summary.json / summary.md / report.html (or comparison.*) into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "comparison" if comparison else "summary"
    html_name = "comparison.html" if comparison else "report.html"
    suffix = "compare" if comparison else "run"
    written = []
    if "json" in formats:
        path = out_dir / f"{stem}.json"
        (RunComparison if comparison else RunSummary)(**data).write(path)
        written.append(path)
    if "md" in formats:
        path = out_dir / f"{stem}.md"
        write_atomic(path, render_markdown(data, f"{suffix}.md.j2"))
        written.append(path)
    if "html" in formats:
        path = out_dir / html_name
        write_atomic(path, render_html(data, f"{suffix}.html.j2"))
        written.append(path)
    return written


SWEEP_PLOTS = (("lut", "LUT"), ("dsp", "DSP"), ("latency_cycles", "latency (cycles)"))


def write_sweep_reports(summary: dict, out_dir: Path) -> list[Path]:
    """sweep.json, sweep.md, sweep.html and one PNG per plot (accuracy vs LUT, DSP, latency)."""
    images = {}
    written = []
    for metric, label in SWEEP_PLOTS:
        plot = plots.sweep_scatter(summary["points"], metric, label)
        if plot:
            images[metric] = plot[0]
            path = out_dir / f"accuracy_vs_{metric}.png"
            path.write_bytes(plot[1])
            written.append(path)
    path = out_dir / "sweep.json"
    SweepSummary(**summary).write(path)
    written.append(path)
    path = out_dir / "sweep.md"
    write_atomic(path, render_markdown(summary, "sweep.md.j2"))
    written.append(path)
    environment = _environment()
    environment.autoescape = True
    path = out_dir / "sweep.html"
    write_atomic(path, environment.get_template("sweep.html.j2").render(d=summary, images=images))
    written.append(path)
    return written
