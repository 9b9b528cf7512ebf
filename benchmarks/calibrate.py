"""What `codesign calibrate` buys: each calibration design estimated out of sample (constants fitted without its source),
then again with the other designs of its source added as a user's own builds (estimate/local.py's ratios).

Run: .venv/bin/python benchmarks/calibrate.py [--calibration DIR]
Per source with two or more designs built by one tool on one fabric: designs, then per metric the designs inside the
targets (latency within max(1 cycle, 20%), DSP within max(2, 1.5x), LUT and FF within 2x) before -> after, and all four
inside before -> after. Printed in Markdown for docs/estimation.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from estimator import DEFAULT_CALIBRATION, TARGET_METRICS, inside_target  # noqa: E402


def corrected_by_source(found: list, loso: dict) -> dict:
    """Each design's leave-one-source-out totals scaled by the ratios its source's other designs (same tool family, not
    the same design) give when added as builds."""
    from codesign.estimate.local import build_key, ratios

    corrected = {}
    for sample in found:
        key = build_key(sample.timing.scheduler, sample.timing.family)
        builds = [{"key": key, "estimate": loso[other.id], "vendor": other.published} for other in found
                  if other.origin == sample.origin and other.group != sample.group and build_key(other.timing.scheduler, other.timing.family) == key]
        if builds:
            factor = ratios(builds)[key]
            corrected[sample.id] = {metric: loso[sample.id][metric] * factor.get(metric, 1.0) for metric in TARGET_METRICS}
    return corrected


def main() -> None:
    from codesign.estimate.calibration import samples
    from codesign.estimate.fit import leave_one_source_out

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=DEFAULT_CALIBRATION)
    arguments = parser.parse_args()
    started = time.perf_counter()
    found = [sample for sample in samples(arguments.calibration, progress=lambda i, n, name: print(f"\r  converting {i}/{n}", end="", file=sys.stderr))
             if sample.fitted]
    print(file=sys.stderr)
    loso = leave_one_source_out(found, progress=lambda i, n, name: print(f"\r  leave-one-source-out {i}/{n}", end="", file=sys.stderr))
    print(file=sys.stderr)
    corrected = corrected_by_source(found, loso)
    print("| source | designs | " + " | ".join(TARGET_METRICS) + " | all four |")
    print("|---|---|" + "---|" * (len(TARGET_METRICS) + 1))
    totals = {"before": 0, "after": 0, "rows": 0, **{f"{metric} {when}": 0 for metric in TARGET_METRICS for when in ("before", "after")}}
    for origin in sorted({sample.origin for sample in found if sample.id in corrected}):
        mine = [sample for sample in found if sample.origin == origin and sample.id in corrected]
        cells = []
        for metric in TARGET_METRICS:
            before = sum(inside_target(metric, loso[s.id][metric], s.published[metric]) for s in mine)
            after = sum(inside_target(metric, corrected[s.id][metric], s.published[metric]) for s in mine)
            totals[f"{metric} before"] += before
            totals[f"{metric} after"] += after
            cells.append(f"{before} -> {after}")
        every_before = sum(all(inside_target(m, loso[s.id][m], s.published[m]) for m in TARGET_METRICS) for s in mine)
        every_after = sum(all(inside_target(m, corrected[s.id][m], s.published[m]) for m in TARGET_METRICS) for s in mine)
        totals["before"] += every_before
        totals["after"] += every_after
        totals["rows"] += len(mine)
        print(f"| {origin} | {len(mine)} | " + " | ".join(cells) + f" | {every_before} -> {every_after} |")
    print(f"| **all** | {totals['rows']} | " + " | ".join(f"{totals[metric + ' before']} -> {totals[metric + ' after']}" for metric in TARGET_METRICS)
          + f" | {totals['before']} -> {totals['after']} |")
    print(f"\n{totals['rows']} rows of {len({s.origin for s in found if s.id in corrected})} sources with another design of the same tool family; "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
