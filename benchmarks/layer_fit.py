"""What fitting the FF prices on per-layer rows as well as design totals would do, out of sample (issue #34 item 2).

Run: .venv/bin/python benchmarks/layer_fit.py [--weight W] [--calibration DIR]
Fits the constants as codesign does (design totals only), then with every matched report instance of the training
designs (estimate/instances.py) and N-TORC's 230 Dense and Conv1D layers added as FF rows, each weighing W of a
design row. Prints, for both, the designs inside the targets leaving one source out, the report layers inside the
FF target (their source left out) and N-TORC's layers inside it (fitted on everything else). An experiment: the
shipped fit is still the design-only one (benchmarks/estimator.py).
"""

from __future__ import annotations

import argparse
import importlib.util
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


def layer_rows(samples: list, ntorc: list, latency: dict):
    """FF feature rows (with the pipeline stages at these timings) and vendor FF of every per-layer row."""
    import numpy as np

    from codesign.estimate.features import FF_FEATURES
    from codesign.estimate.instances import matched
    from codesign.estimate.model import layer_cycles, stage_bits

    rows, targets = [], []
    pairs = [(layer, instance, sample.timing) for sample in samples for layer, instance in matched(sample.instances, sample.features)] + ntorc
    for layer, vendor, timing in pairs:
        stages = stage_bits(layer, layer_cycles(layer, latency, timing)[2])
        rows.append([layer["ff"][key] for key in FF_FEATURES] + [stages * (timing.family == "7series"), stages * (timing.family == "ultrascale"), 0.0])
        targets.append(float(vendor["ff"]))
    return np.array(rows), np.array(targets)


def fit_with_layers(ntorc: list, weight: float):
    """fit.fit_constants with the per-layer FF rows of its training samples (and N-TORC's) added at `weight`."""
    import numpy as np

    from codesign.estimate import fit
    from codesign.estimate.model import FF_PRICES

    design_only = fit.fit_constants

    def fitted(samples, *args, **kwargs):
        constants = design_only(samples, *args, **kwargs)
        training = [sample for sample in samples if sample.fitted]
        design_rows = np.array([fit._totals(sample, "ff", constants.latency) for sample in training])
        design_targets = np.array([sample.published["ff"] for sample in training], dtype=float)
        extra_rows, extra_targets = layer_rows(training, ntorc, constants.latency)
        rows, targets = np.vstack([design_rows, extra_rows]), np.concatenate([design_targets, extra_targets])
        prices = fit._nnls_relative(rows, targets, row_weights=np.concatenate([np.ones(len(design_targets)), np.full(len(extra_targets), weight)]))
        ff = {name: round(float(value), 4) for name, value in zip(FF_PRICES, prices)}
        return type(constants)(**{**constants.as_dict(), "ff": ff})

    return fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration", type=Path, default=ROOT.parent / "shared" / "calibration")
    parser.add_argument("--weight", type=float, default=0.3)
    args = parser.parse_args()
    from codesign.estimate import fit
    from codesign.estimate.calibration import _sample, ntorc_layer_rows, samples
    from codesign.estimate.model import price_instance

    estimator = _estimator()
    found = samples(args.calibration)
    ntorc = []
    for row in ntorc_layer_rows(args.calibration):
        sample = _sample(row, row.convert())
        ntorc.append((next(layer for layer in sample.features if layer["name"] == "layer"), row.published, sample.timing))
    design_only = fit.fit_constants
    for label, fitter in (("design totals only (shipped)", design_only), (f"plus per-layer FF rows at weight {args.weight}", fit_with_layers(ntorc, args.weight))):
        fit.fit_constants = fitter
        by_origin = fit.source_constants(found)
        print(f"{label}:")
        print("  designs, leave one source out: " + estimator._inside(found, fit.leave_one_source_out(found, fitted=by_origin), "LOSO"))
        layers = estimator.report_layers(found, by_origin)
        inside = sum(estimator.inside_target("ff", estimate["ff"], vendor["ff"]) for _, estimate, vendor in layers)
        print(f"  report layers inside the FF target (source left out): {inside}/{len(layers)}")
        everything = fitter(found)
        inside = sum(estimator.inside_target("ff", price_instance(layer, everything, timing)["ff"], vendor["ff"]) for layer, vendor, timing in ntorc)
        print(f"  N-TORC layers inside the FF target ({'in sample' if fitter is not design_only else 'never fitted'}): {inside}/{len(ntorc)}")
    fit.fit_constants = design_only


if __name__ == "__main__":
    main()
