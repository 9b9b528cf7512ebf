"""Estimates that learn from the user's own builds: `codesign calibrate` keeps their vendor results (C-synthesis reports of
their hls4ml projects) in a local calibration, and every later estimate of a design the same tool builds on the same
fabric is scaled, metric by metric, by what those builds say of the shipped estimator's error (docs/estimation.md).

The correction is a ratio per metric: the geometric mean of vendor / estimate over the user's builds, shrunk towards 1
as if the shipped calibration were PRIOR_BUILDS more builds that agree with it, and further where the builds disagree
(`_shrunk`). It refits in milliseconds: nothing but the ratios is kept.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

from codesign.layout import read_json, write_json

DEFAULT_PATH = Path("hls_projects") / "calibration.json"  # beside the run directories `codesign build` writes
ENVIRONMENT = "CODESIGN_CALIBRATION"  # a path the user names instead
METRICS = ("dsp", "lut", "ff", "bram_18k", "latency_cycles")
PRIOR_BUILDS = 1.0  # the shipped calibration's weight against the user's builds, in builds
# corrected: the resources. Latency is kept with each build but not corrected: on the calibration sources a shared
# correction (a ratio, or cycles added) took more designs out of the latency target than it brought in (58 -> 44-47 of 92;
# benchmarks/calibrate.py): its errors are per design kind, not a bias of the tool
CORRECTED = ("dsp", "lut", "ff", "bram_18k")


def calibration_path() -> Path:
    """Where estimates look for the user's calibration: $CODESIGN_CALIBRATION, else hls_projects/calibration.json."""
    return Path(os.environ.get(ENVIRONMENT) or DEFAULT_PATH)


def build_key(scheduler: str, family: str) -> str:
    """What a correction is kept for: the tool that schedules (Vivado HLS / Vitis HLS) on a fabric (7-series / UltraScale)."""
    return f"{scheduler} on {family}"


def ratios(builds: list[dict]) -> dict[str, dict]:
    """Per tool family: each metric's correction (vendor / estimate, geometric mean shrunk towards 1) and how many builds
    it rests on."""
    fitted = {}
    for key in sorted({build["key"] for build in builds}):
        mine = [build for build in builds if build["key"] == key]
        entry = {"builds": len(mine)}
        for metric in CORRECTED:
            logs = [math.log((build["vendor"][metric] + 1) / (build["estimate"][metric] + 1)) for build in mine
                    if build["vendor"].get(metric) is not None and build["estimate"].get(metric) is not None]
            entry[metric] = round(math.exp(_shrunk(logs)), 4) if logs else 1.0
        fitted[key] = entry
    return fitted


def _shrunk(logs: list[float]) -> float:
    """The log correction the builds support: their mean log ratio, shrunk towards 0 by the shipped calibration's weight
    (PRIOR_BUILDS) and by how much the builds disagree (the squared standard error over the squared mean: a bias the
    builds share is learnt, a ratio that varies from design to design is not)."""
    count, mean = len(logs), sum(logs) / len(logs)
    if count > 1 and mean:
        spread = sum((value - mean) ** 2 for value in logs) / (count - 1) / count
        mean *= max(0.0, 1.0 - spread / mean**2)
    return mean * count / (count + PRIOR_BUILDS)


@functools.lru_cache(maxsize=4)
def _ratios_in(path: str, modified: int) -> dict:
    """A calibration file's ratios, read once per version of the file (`codesign fit` prices thousands of designs)."""
    return read_json(Path(path)).get("ratios") or {}


def corrected(report: dict, key: str, path: Path | None = None) -> dict:
    """The estimate scaled by the user's calibration for its tool family (totals and intervals; per-layer rows stay as
    the shipped estimator prices them), with a note; unchanged where there is none."""
    path = path or calibration_path()
    if not path.is_file():
        return report
    entry = _ratios_in(str(path), path.stat().st_mtime_ns).get(key)
    if not entry:
        report["notes"].append(f"your calibration ({path}) has no build of {key}: not used")
        return report
    for metric in CORRECTED:
        factor = entry[metric]
        report["total"][metric] = int(round(report["total"][metric] * factor))
        low, high = report["interval"][metric]
        report["interval"][metric] = [int(math.floor(low * factor)), int(math.ceil(high * factor))]
    report["calibrated_with"] = {"builds": entry["builds"], "path": str(path), "ratios": {metric: entry[metric] for metric in CORRECTED}}
    report["notes"].append(f"calibrated with {entry['builds']} of your builds ({key}, {path}): totals " + describe(entry) + "; per-layer rows uncorrected")
    return report


def describe(entry: dict) -> str:
    """'dsp x0.97, lut x1.06, ff x1.24, bram_18k x1 (latency as shipped)': what a correction does to the totals."""
    return ", ".join(f"{metric} x{entry[metric]:g}" for metric in CORRECTED) + " (latency as shipped)"
