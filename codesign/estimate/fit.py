"""Fit the estimator's constants on calibration rows, and measure its error out of sample (docs/estimation.md).

Latency timings are fitted first (coordinate descent over small grids, minimizing the mean |log| ratio of
cycles), then LUT and FF prices by non-negative least squares on relative errors of the design totals. Leave-one-
design-out refits everything without each design's rows and predicts them. Leave-one-source-out refits without
every row of a source (a repository and tool) and its designs built by that tool elsewhere: designs from one
source are near-twins, not independent, and the intervals come from these predictions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from codesign.estimate.features import LUT_FEATURES, SOFTMAX_LUT
from codesign.estimate.instances import matched
from codesign.estimate.model import (FF_PRICES, INTERVAL_METRICS, LUT_PRICES, STREAMED_FF, STREAMED_LUT, Constants, Timing, call_register_bits, design_cycles, price_instance,
                                     interval, layer_cycles, streamed_ff, streamed_lut, streamed_terms, territory_of, with_stages)

LATENCY_GRID = {
    "mult_ns_7series": np.arange(0.0, 10.01, 0.25),
    "add_ns_7series": np.arange(0.0, 3.01, 0.05),
    "mult_ns_ultrascale": np.arange(0.0, 8.01, 0.25),
    "logic_mult_ns_7series": np.arange(0.0, 10.01, 0.25),
    "logic_mult_ns_ultrascale": np.arange(0.0, 8.01, 0.25),
    "add_ns_ultrascale": np.arange(0.0, 2.01, 0.05),
    "chain_add_ns_7series": np.arange(0.0, 3.01, 0.05),
    "chain_add_ns_ultrascale": np.arange(0.0, 2.01, 0.05),
    "register_credit_7series": np.arange(0, 2),
    "register_credit_ultrascale": np.arange(0, 2),
    "softmax_log_ns_7series": np.arange(0.0, 12.1, 0.5),
    "softmax_log_ns_ultrascale": np.arange(0.0, 6.1, 0.25),
    "table_cycles": np.arange(0, 6),
    "softmax_ns_7series": np.arange(0.0, 60.1, 1.0),
    "softmax_ns_ultrascale": np.arange(0.0, 30.1, 0.5),
    "stream_cycles": np.arange(0, 6),
    "resource_call": np.arange(0, 13),
    "resource_pixel": np.arange(0, 13),
    "stream_fill": np.arange(0, 6),
    "per_call": np.arange(0, 4),
    "top": np.arange(0, 12),
    "divider_cycles": np.arange(0, 41),
    "per_call_vivado": np.arange(0.0, 2.01, 0.25),  # last: a tool's own term refines the shared ones (LATENCY_TIES)
}
LATENCY_START = {"logic_mult_ns_7series": 3.0, "logic_mult_ns_ultrascale": 2.0, "mult_ns_7series": 3.0, "add_ns_7series": 0.8, "mult_ns_ultrascale": 2.0, "add_ns_ultrascale": 0.35, "table_cycles": 2,
                 "chain_add_ns_7series": 1.0, "chain_add_ns_ultrascale": 0.7,  # unfitted without a chain row: a 16-bit carry-chain add
                 "softmax_ns_7series": 30.0, "softmax_ns_ultrascale": 8.0,
                 "register_credit_7series": 1, "register_credit_ultrascale": 1, "softmax_log_ns_7series": 3.0, "softmax_log_ns_ultrascale": 1.0, "stream_cycles": 2, "stream_fill": 1, "per_call": 1, "per_call_vivado": 1.0, "top": 2,
                 "resource_call": 3, "resource_pixel": 2,  # dense_resource: weight read 2, accumulator init 1; a streamed pixel: read, write
                 "divider_cycles": 0}  # unfitted without a divider row: not counted
# A tool's own timing departs from the shared one only as far as its rows pay for: each cycle of difference costs
# this much mean |log| ratio (held out without hls4ml's Vivado HLS CI rows, the Vivado term stays at the shared one)
LATENCY_TIES = {"per_call_vivado": "per_call"}
LATENCY_TIE_WEIGHT = 0.002
# LATENCY_START is each timing's prior as well: a timing departs from it only as far as the rows pay for, at this
# much mean |log| ratio per grid span of departure. Without it a timing that few rows read follows their residuals:
# leaving ArgyKokk's Vitis HLS 7-series MLPs out, the PYNQ MLP's residual of a few cycles (Vivado HLS) moved the
# 7-series LUT multiplier from 3 to 10 ns and the softmax's sum from 3 to 10 ns a level, and ArgyKokk's latency went
# 1.2-1.9x over. Chosen among 0.001-0.01 by the leave-one-source-out count (docs/estimation.md, "Timing priors").
LATENCY_PRIOR_WEIGHT = 0.002
INTERVAL_TARGET = 0.85  # the share of held-out vendor figures an interval must contain: 80% promised, 5 points of margin (docs/estimation.md)
INTERVAL_TAILS = tuple(round(0.1 - 0.005 * step, 3) for step in range(21))  # quantile tails tried, 10% to 0% by 0.5%
OUTSIDE_TAIL = 0.025  # a design outside the calibrated territory: the 95% range of out-of-sample ratios, or wider


def outside_tails(tails: dict[str, float]) -> dict[str, float]:
    """The tails of the widened interval: 2.5% each side, or half the shipped tail where that is already 2.5% or less."""
    return {metric: min(OUTSIDE_TAIL, tail / 2) for metric, tail in tails.items()}


@dataclass
class Sample:
    """A calibration row reduced to what the fit needs: its features, timing and vendor figures."""

    id: str
    group: str
    kind: str
    source: str
    timing: Timing
    features: list[dict]
    published: dict
    repository: str = ""
    tool: str = ""  # the vendor tool and version of its figures
    design_kind: str = ""  # MLP, io_parallel CNN, io_stream CNN, single layer
    fitted: bool = True  # False: estimated and shown, but not fitted (a design hls4ml 1.3 does not build)
    instances: list[dict] = field(default_factory=list)  # its report's per-layer rows (vendor.parse_csynth), if any
    declared_widths: bool = True  # False: its types are upper bounds of narrower values (HGQ's per-value quantizers)
    cycles_memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # _LatencyLoss: its cycles per timings read, kept across fits

    @property
    def origin(self) -> str:
        """Its source: repository and tool (rows of one source are left out together)."""
        return f"{self.repository} · {self.tool}"


@dataclass
class LayerRow:
    """A layer synthesized alone (N-TORC's tables): its features, its vendor figures and the timing it was built at."""

    id: str
    label: str
    features: dict
    published: dict
    timing: Timing


# How much a per-layer row (a report's layer instance, an N-TORC layer) weighs against a design total: in the FF fit
# and in the latency timings' loss; 0: not used, the shipped constants are the design totals' fit. Measured with
# benchmarks/layer_fit.py (docs/estimation.md, "Per-layer rows in the fit"): FF rows put more designs inside the FF
# target leaving one source out (74 -> 82 of 105) but pull the pipeline-stage price to the instances, which lack the
# registers the top function keeps between layer calls: the Vitis HLS 2024 MLPs fall to 1/16 of their FF and the FF
# interval widens to 14x. Latency rows moved one design (66 -> 67). Neither ships.
LAYER_ROW_WEIGHT = 0.0
LATENCY_LAYER_WEIGHT = 0.0  # the same for the latency timings (per-layer cycles against the designs' totals)


def _cycles(sample: Sample, latency: dict) -> tuple[int, list[int]]:
    """The design's cycles, and each layer's pipeline depth."""
    per_layer = [layer_cycles(layer, latency, sample.timing) for layer in sample.features]
    layers = [
        {"latency_cycles": cycles, "dsp": layer["dsp"], "lut": sum(layer["lut"].values())}
        for layer, (cycles, _, _) in zip(sample.features, per_layer)
    ]
    return design_cycles(layers, latency, sample.timing, sample.features), [depth for _, _, depth in per_layer]


LATENCY_LOSS_CAP = math.log(2.0)  # a row more than 2x off counts as 2x: a few unexplained rows do not drag the timings


class _Reads(dict):
    """A latency dict that records which timings are read: a design's cycles read the same ones whatever their
    values (the branches follow its features), so its loss term is a function of those values alone."""

    def __init__(self, latency: dict):
        super().__init__(latency)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


class _LatencyLoss:
    """Weighted mean |log| cycle ratio, capped (a robust loss), of the designs and (at LATENCY_LAYER_WEIGHT each) the
    layer rows, plus what the tools' own terms (LATENCY_TIES) and departures from the priors cost. Each row's cycles
    are kept for the values of the timings it reads (a design keeps them across fits: the leave-one-out fits visit
    mostly the same timings), so a coordinate step that moves a timing only looks up the rows that read it, and the
    rows that do not read it are summed once per coordinate (the fit evaluates the loss about 1,900 times)."""

    def __init__(self, samples: list[Sample], layers: list[LayerRow] = ()):
        designs = [(sample.id, lambda latency, sample=sample: _cycles(sample, latency)[0], sample.published["latency_cycles"], 1.0, sample.cycles_memo)
                   for sample in samples]
        per_layer = [(f"{id}/{features['name']}", lambda latency, features=features, timing=timing: layer_cycles(features, latency, timing)[0], vendor, LATENCY_LAYER_WEIGHT, {})
                     for id, features, vendor, timing in _latency_layers(samples, layers)] if LATENCY_LAYER_WEIGHT else []
        self.rows = designs + per_layer
        self.total_weight = sum(weight for _, _, _, weight, _ in self.rows)
        self.reads, self.readers = {}, {}
        self.others: tuple = (None, 0.0)  # (the moved timing and every other timing's value, the rows not reading it summed)

    def _term(self, id: str, cycles_of, vendor: int, latency: dict, memo: dict) -> float:
        """The row's loss term; its cycles come from `memo` (keyed by the values of the timings it reads, with those
        timings' names under None), which a design keeps across the fits of one evaluation."""
        reads = memo.get(None)
        key = tuple(latency[name] for name in reads) if reads is not None else None
        if key not in memo:
            recorder = _Reads(latency)
            cycles = cycles_of(recorder)
            if reads is not None and not recorder.read <= set(reads):  # a branch on a timing's value: the key would lie
                raise RuntimeError(f"{id}: its cycles read {sorted(recorder.read - set(reads))} only for some timings")
            if reads is None:  # kept once known: a later, smaller set of reads would shorten every key after it
                reads = memo[None] = tuple(sorted(recorder.read))
                key = tuple(latency[name] for name in reads)
            memo[key] = cycles
        self.reads.setdefault(id, reads)
        return min(LATENCY_LOSS_CAP, abs(math.log((memo[key] + 1) / (vendor + 1))))

    def _sum(self, rows: list, latency: dict) -> float:
        return sum(weight * self._term(id, cycles_of, vendor, latency, memo) for id, cycles_of, vendor, weight, memo in rows)

    def __call__(self, latency: dict, moved: str | None = None) -> float:
        """The loss at these timings; `moved`: the timing the caller varies (once every row's reads are known, the rows
        that do not read it are summed once per value of the other timings)."""
        ties = sum(LATENCY_TIE_WEIGHT * abs(latency[own] - latency[shared]) for own, shared in LATENCY_TIES.items())
        ties += LATENCY_PRIOR_WEIGHT * sum(abs(latency[name] - LATENCY_START[name]) / (grid[-1] - grid[0]) for name, grid in LATENCY_GRID.items())
        if moved is None or len(self.reads) < len(self.rows):
            return ties + self._sum(self.rows, latency) / self.total_weight
        if moved not in self.readers:
            self.readers[moved] = [row for row in self.rows if moved in self.reads[row[0]]]
        others = (moved, tuple(value for name, value in sorted(latency.items()) if name != moved))
        if self.others[0] != others:
            self.others = (others, self._sum([row for row in self.rows if moved not in self.reads[row[0]]], latency))
        return ties + (self.others[1] + self._sum(self.readers[moved], latency)) / self.total_weight


def _latency_layers(samples: list[Sample], layers: list[LayerRow]) -> list[tuple[str, dict, int, Timing]]:
    """(row id, features, vendor cycles, timing) of every matched report instance with its latency, and every layer row."""
    found = [(sample.id, layer, instance["latency_cycles"], sample.timing) for sample in samples
             for layer, instance in matched(sample.instances, sample.features) if instance.get("latency_cycles") is not None]
    return found + [(row.id, row.features, row.published["latency_cycles"], row.timing) for row in layers if row.published.get("latency_cycles") is not None]


def fit_latency(samples: list[Sample], sweeps: int = 4, layers: list[LayerRow] = ()) -> dict:
    """Coordinate descent over LATENCY_GRID from LATENCY_START."""
    loss_of = _LatencyLoss(samples, layers)
    latency = dict(LATENCY_START)
    best = loss_of(latency)
    for _ in range(sweeps):
        improved = False
        for name, grid in LATENCY_GRID.items():
            for value in grid:
                trial = dict(latency, **{name: float(value)})
                loss = loss_of(trial, moved=name)
                if loss < best - 1e-12:
                    best, latency, improved = loss, trial, True
        if not improved:
            break
    return {name: round(float(value), 3) for name, value in latency.items()}


def _ff_row(features: dict, timing: Timing, depth: int) -> np.ndarray:
    """One layer's FF features as a row of the FF fit, as model.price_layer prices them: its pipeline stages at `depth`
    cycles; neither the call registers (the top function's: _totals sets their column) nor a top-function constant."""
    row = with_stages(features, timing, depth)
    return np.array([row.get(key, 0.0) if key != "output" else 0.0 for key in FF_PRICES if key != "base"] + [0.0])


def layer_ff_rows(samples: list[Sample], layers: list[LayerRow], latency: dict) -> tuple[np.ndarray, np.ndarray]:
    """FF rows and vendor FF of every report instance matched to its layer (estimate/instances.py) and every layer row."""
    pairs = [(layer, instance["ff"], sample.timing) for sample in samples for layer, instance in matched(sample.instances, sample.features)]
    pairs += [(row.features, row.published["ff"], row.timing) for row in layers]
    if not pairs:
        return np.zeros((0, len(FF_PRICES))), np.zeros(0)
    rows = np.array([_ff_row(features, timing, layer_cycles(features, latency, timing)[2]) for features, _, timing in pairs])
    return rows, np.array([float(ff) for _, ff, _ in pairs])


CALL_REGISTERS = FF_PRICES.index("output")  # the FF column of the top function's registers between layer calls


def _totals(sample: Sample, metric: str, latency: dict) -> np.ndarray:
    """The design's summed features of one metric (LUT or FF), and a constant for the top function (a recurrent
    layer's calls are not among them: model.price_layer prices them, and no calibration design has one)."""
    if metric == "lut":
        return np.array([sum(layer["lut"][key] for layer in sample.features) for key in LUT_FEATURES] + [1.0])
    per_layer = [layer_cycles(layer, latency, sample.timing) for layer in sample.features]  # (cycles, II, depth) once per layer
    summed = np.sum([_ff_row(layer, sample.timing, depth) for layer, (_, _, depth) in zip(sample.features, per_layer)], axis=0)
    summed[CALL_REGISTERS] = call_register_bits(sample.features, [cycles for cycles, _, _ in per_layer], sample.timing)
    summed[-1] = 1.0
    return summed


def _call_registers(sample: Sample, latency: dict) -> float:
    """The bits the design's top function registers between its layer calls at these timings (model.call_register_bits)."""
    return call_register_bits(sample.features, [layer_cycles(layer, latency, sample.timing)[0] for layer in sample.features], sample.timing)


def fit_call_registers(samples: list[Sample], latency: dict) -> float:
    """The price of a bit the top function registers between layer calls, fitted on the reports' top functions alone
    (a design's FF less its layer instances'), where the top registers its calls and the declared widths are the
    widths: a design total mixes these registers with every layer's pipeline, which the fit then trades against them."""
    rows = [({"output": bits}, sample.published["ff"] - sum(instance.get("ff") or 0 for instance in sample.instances)) for sample in samples
            if sample.instances and sample.declared_widths for bits in [_call_registers(sample, latency)] if bits]
    return _term_prices(rows, ("output",), constant=False)["output"]


def fit_softmax_lut(samples: list[Sample]) -> dict[str, float]:
    """The softmax's LUT prices (SOFTMAX_LUT: per lane and output bit, per lane and input bit of the stable
    implementation's max, per bit x bit of a product in logic, per lane and output bit of a streamed one), fitted on
    the reports' softmax instances alone: a design total barely sees them (1-3% of an MLP's LUT), so on totals they
    followed whatever else moved. An instance whose multipliers the tool bound otherwise than the features say (ArgyKokk's
    jet tagger LUT_reuse1: DSPs, where its -impl fabric says logic) is left out."""
    pairs = [(layer, instance) for sample in samples for layer, instance in matched(sample.instances, sample.features)
             if layer["kind"] == "softmax" and instance.get("lut") is not None and bool(instance.get("dsp")) == bool(layer["dsp"])]
    return _term_prices([(layer["lut"], instance["lut"]) for layer, instance in pairs], SOFTMAX_LUT, constant=False)


def _term_prices(pairs: list[tuple[dict, float]], keys: tuple[str, ...], constant: bool) -> dict[str, float]:
    """Prices of named terms fitted on (terms, vendor figure) rows by the relative fit; `constant`: the last key is the
    fit's constant (not drawn to the prior), else the terms have none."""
    rows = np.array([[terms.get(key, 0.0) for key in keys] + ([] if constant else [0.0]) for terms, _ in pairs]).reshape(len(pairs), len(keys) + (not constant))
    prices = _nnls_relative(rows, np.array([float(figure) for _, figure in pairs]))
    return {key: round(float(price), 4) for key, price in zip(keys, prices)}


PRICE_PRIOR = 1.0  # one LUT (FF) per feature unit: features count bits of logic and registers
PRIOR_WEIGHT = 0.001  # how strongly a price is drawn to the prior: only prices the rows leave undetermined move


HUBER_RELATIVE = 0.5  # a row off by more than this relative error weighs as if it were this far off (robust fit)
HUBER_ROUNDS = 8


def _rule(sample: Sample, metric: str, prices: dict, latency: dict) -> float:
    """What is not priced on design totals, as model.price_layer adds it: the Resource strategy's input multiplexers
    and a saturating kernel's logic (rules), and the streamed layers' own terms (priced on layer rows: fit_streamed_ff,
    fit_streamed_lut; a streamed kernel's at the pipeline depth these timings give it)."""
    if metric == "lut":
        return float(sum(streamed_lut(layer, prices) + layer.get("rule_lut", 0.0) for layer in sample.features))
    return float(sum(streamed_ff(layer, prices, layer_cycles(layer, latency, sample.timing)[2]) + layer.get("rule_ff", 0.0)
                     for layer in sample.features))


def fit_streamed_lut(samples: list[Sample]) -> dict[str, float]:
    """The prices of STREAMED_LUT on the reports' instances of streamed windowed poolings (the last, per call, as the
    fit's constant): a design total mixes that logic with every other layer's."""
    pairs = [(layer["lut_streamed"], instance["lut"]) for sample in samples for layer, instance in matched(sample.instances, sample.features)
             if "lut_streamed" in layer and instance.get("lut") is not None]
    return _term_prices(pairs, STREAMED_LUT, constant=True)


def fit_streamed_ff(samples: list[Sample], layers: list[LayerRow], latency: dict) -> dict[str, float]:
    """The prices of STREAMED_FF, each group (kernels, poolings) on every layer row of it (N-TORC's streamed Dense
    and Conv1D) and every matched report instance of such a layer, a Latency kernel's tree cuts at the depth these
    timings give it: per-layer rows isolate these registers, where a design total mixes them with the top function's
    and every other layer's."""
    def terms(features: dict, timing: Timing) -> dict:
        return streamed_terms(features, layer_cycles(features, latency, timing)[2])

    pairs = [(terms(layer, sample.timing), instance["ff"]) for sample in samples for layer, instance in matched(sample.instances, sample.features)
             if "ff_streamed" in layer and instance.get("ff") is not None]
    pairs += [(terms(row.features, row.timing), row.published["ff"]) for row in layers if "ff_streamed" in row.features and row.published.get("ff") is not None]
    prices = {}
    for keys in STREAMED_FF.values():
        prices.update(_term_prices([(found, ff) for found, ff in pairs if set(found) <= set(keys)], keys, constant=True))
    return prices


def _nnls_relative(rows: np.ndarray, targets: np.ndarray, fixed: np.ndarray | None = None, row_weights: np.ndarray | None = None) -> np.ndarray:
    """Non-negative prices minimizing a Huber loss of the relative errors of `rows @ prices + fixed` (fixed: what
    rules add) against the targets (iteratively reweighted least squares: a row the features cannot explain, such as
    an HGQ design's per-value widths, does not drag every price), each feature price (not the constant, the last
    column) drawn toward PRICE_PRIOR so that a feature no row has is priced; `row_weights` weigh rows' squared errors."""
    fixed = np.zeros(len(targets)) if fixed is None else fixed
    scale = 1.0 / np.maximum(targets, 1.0)
    weighted = scale * np.sqrt(row_weights) if row_weights is not None else scale
    features = rows.shape[1] - 1
    prior_rows = np.sqrt(PRIOR_WEIGHT) * np.eye(features, rows.shape[1])
    prior_targets = np.full(features, np.sqrt(PRIOR_WEIGHT) * PRICE_PRIOR)
    weights = np.ones(len(targets))
    for _ in range(HUBER_ROUNDS):
        row_scale = weighted * np.sqrt(weights)
        prices, _ = nnls(np.vstack([rows * row_scale[:, None], prior_rows]), np.concatenate([(targets - fixed) * row_scale, prior_targets]))
        relative = np.abs(rows @ prices + fixed - targets) * scale
        weights = np.where(relative <= HUBER_RELATIVE, 1.0, HUBER_RELATIVE / np.maximum(relative, 1e-12))
    return prices


def territory(samples: list[Sample], layers: list[LayerRow] = ()) -> dict[str, list[str]]:
    """Every layer type in its io type, every tool, and the largest Resource-strategy reuse factor some calibration row
    has; where shared Resource kernels and Latency kernels are (io type, tool and family), also among the layer rows
    (N-TORC's), which price their registers."""
    found = [territory_of(sample.features, sample.timing) for sample in samples]
    territory = {key: sorted({entry for each in found for entry in each[key]}) for key in ("layers", "tools", "chained", "dividers")}
    sites = found + [territory_of([row.features], row.timing) for row in layers]
    return {**territory, "resource_reuse": [max(each["resource_reuse"][0] for each in found)],
            "shared_kernels": sorted({entry for each in sites for entry in each["shared_kernels"]}),
            "latency_kernels": sorted({entry for each in sites for entry in each["latency_kernels"]})}


def fit_constants(samples: list[Sample], interval: dict | None = None, fitted_on: dict | None = None, interval_widest: dict | None = None,
                  untrained: dict | None = None, layers: list[LayerRow] = ()) -> Constants:
    """Every constant from these samples (those marked not fitted aside; the LUT and FF prices from those whose types
    are their widths); FF prices also from their reports' layer instances and the layer rows, each at LAYER_ROW_WEIGHT
    of a design."""
    samples = [sample for sample in samples if sample.fitted]
    latency = fit_latency(samples, layers=layers)
    streamed = {"ff": fit_streamed_ff(samples, list(layers), latency), "lut": fit_streamed_lut(samples)}
    prices = {}
    priced = [sample for sample in samples if sample.declared_widths]  # HGQ's types overstate its widths: they would drag every price down
    for metric, names in (("lut", LUT_PRICES), ("ff", FF_PRICES)):
        rows = np.array([_totals(sample, metric, latency) for sample in priced])
        published = np.array([sample.published[metric] for sample in priced], dtype=float)
        rules = np.array([_rule(sample, metric, streamed[metric], latency) for sample in priced])
        # prices fixed by per-layer rows: the call registers by the reports' top functions, the softmax's LUT by its instances
        fixed = {"output": fit_call_registers(priced, latency)} if metric == "ff" else fit_softmax_lut(priced)
        rows = rows.copy()
        for key, price in fixed.items():
            rules = rules + price * rows[:, names.index(key)]
            rows[:, names.index(key)] = 0.0
        weights = None
        if metric == "ff" and LAYER_ROW_WEIGHT:
            layer_rows, layer_published = layer_ff_rows(priced, list(layers), latency)
            weights = np.concatenate([np.ones(len(published)), np.full(len(layer_published), LAYER_ROW_WEIGHT)])
            rows, published, rules = np.vstack([rows, layer_rows]), np.concatenate([published, layer_published]), np.concatenate([rules, np.zeros(len(layer_published))])
        prices[metric] = {name: round(float(value), 4) for name, value in zip(names, _nnls_relative(rows, published, rules, weights))}
        prices[metric].update(fixed)
    prices["ff"].update(streamed["ff"])
    prices["lut"].update(streamed["lut"])
    constants = Constants(prices["lut"], prices["ff"], latency, interval or {}, fitted_on or {}, interval_widest or {}, territory(samples, list(layers)), untrained or {})
    return fit_recurrent(constants, [row for row in layers if row.features["kind"] == "recurrent"])


def fit_recurrent(constants: Constants, rows: list[LayerRow]) -> Constants:
    """An LSTM's or GRU's terms beyond the calls of its step that model.price_layer counts (two kernels, the tables),
    on the recurrent layer rows (N-TORC's LSTMs): per unit and accumulator bit, the median of the LUT and the FF the
    vendor figure has beyond the counted ones; per step, the median of the cycles beyond the counted ones (0 where no
    row has a recurrent layer: a fit without N-TORC)."""
    constants.lut["recurrent_unit_bits"] = constants.ff["recurrent_unit_bits"] = 0.0
    constants.latency["recurrent_step"] = 0
    if not rows:
        return constants
    counted = [price_instance(row.features, constants, row.timing) for row in rows]
    for metric in ("lut", "ff"):
        beyond = [max(0.0, row.published[metric] - priced[metric]) / row.features["shape"]["unit_bits"] for row, priced in zip(rows, counted)]
        getattr(constants, metric)["recurrent_unit_bits"] = round(float(np.median(beyond)), 4)
    beyond = [(row.published["latency_cycles"] - priced["latency_cycles"]) / row.features["shape"]["steps"] for row, priced in zip(rows, counted)]
    constants.latency["recurrent_step"] = max(0, int(round(float(np.median(beyond)))))
    return constants


TRAINING_METRICS = ("dsp", "lut")  # what the weights' values decide (the rest follows from shapes and types)


def training_ratios(twins: list[tuple], constants: Constants) -> dict[str, list[float]]:
    """Per metric, the lowest and highest trained / untrained estimate over the real-weight designs."""
    result = {}
    for metric in TRAINING_METRICS:
        ratios = [ratio(predict(redrawn, constants)[metric], predict(trained, constants)[metric]) for trained, redrawn, *_ in twins]
        result[metric] = [round(min(ratios), 3), round(max(ratios), 3)]
    return result


def predict(sample: Sample, constants: Constants) -> dict:
    """The design totals these constants give (DSP and BRAM follow rules, not prices)."""
    total = {
        "dsp": sum(layer["dsp"] for layer in sample.features),
        "bram_18k": sum(layer["bram_18k"] for layer in sample.features),
    }
    names = {"lut": LUT_PRICES, "ff": FF_PRICES}
    for metric in ("lut", "ff"):
        prices = getattr(constants, metric)
        priced = float(_totals(sample, metric, constants.latency) @ np.array([prices[name] for name in names[metric]]))
        total[metric] = int(round(priced + _rule(sample, metric, prices, constants.latency)))
    total["latency_cycles"] = _cycles(sample, constants.latency)[0]
    return total


def leave_one_design_out(samples: list[Sample], progress=None, layers: list[LayerRow] = ()) -> dict[str, dict]:
    """Each sample predicted by constants fitted without every row of its design (and the layer rows)."""
    predictions = {}
    groups = sorted({sample.group for sample in samples})
    for index, group in enumerate(groups, start=1):
        held_out = [sample for sample in samples if sample.group == group]
        constants = fit_constants([sample for sample in samples if sample.group != group], layers=layers)
        for sample in held_out:
            predictions[sample.id] = predict(sample, constants)
        if progress:
            progress(index, len(groups), group)
    return predictions


def source_constants(samples: list[Sample], progress=None, layers: list[LayerRow] = ()) -> dict[str, Constants]:
    """Per source: the constants fitted without its rows and without the same designs built by the same tool
    elsewhere (the tutorial's SVHN CNN, published and in a fork of the tutorial), with the layer rows (another source)."""
    fitted = {}
    origins = sorted({sample.origin for sample in samples})
    for index, origin in enumerate(origins, start=1):
        twins = {(sample.group, sample.tool) for sample in samples if sample.origin == origin}
        fitted[origin] = fit_constants([sample for sample in samples if sample.origin != origin and (sample.group, sample.tool) not in twins], layers=layers)
        if progress:
            progress(index, len(origins), origin)
    return fitted


def leave_one_source_out(samples: list[Sample], progress=None, fitted: dict[str, Constants] | None = None,
                         layers: list[LayerRow] = ()) -> dict[str, dict]:
    """Each sample predicted by the constants fitted without its source (source_constants)."""
    fitted = fitted if fitted is not None else source_constants(samples, progress, layers)
    return {sample.id: predict(sample, fitted[sample.origin]) for sample in samples}


def ratio(estimate: float, published: float) -> float:
    """vendor / estimate, with +1 on both so that zero figures compare."""
    return (published + 1.0) / (estimate + 1.0)


def _ratios(samples: list[Sample], predictions: dict[str, dict], metric: str) -> list[float]:
    return [ratio(predictions[sample.id][metric], sample.published[metric]) for sample in samples]


def _bounds(ratios: list[float], tail: float) -> list[float]:
    low, high = np.quantile(ratios, (tail, 1.0 - tail))
    return [round(float(low), 3), round(float(high), 3)]


def _held_out_coverage(samples: list[Sample], predictions: dict[str, dict], metric: str, tail: float) -> float:
    """Share of rows inside the interval built from the other sources' ratios only (nested: a source never
    sizes its own interval)."""
    inside = 0
    for origin in sorted({sample.origin for sample in samples}):
        others = [sample for sample in samples if sample.origin != origin]
        bounds = _bounds(_ratios(others, predictions, metric), tail)
        for sample in samples:
            if sample.origin == origin:
                low, high = interval(predictions[sample.id][metric], bounds)
                inside += low <= sample.published[metric] <= high
    return inside / len(samples)


def interval_tails(samples: list[Sample], predictions: dict[str, dict]) -> dict[str, float]:
    """Per metric, the narrowest quantile tail (10% each side, then 9.5, 9, ... 0) whose held-out coverage reaches
    INTERVAL_TARGET."""
    return {
        metric: next((tail for tail in INTERVAL_TAILS if _held_out_coverage(samples, predictions, metric, tail) >= INTERVAL_TARGET), 0.0)
        for metric in INTERVAL_METRICS
    }


def interval_ratios(samples: list[Sample], predictions: dict[str, dict], tails: dict[str, float]) -> dict:
    """Per metric, [low, high] quantiles of vendor/estimate over the out-of-sample predictions at that tail."""
    return {metric: _bounds(_ratios(samples, predictions, metric), tails[metric]) for metric in INTERVAL_METRICS}


def coverage(samples: list[Sample], predictions: dict[str, dict], tails: dict[str, float]) -> dict:
    """Per metric, the share of rows whose vendor figure falls in the interval built without their own source."""
    return {metric: round(_held_out_coverage(samples, predictions, metric, tails[metric]), 3) for metric in INTERVAL_METRICS}
