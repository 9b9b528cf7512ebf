"""Estimator error on every calibration row, out of sample, and the fit that codesign ships.

Run: .venv/bin/python benchmarks/estimator.py [--calibration DIR] [--write]
Rebuilds every row of shared/calibration (published designs, hls4ml's CI baselines, the real-weight projects of
projects/ and projects2/), fits the constants on all of them, then predicts each row twice out of sample: with
constants fitted without its design (leave one design out) and without its source, a repository and tool, and
every design that source shares (leave one source out). Prints, in Markdown for docs/estimation.md: per row
estimate / vendor per metric (leave one source out), the share of rows inside the targets per metric and per kind
of design for both, the intervals with their held-out coverage, and per layer: every report's layer instances
and N-TORC's Dense, Conv1D and LSTM layers, each estimated with its source left out (the LSTMs also with their
recurrent terms fitted on the other LSTM shapes) (every fit is given these per-layer
rows; they weigh fit.LAYER_ROW_WEIGHT, 0 as shipped). --write stores the constants (with the leave-one-source-out interval
ratios) in codesign/estimate/constants.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CALIBRATION = ROOT.parent / "shared" / "calibration"
METRICS = ("latency_cycles", "dsp", "lut", "ff", "bram_18k")
TARGET_METRICS = ("latency_cycles", "dsp", "lut", "ff")
LAYER_METRICS = ("latency_cycles", "dsp", "lut", "ff", "bram_18k")


def inside_target(metric: str, estimate: float, published: float) -> bool:
    """The issue's targets: latency within max(1 cycle, 20%), DSP within max(2, 1.5x), LUT and FF within 2x (or equal)."""
    if metric == "latency_cycles":
        return abs(estimate - published) <= max(1.0, 0.2 * published)
    if metric == "dsp":
        return abs(estimate - published) <= 2 or (published > 0 and 1 / 1.5 <= estimate / published <= 1.5)
    if metric == "bram_18k":
        return abs(estimate - published) <= 2 or (published > 0 and 0.5 <= estimate / published <= 2.0)
    return estimate == published or (published > 0 and 0.5 <= estimate / published <= 2.0)  # a layer's 0 FF estimated 0


def evaluate(calibration: Path) -> dict:
    """Samples, the shipped fit, out-of-sample predictions, intervals and their coverage."""
    from codesign.estimate.calibration import ntorc_layers, samples, untrained_twins
    from codesign.estimate.fit import (coverage, fit_constants, interval_ratios, interval_tails, leave_one_design_out, leave_one_source_out,
                                       outside_tails, predict, source_constants, training_ratios)
    from codesign.estimate.model import price_instance

    started = time.perf_counter()
    found = samples(calibration, progress=lambda i, n, name: print(f"\r  converting {i}/{n} {name[:60]:60s}", end="", file=sys.stderr))
    print(file=sys.stderr)
    ntorc = ntorc_layers(calibration, progress=lambda i, n, name: print(f"\r  N-TORC layers {i}/{n}", end="", file=sys.stderr))
    print(file=sys.stderr)
    held_out = leave_one_design_out(found, progress=lambda i, n, name: print(f"\r  leave-one-design-out {i}/{n}", end="", file=sys.stderr), layers=ntorc)
    print(file=sys.stderr)
    fitted = source_constants(found, progress=lambda i, n, name: print(f"\r  leave-one-source-out {i}/{n}", end="", file=sys.stderr), layers=ntorc)
    by_source = leave_one_source_out(found, fitted=fitted)
    print(file=sys.stderr)
    fitted_on = {"rows": len(found), "designs": len({sample.group for sample in found}), "sources": len({sample.origin for sample in found}),
                 "layer_rows": len(ntorc), "date": date.today().isoformat(), "command": "benchmarks/estimator.py --write"}
    tails = interval_tails(found, by_source)
    twins = untrained_twins(calibration, progress=lambda i, n, name: print(f"\r  untrained twins {i}/{n} {name[:60]:60s}", end="", file=sys.stderr))
    print(file=sys.stderr)
    constants = fit_constants(found, interval_ratios(found, by_source, tails), fitted_on, interval_ratios(found, by_source, outside_tails(tails)), layers=ntorc)
    constants = fit_constants(found, constants.interval, fitted_on, constants.interval_widest, training_ratios(twins, constants), layers=ntorc)
    in_sample = {sample.id: predict(sample, constants) for sample in found}
    without_ntorc = fit_constants(found)  # N-TORC is a source too: its layers are estimated by a fit that never saw them
    return {"samples": found, "held_out": held_out, "by_source": by_source, "in_sample": in_sample, "constants": constants, "tails": tails, "twins": twins,
            "coverage": coverage(found, by_source, tails), "layers": report_layers(found, fitted),
            "ntorc": [(row.label, price_instance(row.features, without_ntorc, row.timing), row.published) for row in ntorc],
            "recurrent": recurrent_shapes_left_out(constants, [row for row in ntorc if row.features["kind"] == "recurrent"]),
            "seconds": time.perf_counter() - started}


