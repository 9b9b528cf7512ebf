"""Everything a report shows, computed once from a run directory, as plain JSON-ready data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from codesign.fixed import Fixed
from codesign.layout import RunLayout
from codesign.records import STEP_RECORDS, Manifest

SCHEMA_VERSION = 1
PROFILE_SAMPLES = 256
STEP_REPORTS = ("train", "convert", "estimate", "compile", "validate", "rtl", "bench")
VALIDATION_KEYS = (
    "bit_exact", "samples", "mismatched_samples", "max_abs_diff", "argmax_agreement", "accuracy", "first_diverging_layer",
    "policy", "head", "firmware_head", "emulation_samples_per_s", "task", "task_note", "error", "reference", "input_type", "candidates",
    "computed_in_float", "proof", "outputs",
)


def collect(run_dir: Path) -> dict:
    """The report data of one run: model, validation, estimate, comparison, precision profile, environment."""
    layout = RunLayout(Path(run_dir))
    reports = _step_reports(layout)
    data = summarize(layout, reports)
    conversion = reports["convert"] or {}
    manifest = Manifest.read_if_exists(layout.manifest) or Manifest()
    data |= {
        "model": _model_section(layout, conversion, reports["train"] or {}),
        "rtl": _rtl_section(reports["rtl"] or {}, reports["estimate"] or {}),
        "precision_profile": precision_profile(layout, conversion),
        "environment": {
            "versions": manifest.versions,
            **data.pop("settings"),
            "git_commit": _git_commit(),
            "spec_digest": manifest.spec_digest,
        },
    }
    return data


def summarize(layout: RunLayout, reports: dict | None = None) -> dict:
    """The part of the report a glance needs (verdict, validation, comparison, estimate), read from the step reports
    alone: no model is loaded, so a notebook shows it at once."""
    import yaml

    reports = reports or _step_reports(layout)
    validation = reports["validate"] or {}
    conversion = reports["convert"] or {}
    data = {
        "schema_version": SCHEMA_VERSION,
        "run": yaml.safe_load(layout.config.read_text()).get("name") or layout.root.name,
        "warning": validation.get("warning") or (reports["train"] or {}).get("warning"),
        "validation": {key: validation.get(key) for key in VALIDATION_KEYS},
        "estimate": estimate_section(reports["estimate"] or {}),
        "comparison": (reports["bench"] or {}).get("table", []),
        "gpu": (reports["bench"] or {}).get("gpu"),
        "settings": {key: conversion.get(key) for key in ("part", "clock_ns", "backend", "io_type", "strategy", "reuse_factor")},
    }
    data["verdict"] = verdict(data)
    return data


def estimate_section(estimate: dict) -> dict:
    """What a report shows of estimate.json: totals, intervals, utilization, the part, the layers that cost something."""
    return {
        "total": estimate.get("total"),
        "interval": estimate.get("interval"),
        "utilization": estimate.get("utilization"),
        "part": estimate.get("part"),
        "layers": [layer for layer in estimate.get("layers", []) if layer["lut"] or layer["dsp"] or layer["latency_cycles"]],
        "vs_vendor": estimate.get("vs_vendor", {}),
        "notes": estimate.get("notes", []),
        "versus_hls4ml_default": estimate.get("versus_hls4ml_default"),
        "tool": (estimate.get("settings") or {}).get("tool"),  # the tool the estimate assumed (its binding and cycles)
    }


ESTIMATE_METRICS = (("dsp", "DSP"), ("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM18"), ("latency_cycles", "latency (cycles)"), ("ii", "II (cycles)"))


def estimate_differences(baseline: dict, estimate: dict) -> list[dict]:
    """A what-if beside the run's own estimate, per metric: both totals, their ratio, both utilizations, and whether
    they differ."""
    rows = []
    for key, label in ESTIMATE_METRICS:
        before, after = (baseline.get("total") or {}).get(key), (estimate.get("total") or {}).get(key)
        rows.append({
            "metric": label,
            "run": before,
            "what_if": after,
            "ratio": round(after / before, 3) if before and after is not None else None,
            "utilization": [(baseline.get("utilization") or {}).get(key), (estimate.get("utilization") or {}).get(key)],
            "differs": before != after,
        })
    return rows


def _step_reports(layout: RunLayout) -> dict:
    """Each step's report, read through its model (None where the step has not run), as plain data for the pages."""
    records = {step: STEP_RECORDS[step].read_if_exists(layout.report(step)) for step in STEP_REPORTS}
    return {step: record.dump() if record is not None else None for step, record in records.items()}


def _rtl_section(rtl: dict, estimate: dict) -> dict | None:
    """The RTL path's result with each kernel's estimated LUTs beside its yosys count (None when the step was off)."""
    if not rtl.get("enabled"):
        return None
    estimated = {layer["name"]: layer["lut"] for layer in estimate.get("layers", [])}
    layers = [{**layer, "estimate_lut": estimated.get(layer["name"])} for layer in rtl["layers"]]
    return {key: rtl.get(key) for key in ("bit_exact", "samples", "mismatched_samples", "total", "family", "versions", "note", "scaled")} | {"layers": layers}


def _model_section(layout: RunLayout, conversion: dict, training: dict) -> dict:
    """Layers with output shapes, parameter counts, sparsity and the hls4ml types the firmware uses."""
    from codesign.model import load_keras_model

    model = load_keras_model(layout.qkeras_model)
    types = {row["name"]: row for row in conversion.get("layers", [])}
    layers = []
    for layer in model.layers:
        weights = [w for w in layer.get_weights() if w.ndim > 1]
        zeros = sum(int((w == 0).sum()) for w in weights)
        size = sum(w.size for w in weights)
        firmware = types.get(layer.name, {})
        layers.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": list(layer.output_shape[1:]) if isinstance(layer.output_shape, tuple) else None,
                "parameters": int(layer.count_params()),
                "sparsity": round(zeros / size, 4) if size else None,
                "hls_types": firmware.get("types", {}),
                "reuse_factor": firmware.get("reuse_factor"),
                "strategy": firmware.get("strategy"),
            }
        )
    return {
        "parameters": int(model.count_params()),
        "weight_sparsity": training.get("weight_sparsity"),
        "conversion": conversion.get("conversion"),
        "layers": layers,
    }


