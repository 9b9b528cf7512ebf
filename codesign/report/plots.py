"""matplotlib figures for the HTML report, returned as base64 PNG so the page stays one self-contained file."""

from __future__ import annotations

import base64
import io

import numpy as np

from codesign.pareto import pareto_front
from codesign.quiet import quiet_dependencies

RESOURCES = (("lut", "LUT"), ("ff", "FF"), ("dsp", "DSP"), ("bram_18k", "BRAM18"))


@quiet_dependencies
def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@quiet_dependencies
def _figure(width: float = 7.5, height: float = 3.2):
    """A figure of its own, drawn off screen: no pyplot state, so a notebook's own backend and figures are untouched."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.add_subplot()


def resources_per_layer(estimate: dict) -> str | None:
    """Stacked bars: each layer's share of the part, per resource."""
    layers, available = estimate.get("layers") or [], ((estimate.get("part") or {}).get("available") or {})
    if not layers or not any(available.values()):  # a part outside the table has no figures: no share to draw
        return None
    figure, axes = _figure()
    names = [layer["name"] for layer in layers]
    bottom = np.zeros(len(layers))
    for key, label in RESOURCES:
        if not available.get(key):
            continue
        share = np.array([100.0 * layer[key] / available[key] for layer in layers])
        axes.bar(names, share, bottom=bottom, label=label)
        bottom += share
    axes.set_ylabel("% of the part (stacked)")
    axes.set_title("Estimated resources per layer")
    axes.legend(fontsize=8)
    axes.tick_params(axis="x", rotation=45, labelsize=8)
    return _png(figure)


def latency_per_layer(estimate: dict) -> str | None:
    """Bars: each layer's latency in cycles."""
    layers = estimate.get("layers") or []
    if not layers:
        return None
    figure, axes = _figure()
    axes.bar([layer["name"] for layer in layers], [layer["latency_cycles"] for layer in layers], color="tab:purple")
    axes.set_ylabel("cycles")
    axes.set_title("Estimated latency per layer")
    axes.tick_params(axis="x", rotation=45, labelsize=8)
    return _png(figure)


def precision_profile(rows: list[dict]) -> str | None:
    """Per layer: the observed magnitude range (bar) against the type's range (markers), in powers of two."""
    rows = [row for row in rows if row["max_abs"] > 0]
    if not rows:
        return None
    figure, axes = _figure(7.5, max(2.5, 0.28 * len(rows) + 1))
    labels = [f"{row['layer']} {row['what']}" for row in rows]
    low = np.log2([row["min_abs_nonzero"] or row["max_abs"] for row in rows])
    high = np.log2([row["max_abs"] for row in rows])
    positions = np.arange(len(rows))
    axes.barh(positions, high - low, left=low, color=["tab:red" if row["overflows"] else "tab:blue" for row in rows])
    type_max = [np.log2(row["type_max"]) if row["type_max"] else np.nan for row in rows]
    type_lsb = [np.log2(row["type_lsb"]) if row["type_lsb"] else np.nan for row in rows]
    axes.plot(type_max, positions, "k|", markersize=12, label="type max")
    axes.plot(type_lsb, positions, "k.", label="type resolution")
    axes.set_yticks(positions, labels, fontsize=7)
    axes.set_xlabel("log2 |value|")
    axes.set_title("Precision profile: observed magnitudes vs fixed-point range")
    axes.legend(fontsize=7)
    return _png(figure)


def sweep_series(rows: list[dict], metric: str) -> dict:
    """What one sweep plot draws: finished points with their labels and estimate intervals, and the Pareto front
    of these two axes (highest accuracy, lowest cost) as the corners of a step line, cheapest first."""
    points = [row for row in rows if row["status"] == "done" and row.get(metric) is not None and row.get("accuracy") is not None]
    front = sorted((points[i] for i in pareto_front(points, {"accuracy": "max", metric: "min"})), key=lambda row: row[metric])
    low = [row[metric] - row[f"{metric}_low"] if row.get(f"{metric}_low") is not None else 0 for row in points]
    high = [row[f"{metric}_high"] - row[metric] if row.get(f"{metric}_high") is not None else 0 for row in points]
    return {
        "x": [row[metric] for row in points],
        "y": [row["accuracy"] for row in points],
        "xerr": [low, high],
        "labels": [row.get("label") or row["point"] for row in points],
        "front": [(row[metric], row["accuracy"]) for row in front],
    }


def sweep_scatter(rows: list[dict], metric: str, label: str) -> tuple[str, bytes] | None:
    """Accuracy against one cost: every finished point labelled with its settings, estimate intervals as error
    bars, and this plot's own Pareto front as a step line; (base64, png bytes)."""
    series = sweep_series(rows, metric)
    if not series["x"]:
        return None
    figure, axes = _figure(6.5, 4.2)
    axes.errorbar(series["x"], series["y"], xerr=series["xerr"], fmt="o", color="tab:gray", ecolor="tab:gray", alpha=0.8,
                  capsize=3, label="point (estimate interval)")
    front_x, front_y = zip(*series["front"])
    axes.plot(front_x, front_y, drawstyle="steps-post", color="tab:red", marker="o", label="Pareto front (these axes)")
    for x, y, text in zip(series["x"], series["y"], series["labels"]):
        axes.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=6)
    axes.set_xlabel(f"{label} (estimated)")
    axes.set_ylabel("QKeras test accuracy")
    axes.set_title(f"accuracy vs {label}")
    axes.legend(fontsize=7)
    encoded = _png(figure)
    return encoded, base64.b64decode(encoded)


def fit_frontier(frontier: list[dict], chosen: dict, max_utilization: float, objective: str) -> bytes | None:
    """The fit's frontier: the objective (cycles) against the largest share of the part, the margin as a line and
    the chosen design marked; png bytes."""
    if not frontier:
        return None
    key = "ii" if objective == "throughput" else "latency_cycles"
    figure, axes = _figure(6.5, 4.2)
    axes.plot([point[key] for point in frontier], [point["utilization"] for point in frontier], drawstyle="steps-post", marker="o",
              color="tab:gray", label="frontier explored")
    axes.axhline(100 * max_utilization, color="tab:red", linestyle="--", label=f"margin ({max_utilization:.0%} of the part)")
    axes.plot([chosen[key]], [chosen["utilization"]], marker="*", markersize=14, color="tab:green", linestyle="none", label="chosen")
    axes.set_xscale("log")
    axes.set_xlabel("II (cycles)" if key == "ii" else "latency (cycles, point estimate)")
    axes.set_ylabel("largest resource, % of the part")
    axes.set_title("codesign fit: what each design costs")
    axes.legend(fontsize=7)
    return base64.b64decode(_png(figure))