def recurrent_shapes_left_out(constants, rows: list) -> list[tuple[str, dict, dict]]:
    """(group, estimate, vendor) per recurrent layer row, its recurrent terms (fit.fit_recurrent) fitted on the rows
    of every other shape (inputs, units): the only recurrent source is N-TORC, so this is the out-of-sample check the
    data allows beside leaving N-TORC out (those terms then 0)."""
    from dataclasses import replace

    from codesign.estimate.fit import fit_recurrent
    from codesign.estimate.model import price_instance

    shape = lambda row: (row.features["shape"]["inputs"], row.features["shape"]["units"])  # noqa: E731
    found = []
    for held_out in sorted({shape(row) for row in rows}):
        others = replace(constants, lut=dict(constants.lut), ff=dict(constants.ff), latency=dict(constants.latency))
        others = fit_recurrent(others, [row for row in rows if shape(row) != held_out])
        found += [(row.label, price_instance(row.features, others, row.timing), row.published) for row in rows if shape(row) == held_out]
    return found


def _layer_label(features: dict, timing) -> str:
    """How per-layer results are grouped: the kernel, its strategy (weighted layers) and the io type."""
    strategy = features["shape"].get("strategy")
    return " · ".join(part for part in (features.get("kernel") or features["type"], strategy, timing.io_type) if part)


def report_layers(found: list, fitted: dict) -> list[tuple[str, dict, dict]]:
    """(group, estimate, vendor) per layer instance of every fitted row's report (an unfitted row's report is not of
    the design estimated), each estimated with its source left out."""
    from codesign.estimate.instances import matched
    from codesign.estimate.model import price_instance

    return [(_layer_label(layer, sample.timing), price_instance(layer, fitted[sample.origin], sample.timing), instance)
            for sample in found if sample.fitted for layer, instance in matched(sample.instances, sample.features)]


def _cell(metric: str, estimate: int, published: int) -> str:
    mark = "" if inside_target(metric, estimate, published) else " ✗"
    return f"{estimate:,} / {published:,}{mark}"


def _inside(found: list, predictions: dict, label: str) -> str:
    """One table line: rows inside the target per metric, and inside all four."""
    counts = [sum(inside_target(metric, predictions[s.id][metric], s.published[metric]) for s in found) for metric in METRICS]
    every = sum(all(inside_target(metric, predictions[s.id][metric], s.published[metric]) for metric in TARGET_METRICS) for s in found)
    return f"| {label} | {len(found)} | " + " | ".join(f"{count}/{len(found)}" for count in counts) + f" | {every}/{len(found)} |"


