"""Estimate a Keras model or a run under hls settings, and put vendor results beside the estimate."""

from __future__ import annotations

import tempfile
from pathlib import Path

from codesign.config import HLSSpec
from codesign.convert import Candidate
from codesign.errors import ModelError
from codesign.fixed import Fixed
from codesign.estimate.model import estimate_graph
from codesign.parts import part_or_unlisted
from codesign.estimate.vendor import vendor_results

CURRENT_TOOL = "current (Vivado HLS 2020 / Vitis HLS 2023 or later)"  # what an estimate assumes when no tool is named
TOOL_PATTERN = r"(Vitis HLS|Vivado HLS) \d{4}\.\d"  # as a C-synthesis report's header names it
METRICS = ("latency_cycles", "ii", "dsp", "lut", "ff", "bram_18k")
INTERVAL_LABELS = (("dsp", "DSP"), ("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM18"), ("latency_cycles", "cycles"))


def estimate_model(keras_model, hls: HLSSpec, input_type: Fixed | None, log_path: Path, candidate: Candidate | None = None,
                   tool: str | None = None) -> dict:
    """Convert with hls4ml (nothing written, nothing compiled) and estimate every layer, as `tool` ('Vitis HLS 2021.1')
    would synthesize it (None: a current tool of the backend)."""
    graph, candidate = convert_for_estimate(keras_model, hls, input_type, log_path, candidate)
    part, unlisted = part_or_unlisted(hls.part)  # outside the table only for an imported project (config.py)
    report = estimate_graph(graph, part, hls.clock_ns, hls.io_type, hls.backend, tool=tool)
    return with_settings(report, hls, candidate, tool, unlisted)


def convert_for_estimate(keras_model, hls: HLSSpec, input_type: Fixed | None, log_path: Path, candidate: Candidate | None = None):
    """hls4ml's graph of the model under `hls` and the candidate it converted with.

    With no candidate (a model file, not a run): the policy's candidates in order, the first that converts (the
    bit-exact policy's verification needs data and a compile, which an estimate does not make).
    """
    from codesign.convert import BIT_EXACT_CANDIDATES, build_graph, policy_candidate

    if candidate is not None:
        candidates = [candidate]
    else:
        candidates = list(BIT_EXACT_CANDIDATES) if hls.precision == "bit-exact" else [policy_candidate(hls.precision, hls.hls4ml_config)]
    with tempfile.TemporaryDirectory(prefix="codesign-estimate-") as scratch:
        for index, candidate in enumerate(candidates):
            try:
                return build_graph(keras_model, hls, Path(scratch), input_type, log_path, candidate), candidate
            except ModelError:
                if index == len(candidates) - 1:
                    raise


def with_settings(report: dict, hls: HLSSpec, candidate: Candidate | None, tool: str | None, unlisted: str | None = None) -> dict:
    """The settings an estimate was made under, as its report records them."""
    if unlisted:
        report["notes"].insert(0, unlisted)
    report["settings"] = {
        "backend": hls.backend,
        "part": hls.part,
        "strategy": hls.strategy,
        "reuse_factor": hls.reuse_factor,
        "precision": hls.precision,
        "conversion": candidate.name if candidate is not None else "as configured in the project",
        "tool": tool_label(tool),
    }
    return report


def tool_label(tool: str | None) -> str:
    """The tool an estimate assumes, as the reports show it."""
    return tool or CURRENT_TOOL


def add_vendor(report: dict, hls_dir: Path) -> dict:
    """Vendor reports found in the project, and per metric the estimate / vendor ratio."""
    vendor = vendor_results(hls_dir)
    report["vendor"] = vendor
    report["vs_vendor"] = {
        kind: {
            metric: {"estimate": report["total"][metric], "vendor": found[metric], "ratio": _ratio(report["total"][metric], found[metric])}
            for metric in METRICS
            if metric in found
        }
        for kind, found in vendor.items()
        if kind != "unreadable"
    }
    return report


def with_interval(value: int, label: str, bounds: list[int] | None) -> str:
    """'1,290 DSP (900-1,900)', or '1,290 DSP' where the interval is the value itself."""
    if not bounds or list(bounds) == [value, value]:
        return f"{value:,} {label}"
    return f"{value:,} {label} ({bounds[0]:,}-{bounds[1]:,})"


def _ratio(estimate: float, actual: float) -> float | None:
    return round(estimate / actual, 3) if actual else None


def fits_line(utilization: dict) -> str:
    """'fits: yes' or 'fits: no (lut 456%, ff 120%)' at the point estimate."""
    over = [f"{key} {value}%" for key, value in utilization.items() if value is not None and value > 100]
    return f"fits: no ({', '.join(over)})" if over else "fits: yes (at the point estimate)"


def format_estimate(report: dict) -> list[str]:
    """Per-layer table, totals, utilization and vendor comparison as terminal lines."""
    header = ("layer", "type", "DSP", "LUT", "FF", "BRAM18", "cycles", "II")
    rows = [
        (layer["name"], layer["type"], layer["dsp"], layer["lut"], layer["ff"], layer["bram_18k"], layer["latency_cycles"], layer["ii"])
        for layer in report["layers"]
        if layer["dsp"] or layer["lut"] or layer["latency_cycles"]
    ]
    total = report["total"]
    rows.append(("total", "", total["dsp"], total["lut"], total["ff"], total["bram_18k"], total["latency_cycles"], total["ii"]))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).rjust(width) if i > 1 else str(cell).ljust(width) for i, (cell, width) in enumerate(zip(row, widths))) for row in [header, *rows]]
    part = report["part"]
    used = ", ".join(f"{key} {value}%" for key, value in report["utilization"].items() if value is not None)
    lines.append(f"{part['name']} ({part['board']}): {used}" + (f"; {fits_line(report['utilization'])}" if used else ""))
    bounds = report.get("interval") or {}
    lines.append(
        "estimated: " + ", ".join(with_interval(total[key], label, bounds.get(key)) for key, label in INTERVAL_LABELS)
        + " (interval: where the vendor figure fell for at least 80% of the calibration rows predicted without their source, docs/estimation.md)"
    )
    tool = (report.get("settings") or {}).get("tool", CURRENT_TOOL)
    built_by = "" if tool == CURRENT_TOOL else f" on {tool}"
    lines.append(f"at {report['clock_ns']} ns{built_by}: latency {total['latency_ns']:,.1f} ns, throughput {total['throughput_per_s']:,.0f} inferences/s")
    for kind, metrics in report.get("vs_vendor", {}).items():
        shown = ", ".join(f"{metric} {value['estimate']}/{value['vendor']}" for metric, value in metrics.items())
        lines.append(f"vs {kind} report (estimate/vendor): {shown}")
    return lines + [f"note: {note}" for note in report.get("notes", [])]
