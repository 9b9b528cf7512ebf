"""The proof over the whole input domain on the QKeras corpus: proven, counterexample (replayed), or unproven and why.

    .venv/bin/python benchmarks/proof_corpus.py [--only NAME ...]

Every model of tests/qkeras_corpus.py is built by `codesign build --model --data` (the bit-exact policy, its types
chosen by verification and proof) to its validate step. For each: the proof's status over the default domain, the
seconds the proof took, a counterexample replayed through Run.emulate and Run.predict_qkeras (it must differ on every
input kept), and the reason when the status is unproven. Prints one line per model and the counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def build(entry, folder: Path) -> tuple[dict | None, str]:
    """The run's validate.json (None when the build failed) and how long the build took."""
    from qkeras_corpus import build_saved

    from codesign.errors import CodesignError
    from codesign.layout import RunLayout, read_json_if_exists

    started = time.perf_counter()
    try:
        build_saved(entry, folder)
        outcome = f"{time.perf_counter() - started:.0f} s"
    except CodesignError as error:
        outcome = f"exit {error.exit_code} after {time.perf_counter() - started:.0f} s"
    return read_json_if_exists(RunLayout(folder / entry.name).report("validate")), outcome


def replays(run_dir: Path, proof: dict) -> str:
    """'replays on N of N' when every saved input differs between the firmware and QKeras through the API."""
    import codesign

    run = codesign.Run(run_dir, require_complete=False)
    x = np.load(run_dir / proof["counterexample"])["x"]
    differs = (run.emulate(x) != run.predict_qkeras(x).astype(np.float64)).reshape(len(x), -1).any(axis=1)
    return f"replays on {int(differs.sum())} of {len(x)}"


def main() -> None:
    import tensorflow as tf
    from qkeras_corpus import CORPUS, corpus_data

    tf.get_logger().setLevel("ERROR")
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None)
    names = parser.parse_args().only
    entries = [entry for entry in CORPUS if not names or entry.name in names]
    counts: Counter = Counter()
    for entry in entries:
        with tempfile.TemporaryDirectory(prefix="codesign-proof-") as scratch:
            folder = Path(scratch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                entry.build().save(folder / "model.h5")
            np.savez(folder / "data.npz", **corpus_data(entry))
            report, took = build(entry, folder)
            proof = (report or {}).get("proof")
            if proof is None:
                counts["no proof (build failed)"] += 1
                print(f"{entry.name:28s} no proof: build {took}", flush=True)
                continue
            counts[proof["status"]] += 1
            detail = replays(folder / entry.name, proof) if proof["status"] == "counterexample" else ""
            shown = f"{proof['status']:15s} proof {proof['seconds']:.2f} s, build {took}  {detail}  {proof.get('why') or ''}"
            print(f"{entry.name:28s} {shown[:260]}", flush=True)
    print(", ".join(f"{status} {count}" for status, count in counts.most_common()) + f" (of {len(entries)})")


if __name__ == "__main__":
    main()