def _layer_table(layers: list[tuple[str, dict, dict]]) -> list[str]:
    """Per group of layers: how many, inside the target per metric, and the median vendor / estimate ratio."""
    from codesign.estimate.fit import ratio

    lines = ["| layer | n | " + " | ".join(LAYER_METRICS) + " | median vendor / estimate: " + " | ".join(LAYER_METRICS) + " |",
             "|---|---|" + "---|" * (2 * len(LAYER_METRICS))]
    for group in sorted({group for group, _, _ in layers}):
        rows = [(estimate, vendor) for name, estimate, vendor in layers if name == group]
        cells, medians = [], []
        for metric in LAYER_METRICS:
            known = [(estimate[metric], vendor[metric]) for estimate, vendor in rows if metric in vendor]
            cells.append(f"{sum(inside_target(metric, e, v) for e, v in known)}/{len(known)}" if known else "-")
            medians.append(f"{float(np.median([ratio(e, v) for e, v in known])):.2f}" if known else "-")
        lines.append(f"| {group} | {len(rows)} | " + " | ".join(cells) + " | " + " | ".join(medians) + " |")
    every = [(estimate, vendor) for _, estimate, vendor in layers]
    totals = [f"{sum(inside_target(m, e[m], v[m]) for e, v in every if m in v)}/{sum(m in v for _, v in every)}" for m in LAYER_METRICS]
    lines.append(f"| **all** | {len(every)} | " + " | ".join(totals) + " |" + " |" * len(LAYER_METRICS))
    return lines


def markdown(result: dict) -> list[str]:
    """The tables of docs/estimation.md."""
    from codesign.estimate.fit import predict

    found, held_out, by_source, in_sample = result["samples"], result["held_out"], result["by_source"], result["in_sample"]
    lines = ["#### Every row, leave one source out (estimate / vendor; ✗ outside the target)", "",
             "| row | source | kind | " + " | ".join(METRICS) + " |", "|---|---|---|" + "---|" * len(METRICS)]
    for sample in found:
        cells = [_cell(metric, by_source[sample.id][metric], sample.published[metric]) for metric in METRICS]
        lines.append(f"| {sample.id} | {sample.origin} | {sample.kind} | " + " | ".join(cells) + " |")
    header = "| " + " | ".join(METRICS) + " | all four |"
    lines += ["", "#### Rows inside the target, per metric", "", "| fit | rows " + header, "|---|---|" + "---|" * (len(METRICS) + 1)]
    for label, predictions in (("leave one source out", by_source), ("leave one design out", held_out), ("in sample (for comparison)", in_sample)):
        lines.append(_inside(found, predictions, label))
    for title, predictions in (("Leave one source out", by_source), ("Leave one design out", held_out)):
        lines += ["", f"#### {title}, per kind of design", "", "| kind | rows " + header, "|---|---|" + "---|" * (len(METRICS) + 1)]
        for kind in ("MLP", "io_parallel CNN", "io_stream CNN", "single layer"):
            rows = [sample for sample in found if sample.design_kind == kind]
            if rows:
                lines.append(_inside(rows, predictions, kind))
    interval = result["constants"].interval
    widest = result["constants"].interval_widest
    lines += ["", "#### Intervals: vendor / estimate ratios (out of sample, leave one source out) and their held-out coverage", "",
              "| metric | tail | low | high | coverage (leave one source out) | outside the territory: low | high |", "|---|---|---|---|---|---|---|"]
    for metric in METRICS:
        low, high = interval[metric]
        lines.append(f"| {metric} | {result['tails'][metric]:.1%} | {low} | {high} | {result['coverage'][metric]:.0%} | {widest[metric][0]} | {widest[metric][1]} |")
    lines += ["", "#### Untrained weights: each real-weight design estimated trained and with its weights redrawn from their initializers", "",
              "| design | DSP trained / untrained | LUT trained / untrained | called untrained: trained / redrawn |", "|---|---|---|---|"]
    said = {True: "yes", False: "no"}
    for trained, redrawn, trained_called, redrawn_called in result["twins"]:
        before, after = predict(redrawn, result["constants"]), predict(trained, result["constants"])
        lines.append(f"| {trained.group} | {after['dsp']:,} / {before['dsp']:,} | {after['lut']:,} / {before['lut']:,} | "
                     f"{said[trained_called]} / {said[redrawn_called]} |")
    untrained = result["constants"].untrained
    lines.append("| **trained / untrained, lowest-highest** | " + " | ".join(f"{untrained[m][0]}-{untrained[m][1]}" for m in ("dsp", "lut")) + " | |")
    lines += ["", "#### Per layer: every report's layer instances, each estimated with its source left out", ""] + _layer_table(result["layers"])
    lines += ["", "#### Per layer: N-TORC's Dense, Conv1D and LSTM layers (Vivado HLS 2019.1, io_stream, 16 bits; their source left out)", ""] + _layer_table(result["ntorc"])
    lines += ["", "#### Per layer: N-TORC's LSTMs, their recurrent terms fitted on the LSTMs of the other shapes (inputs, units)", ""] + _layer_table(result["recurrent"])
    sources = sorted({sample.origin for sample in found})
    lines += ["", f"#### The {len(sources)} sources (each left out with its designs built by the same tool elsewhere)", "", "| source | rows | designs |", "|---|---|---|"]
    for origin in sources:
        rows = [sample for sample in found if sample.origin == origin]
        lines.append(f"| {origin} | {len(rows)} | {len({sample.group for sample in rows})} |")
    return lines


