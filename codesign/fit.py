"""Fit a converted network to an FPGA part: per-layer strategy and reuse factor chosen by what-if estimates, the
fastest design whose resources fit a margin of the part at the upper end of their interval (docs/fit.md)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from codesign.config import HLSSpec, hls_from_dict
from codesign.errors import SpecError
from codesign.estimate.whatif import STRATEGIES, LayerSetting, WhatIf
from codesign.parts import PARTS, find_part

RESOURCES = ("dsp", "lut", "ff", "bram_18k")
LAGRANGE_WEIGHTS = np.geomspace(1e-2, 1e8, 81)  # cycles traded per unit of resource pressure (io_parallel's sum of layers)


def judged_resources(report: dict, optimistic: bool) -> dict[str, int]:
    """Each resource of an estimate as a fit judges it: its interval's upper end, or (optimistic) the point estimate."""
    return {metric: report["total"][metric] if optimistic else report["interval"][metric][1] for metric in RESOURCES}


class NothingFits(SpecError):
    """No setting meets the goal: one line with the smallest part that would, or the resource that cannot."""


@dataclass(frozen=True)
class Goal:
    """What a user asks of a fit (the CLI's options)."""

    part: str
    max_utilization: float = 0.8
    max_latency_cycles: int | None = None
    min_throughput: float | None = None  # inferences per second
    clock_ns: float | None = None
    strategy: str | None = None  # every weighted layer's, or None: chosen per layer
    optimistic: bool = False  # judge resources at the point estimate, not the interval's upper end
    objective: str = "latency"  # or "throughput"

    @property
    def judged(self) -> str:
        return "at the point estimate (--optimistic)" if self.optimistic else "at the upper end of the estimate's interval"


@dataclass
class FitResult:
    """The chosen settings, their estimate, and every design the search priced."""

    hls: HLSSpec
    report: dict
    goal: Goal
    frontier: list[dict] = field(default_factory=list)  # non-dominated (latency, utilization) designs, fastest first
    evaluated: int = 0
    seconds: float = 0.0

    def layer_settings(self) -> dict[str, dict]:
        """Per weighted layer: {strategy, reuse_factor}."""
        return {name: {"strategy": entry.strategy, "reuse_factor": entry.reuse_factor} for name, entry in self.hls.layers.items()
                if entry.reuse_factor is not None}

    def shares(self) -> dict[str, float]:
        """Each resource the part has, as judged, in percent of the part."""
        available = self.report["part"]["available"]
        return {key: 100 * used / available[key] for key, used in judged_resources(self.report, self.goal.optimistic).items() if available[key]}

    def __repr__(self) -> str:
        settings = ", ".join(f"{name} {entry['strategy']} {entry['reuse_factor']}" for name, entry in self.layer_settings().items())
        total = self.report["total"]
        shares = ", ".join(f"{key} {share:.0f}%" for key, share in self.shares().items())
        return (f"<FitResult {self.hls.part} {self.hls.io_type}: {settings}; {total['latency_cycles']:,} cycles, II {total['ii']:,}; "
                f"{shares} of the part {self.goal.judged}>")

    def as_dict(self) -> dict:
        return {"goal": self.goal.__dict__, "layers": self.layer_settings(), "part": self.hls.part, "clock_ns": self.hls.clock_ns,
                "io_type": self.hls.io_type, "estimate": {key: self.report[key] for key in ("total", "interval", "utilization")},
                "frontier": self.frontier, "evaluated": self.evaluated, "seconds": round(self.seconds, 3)}


def fit(whatif: WhatIf, goal: Goal) -> FitResult:
    """The fastest settings that meet `goal` (NothingFits otherwise)."""
    started = time.perf_counter()
    try:
        part = find_part(goal.part)
    except ValueError as error:
        raise SpecError(f"part: {error}") from None
    if goal.strategy not in (None, *STRATEGIES) or goal.objective not in ("latency", "throughput"):
        raise SpecError(f"strategy {goal.strategy!r} / objective {goal.objective!r}: a strategy of {', '.join(STRATEGIES)}; objective latency or throughput")
    base = whatif.hls.model_copy(update={"part": goal.part, "clock_ns": goal.clock_ns or whatif.hls.clock_ns})
    search = _Search(whatif, base, goal, part)
    chosen = search.best()
    if chosen is None:
        raise NothingFits(search.why_nothing_fits())
    hls = search.spec_of(chosen)
    return FitResult(hls, whatif.estimate(hls), goal, search.frontier(), search.evaluated, time.perf_counter() - started)


