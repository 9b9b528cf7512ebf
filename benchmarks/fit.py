"""What-ifs per minute on the CIFAR-10 CNN, the fit's wall time, and the fitted design's estimate against a full
conversion of the same settings, in one run (docs/fit.md).

Run: .venv/bin/python benchmarks/fit.py [N_WHAT_IFS]
Builds models/cifar10_cnn.yaml untrained on synthetic data to its convert step (as `codesign fit` does), then times:
N random what-ifs (default 2,000: every weighted layer at a random strategy and one of the reuse factors hls4ml
accepts for it, on one of three parts) from the converted graph; three of them again by converting with hls4ml
(the path every what-if took before, `estimate_model`), and checks them equal; the fit for the U250; and a full
conversion of the fitted settings.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
PARTS = ("xcu250-figd2104-2L-e", "xcvu9p-flga2104-2L-e", "xczu9eg-ffvb1156-2-e")
FULL = 3


def main(n: int) -> None:
    from codesign.commands import build_run, resolve_build_spec
    from codesign.config import hls_from_dict
    from codesign.convert import conversion_of
    from codesign.estimate.run import estimate_model
    from codesign.fit import Goal, fit
    from codesign.fit_target import run_whatif
    from codesign.layout import RunLayout
    from codesign.records import ConversionRecord
    from codesign.validate import firmware_model

    spec, name = resolve_build_spec(ROOT / "models" / "cifar10_cnn.yaml", None, Path("synthetic"), None, None, no_train=True)
    with tempfile.TemporaryDirectory() as scratch:
        layout = RunLayout(Path(scratch) / name)
        build_run(spec, layout.root, lambda _: None, to_step="convert")
        started = time.perf_counter()
        whatif = run_whatif(spec, layout, spec.hls)
        converted = time.perf_counter() - started
        rng = random.Random(0)
        base = spec.hls.model_dump(mode="json")
        changes = [{"part": rng.choice(PARTS), "layers": {layer: {"strategy": rng.choice(("Latency", "Resource")), "reuse_factor": rng.choice(whatif.reuse_factors(layer))}
                                                      for layer in whatif.weighted}} for _ in range(n)]
        specs = [hls_from_dict({**base, **change}, source="benchmark") for change in changes]
        started = time.perf_counter()
        reports = [whatif.estimate(hls) for hls in specs]
        fast = time.perf_counter() - started
        candidate, input_type = conversion_of(ConversionRecord.read(layout.report("convert")))
        model = firmware_model(spec, layout)
        started = time.perf_counter()
        full = [estimate_model(model, hls, input_type, Path(scratch) / "log", candidate) for hls in specs[:FULL]]
        slow = (time.perf_counter() - started) / FULL
        same = all(json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) for a, b in zip(reports, full))
        started = time.perf_counter()
        result = fit(whatif, Goal(part="xcu250-figd2104-2L-e"))
        searched = time.perf_counter() - started
        check = estimate_model(model, result.hls, input_type, Path(scratch) / "log", candidate)
    per_what_if = fast / n
    print(f"CIFAR-10 CNN ({len(whatif.weighted)} weighted layers), {n} random what-ifs (strategy, reuse factor per layer, part)")
    print(f"  one conversion for all of them: {converted:.1f} s")
    print(f"  what-if from the converted graph: {1000 * per_what_if:.2f} ms each, {60 / per_what_if:,.0f} per minute")
    print(f"  what-if by converting again (before): {slow:.2f} s each, {60 / slow:,.0f} per minute ({FULL} of them)")
    print(f"  ratio: {slow / per_what_if:,.0f}x; the {FULL} converted again identical to their what-ifs: {same}")
    print(f"fit for xcu250-figd2104-2L-e: {searched:.2f} s, {result.evaluated} designs priced, {len(result.frontier)} on the frontier")
    print(f"  chosen: {json.dumps(result.layer_settings())}")
    print(f"  its estimate: {result.report['total']}")
    print(f"  a full conversion of it: {check['total']} (identical: {check['total'] == result.report['total']})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