def cifar_cnn_timing() -> None:
    """Estimate time of the 32x32x3 conv32/conv64/fc512/fc10 CNN (io_stream, Resource, RF 64)."""
    import contextlib
    import io

    from tensorflow import keras

    from codesign.config import HLSSpec
    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import estimate_graph
    from codesign.parts import find_part

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Dense(512, activation="relu")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, keras.layers.Dense(10)(x))
    hls = HLSSpec(io_type="io_stream", strategy="Resource", reuse_factor=64, precision="ap_fixed<16,6>")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        graph = build_graph(model, hls, Path("/tmp/codesign-bench-estimate"), None, Path(os.devnull), policy_candidate(hls.precision))
    converted = time.perf_counter()
    report = estimate_graph(graph, find_part(hls.part), hls.clock_ns, hls.io_type, hls.backend)
    done = time.perf_counter()
    total, interval = report["total"], report["interval"]
    print(f"\nCIFAR-10 CNN ({model.count_params():,} parameters, io_stream, Resource, RF 64):")
    print(f"  hls4ml conversion {converted - started:.2f} s, estimate {done - converted:.2f} s")
    print(f"  DSP {total['dsp']:,} ({interval['dsp'][0]:,}-{interval['dsp'][1]:,}), LUT {total['lut']:,}, "
          f"BRAM18 {total['bram_18k']:,}, latency {total['latency_cycles']:,} cycles")
    from codesign.estimate.run import estimate_model

    print("  what-ifs by converting again (as `codesign estimate MODEL` does; Run.estimate and codesign fit price them from one conversion: benchmarks/fit.py):")
    for change in ({"reuse_factor": 128}, {"strategy": "Latency", "reuse_factor": 1}, {"precision": "ap_fixed<8,3>"}):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            changed = estimate_model(model, hls.model_copy(update=change), None, Path(os.devnull))
        print(f"    {change}: {time.perf_counter() - started:.2f} s, DSP {changed['total']['dsp']:,}, LUT {changed['total']['lut']:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=DEFAULT_CALIBRATION)
    parser.add_argument("--write", action="store_true", help="store the fitted constants in codesign/estimate/constants.json")
    parser.add_argument("--no-timing", action="store_true", help="skip the CIFAR CNN timing")
    args = parser.parse_args()
    result = evaluate(args.calibration)
    print("\n".join(markdown(result)))
    print(f"\n{len(result['samples'])} rows, {len({s.group for s in result['samples']})} designs, "
          f"{len({s.origin for s in result['samples']})} sources, {result['seconds']:.0f} s")
    if args.write:
        from codesign.estimate.model import CONSTANTS_PATH

        CONSTANTS_PATH.write_text(json.dumps(result["constants"].as_dict(), indent=1) + "\n")
        print(f"wrote {CONSTANTS_PATH.relative_to(ROOT)}")
    if not args.no_timing:
        cifar_cnn_timing()


if __name__ == "__main__":
    main()