class _Search:
    """Candidate designs from per-layer option tables, each priced in full by the WhatIf."""

    def __init__(self, whatif: WhatIf, base: HLSSpec, goal: Goal, part):
        self.whatif, self.base, self.goal, self.part = whatif, base, goal, part
        self.evaluated = 0
        self._priced: dict[tuple, dict] = {}
        strategies = [goal.strategy] if goal.strategy else list(STRATEGIES)
        self.names = list(whatif.weighted)
        self.options = {name: [LayerSetting(strategy, rf) for strategy in strategies for rf in whatif.reuse_factors(name, strategy)]
                        or [LayerSetting("Latency", rf) for rf in whatif.reuse_factors(name)] for name in self.names}  # none: no Resource kernel
        start = whatif.settings_of(base)
        self.start = tuple(start[name] for name in self.names)
        self.capacity = self._capacity()
        self.rows = {name: {option: self._row(name, option) for option in options} for name, options in self.options.items()}

    def _capacity(self) -> dict[str, float]:
        """Per resource, what the design may use at its point estimate: the margin of the part, divided by the upper
        end's ratio (the interval scales the total)."""
        report = self.price(self.start)
        available = report["part"]["available"]
        found = {}
        for metric in RESOURCES:
            total, high = report["total"][metric], report["interval"][metric][1]
            ratio = 1.0 if self.goal.optimistic or not total else high / total
            found[metric] = self.goal.max_utilization * available[metric] / ratio if available[metric] else 0.0
        return found

    def _row(self, name: str, option: LayerSetting) -> dict:
        """The layer's own row in a design where only it takes `option` (a layer's price does not depend on the others)."""
        design = tuple(option if other == name else setting for other, setting in zip(self.names, self.start))
        return next(layer for layer in self.price(design)["layers"] if layer["name"] == name)

    def pressure(self, row: dict) -> float:
        """A layer's resources as a fraction of what the design may use, summed over resources."""
        return sum(row[metric] / self.capacity[metric] if self.capacity[metric] else (math.inf if row[metric] else 0.0) for metric in RESOURCES)

    def price(self, design: tuple) -> dict:
        if design not in self._priced:
            self.evaluated += 1
            self._priced[design] = self.whatif.price(dict(zip(self.names, design)), self.base)
        return self._priced[design]

    def candidates(self) -> list[tuple]:
        """Designs worth pricing: for each bound on a layer's cycles (or II), every layer at its least pressure within
        it (io_stream's latency and every II are the slowest layer's); and for a range of weights, every layer at its
        best cycles + weight x pressure (io_parallel's latency is the layers' sum)."""
        key = "ii" if self.goal.objective == "throughput" else "latency_cycles"
        found = {self.start}
        bounds = sorted({row[key] for rows in self.rows.values() for row in rows.values()})
        for bound in bounds:
            picks = [min((option for option, row in self.rows[name].items() if row[key] <= bound), key=lambda option: self.pressure(self.rows[name][option]), default=None)
                     for name in self.names]
            if None not in picks:
                found.add(tuple(picks))
        for weight in LAGRANGE_WEIGHTS:
            found.add(tuple(min(self.rows[name], key=lambda option: self.rows[name][option][key] + weight * self.pressure(self.rows[name][option]))
                            for name in self.names))
        found.add(tuple(min(self.rows[name], key=lambda option: self.pressure(self.rows[name][option])) for name in self.names))
        return sorted(found, key=repr)

    def judged(self, report: dict) -> dict[str, int]:
        return judged_resources(report, self.goal.optimistic)

    def utilization(self, report: dict) -> float:
        """The largest judged fraction of the part any resource takes."""
        available = report["part"]["available"]
        return max(used / available[metric] if available[metric] else (math.inf if used else 0.0) for metric, used in self.judged(report).items())

    def meets(self, report: dict) -> bool:
        total = report["total"]
        return self.utilization(report) <= self.goal.max_utilization \
            and (self.goal.max_latency_cycles is None or total["latency_cycles"] <= self.goal.max_latency_cycles) \
            and (self.goal.min_throughput is None or total["throughput_per_s"] >= self.goal.min_throughput)

    def objective(self, report: dict) -> tuple:
        total = report["total"]
        first = total["ii"] if self.goal.objective == "throughput" else total["latency_cycles"]
        return first, total["latency_cycles"] + total["ii"], self.utilization(report)

    def best(self) -> tuple | None:
        meeting = [design for design in self.candidates() if self.meets(self.price(design))]
        if not meeting:
            return None
        return self._polished(min(meeting, key=lambda design: self.objective(self.price(design))))

    def _polished(self, design: tuple) -> tuple:
        """Any single layer moved to a faster option that still meets the goal, until none does."""
        improved = True
        while improved:
            improved = False
            for index, name in enumerate(self.names):
                for option in self.options[name]:
                    trial = design[:index] + (option,) + design[index + 1:]
                    if self.meets(self.price(trial)) and self.objective(self.price(trial)) < self.objective(self.price(design)):
                        design, improved = trial, True
        return design

    def frontier(self) -> list[dict]:
        """The priced designs no other beats on both the objective and utilization, fastest first."""
        points = sorted(((self.objective(report)[0], self.utilization(report), design, report) for design, report in self._priced.items()), key=lambda p: p[:2])
        kept, lowest = [], math.inf
        for value, used, design, report in points:
            if used < lowest:
                lowest = used
                kept.append({"latency_cycles": report["total"]["latency_cycles"], "ii": report["total"]["ii"],
                             "utilization": round(100 * used, 2), "meets": self.meets(report),
                             "layers": {name: [setting.strategy, setting.reuse_factor] for name, setting in zip(self.names, design)}})
        return kept

    def spec_of(self, design: tuple) -> HLSSpec:
        """The base settings with every weighted layer's chosen strategy and reuse factor written per layer."""
        data = self.base.model_dump(mode="json")
        layers = data.setdefault("layers", {})
        for name, setting in zip(self.names, design):
            layers[name] = {**(layers.get(name) or {}), "strategy": setting.strategy, "reuse_factor": setting.reuse_factor}
        return hls_from_dict(data, source="fit")

    def why_nothing_fits(self) -> str:
        """The smallest part of the table whose margin the leanest design meets, else the resource that cannot fit."""
        lean = tuple(min(self.rows[name], key=lambda option: self.pressure(self.rows[name][option])) for name in self.names)
        report = self.price(lean)
        margin = f"{self.goal.max_utilization:.0%}"
        if self.utilization(report) <= self.goal.max_utilization:
            total = report["total"]
            return (f"no setting meets the latency/throughput asked: the fastest that fits {margin} of {self.part.base} takes "
                    f"{total['latency_cycles']:,} cycles, {total['throughput_per_s']:,.0f} inferences/s")
        bigger = sorted((part for part in PARTS.values() if self._lean_fits(lean, part.example)), key=lambda part: part.lut)
        judged, available = self.judged(report), report["part"]["available"]
        over = max(RESOURCES, key=lambda metric: judged[metric] / available[metric] if available[metric] else math.inf)
        need = f"{judged[over]:,} {over.upper().replace('_18K', '18')} {self.goal.judged}, where {margin} of {self.part.base} is " \
               f"{int(self.goal.max_utilization * available[over]):,}"
        if bigger:
            return f"nothing fits {margin} of {self.part.base} at any reuse factor (its leanest design needs {need}); the smallest part " \
                   f"of the table that fits: {bigger[0].example} ({bigger[0].board})"
        return f"nothing fits {margin} of {self.part.base} at any reuse factor, nor any part of the table: its leanest design needs {need}"

    def _lean_fits(self, lean: tuple, part_name: str) -> bool:
        report = self.whatif.price(dict(zip(self.names, lean)), self.base.model_copy(update={"part": part_name}))
        return self.utilization(report) <= self.goal.max_utilization