def precision_profile(layout: RunLayout, conversion: dict) -> list[dict]:
    """Per layer: the range of its weights and of its outputs on test data, beside its fixed-point type's range."""
    import yaml

    from codesign.config import spec_from_dict
    from codesign.data import load_dataset
    from codesign.model import load_keras_model
    from codesign.validate import keras_layer_outputs

    model = load_keras_model(layout.qkeras_model)
    spec = spec_from_dict(yaml.safe_load(layout.config.read_text()), source=str(layout.config))
    x = load_dataset(spec.dataset, seed=spec.training.seed).x_test[:PROFILE_SAMPLES]
    outputs = keras_layer_outputs(model, x)
    types = {row["name"]: row.get("types", {}) for row in conversion.get("layers", [])}
    rows = []
    for layer in model.layers:
        kernel = _firmware_kernel(layer)
        layer_types = types.get(layer.name, {})
        if kernel is not None:
            rows.append(_range_row(layer.name, "weights", np.abs(kernel), layer_types.get("weight")))
        if layer.name in outputs:
            rows.append(_range_row(layer.name, "output", np.abs(outputs[layer.name]), layer_types.get("result")))
    return rows


def _firmware_kernel(layer) -> np.ndarray | None:
    """The kernel as the firmware holds it: through the layer's QKeras quantizer when it has one."""
    kernel = next((w for w in layer.get_weights() if w.ndim > 1), None)
    quantizer = getattr(layer, "kernel_quantizer_internal", None) or getattr(layer, "depthwise_quantizer_internal", None)
    if kernel is None or quantizer is None:
        return kernel
    return np.asarray(quantizer(kernel.astype(np.float32)))


def _range_row(layer: str, what: str, magnitudes: np.ndarray, type_text: str | None) -> dict:
    """Largest and smallest nonzero magnitude vs the type's largest value and resolution."""
    nonzero = magnitudes[magnitudes > 0]
    limits = _type_limits(type_text)
    largest = float(magnitudes.max()) if magnitudes.size else 0.0
    return {
        "layer": layer,
        "what": what,
        "max_abs": largest,
        "min_abs_nonzero": float(nonzero.min()) if nonzero.size else None,
        "type": type_text,
        "type_max": limits[0] if limits else None,
        "type_lsb": limits[1] if limits else None,
        "overflows": bool(limits and largest > limits[0]),
    }


def _type_limits(text: str | None) -> tuple[float, float] | None:
    """'fixed<16,6,...>' / 'ufixed<8,3>' / 'int<4>' -> (largest value, resolution)."""
    fixed = Fixed.parse(text or "")
    return (fixed.largest, fixed.lsb) if fixed else None


def _git_commit() -> str | None:
    """The commit of the project the report is made in (the current directory's git checkout), if any."""
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def verdict(data: dict) -> dict:
    """The three answers at a glance: fits on the part? bit-exact? how fast against the CPU?"""
    utilization = (data["estimate"] or {}).get("utilization") or {}
    worst = max((value for value in utilization.values() if value is not None), default=None)
    fpga = next((row for row in data["comparison"] if row["target"].startswith("FPGA")), None)
    return {
        "fits": None if worst is None else worst <= 100,
        "worst_utilization_percent": worst,
        "bit_exact": data["validation"].get("bit_exact"),
        "latency_speedup_vs_cpu": fpga.get("latency_speedup") if fpga else None,
        "throughput_speedup_vs_cpu": fpga.get("throughput_speedup") if fpga else None,
    }


def compare_runs(runs: list[dict]) -> dict:
    """Several runs side by side: the key numbers per run, and which differ from the first run."""
    keys = [
        ("bit-exact", lambda d: d["validation"].get("bit_exact")),
        ("mismatched samples", lambda d: d["validation"].get("mismatched_samples")),
        ("accuracy (QKeras)", lambda d: (d["validation"].get("accuracy") or {}).get("qkeras")),
        ("accuracy (emulation)", lambda d: (d["validation"].get("accuracy") or {}).get("emulation")),
        ("parameters", lambda d: d["model"]["parameters"]),
        ("DSP", lambda d: (d["estimate"]["total"] or {}).get("dsp")),
        ("LUT", lambda d: (d["estimate"]["total"] or {}).get("lut")),
        ("FF", lambda d: (d["estimate"]["total"] or {}).get("ff")),
        ("BRAM18", lambda d: (d["estimate"]["total"] or {}).get("bram_18k")),
        ("latency (cycles)", lambda d: (d["estimate"]["total"] or {}).get("latency_cycles")),
        ("II (cycles)", lambda d: (d["estimate"]["total"] or {}).get("ii")),
        ("io type", lambda d: d["environment"]["io_type"]),
        ("strategy", lambda d: d["environment"]["strategy"]),
        ("reuse factor", lambda d: d["environment"]["reuse_factor"]),
    ]
    rows = []
    for label, get in keys:
        values = [get(run) for run in runs]
        rows.append({"metric": label, "values": values, "differs": [value != values[0] for value in values]})
    return {"schema_version": SCHEMA_VERSION, "runs": [run["run"] for run in runs], "rows": rows, "details": runs}
