"""The differential fuzzer over many models: `codesign fuzz` for several seeds, one table and the three failure counts.

    .venv/bin/python benchmarks/fuzz.py [--n 200] [--seeds 101,102,103] [--out hls_projects/fuzz_bench] [--no-shrink] [--generation G]

Each seed's models are built as a user would (codesign/fuzz.py); the summary line per seed is what docs/fuzzing.md
shows. About 15 s a model on this project's 2-core machine: 200 models take about 50 minutes per seed. CI runs a
small seed set instead (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's codesign, not the one installed

from codesign.fuzz_models import DRAWN, GENERATION  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seeds", default="101,102,103")
    parser.add_argument("--out", type=Path, default=Path("hls_projects/fuzz_bench"))
    parser.add_argument("--no-shrink", action="store_true")
    parser.add_argument("--generation", type=int, default=GENERATION, choices=sorted(DRAWN), help="older ones: the generators of earlier sweeps (docs/fuzzing.md)")
    arguments = parser.parse_args()

    import tensorflow as tf

    from codesign.fuzz import FAILURES, fuzz, summary

    tf.get_logger().setLevel("ERROR")
    failed = 0
    lines = []
    for seed in (int(value) for value in arguments.seeds.split(",")):
        started = time.perf_counter()
        rows = fuzz(arguments.n, seed, arguments.out / f"seed{seed}", print, shrink_failures=not arguments.no_shrink, generation=arguments.generation)
        counts = summary(rows)
        failed += sum(counts[kind] for kind in FAILURES)
        lines.append(f"seed {seed}: {len(rows)} models in {time.perf_counter() - started:,.0f} s: "
                     + ", ".join(f"{kind} {number}" for kind, number in counts.items()))
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
