"""How much the per-layer rows should weigh in the fit (fit.LAYER_ROW_WEIGHT for FF prices, fit.LATENCY_LAYER_WEIGHT
for the latency timings), decided out of sample (issue #34 item 2).

Run: .venv/bin/python benchmarks/layer_fit.py [--constant LAYER_ROW_WEIGHT] [--weights 0 0.02 0.05 0.1 0.2 0.3 0.5]
For each weight of that constant (0: design totals only; the other constant as shipped), fits the constants as
benchmarks/estimator.py does (every report's matched layer instances and N-TORC's 230 Dense and Conv1D layers as
rows beside the design totals) and prints: the designs inside the targets leaving one source out, the report layers
inside the latency and FF targets (their source left out) and N-TORC's layers inside them (fitted without N-TORC).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _estimator():
    spec = importlib.util.spec_from_file_location("estimator_benchmark", ROOT / "benchmarks" / "estimator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=ROOT.parent / "shared" / "calibration")
    parser.add_argument("--constant", choices=("LAYER_ROW_WEIGHT", "LATENCY_LAYER_WEIGHT"), default="LAYER_ROW_WEIGHT")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5])
    args = parser.parse_args()
    import numpy as np

    from codesign.estimate import fit
    from codesign.estimate.calibration import ntorc_layers, samples
    from codesign.estimate.model import price_instance

    estimator = _estimator()
    found = samples(args.calibration, progress=lambda i, n, name: print(f"\r  converting {i}/{n}", end="", file=sys.stderr))
    ntorc = ntorc_layers(args.calibration, progress=lambda i, n, name: print(f"\r  N-TORC layers {i}/{n}", end="", file=sys.stderr))
    print(file=sys.stderr)
    shipped = getattr(fit, args.constant)
    print(f"| {args.constant} | designs (leave one source out): rows | latency | DSP | LUT | FF | BRAM | all four "
          "| designs' FF: median, 90th percentile \\|log vendor / estimate\\| | report layers: latency | FF | N-TORC: latency | FF |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for weight in args.weights:
        setattr(fit, args.constant, weight)
        by_origin = fit.source_constants(found, layers=ntorc)
        predictions = fit.leave_one_source_out(found, fitted=by_origin)
        designs = estimator._inside(found, predictions, "LOSO").split("|")[2:-1]
        errors = np.abs([math.log(fit.ratio(predictions[sample.id]["ff"], sample.published["ff"])) for sample in found])
        designs.append(f" {np.median(errors):.2f}, {np.quantile(errors, 0.9):.2f} ")
        layers = estimator.report_layers(found, by_origin)
        without_ntorc = fit.fit_constants(found)
        priced = [(price_instance(row.features, without_ntorc, row.timing), row.published) for row in ntorc]
        cells = []
        for pairs in ([(estimate, vendor) for _, estimate, vendor in layers], priced):
            for metric in ("latency_cycles", "ff"):
                known = [(estimate[metric], vendor[metric]) for estimate, vendor in pairs if vendor.get(metric) is not None]
                cells.append(f" {sum(estimator.inside_target(metric, e, v) for e, v in known)}/{len(known)} ")
        mark = " (shipped)" if weight == shipped else ""
        print(f"| {weight:g}{mark} |" + "|".join(designs) + "|" + "|".join(cells) + "|", flush=True)
    setattr(fit, args.constant, shipped)


if __name__ == "__main__":
    main()
