"""Bit-exactness on the QKeras corpus: codesign's bit-exact policy beside plain hls4ml's two modes, model by model.

    .venv/bin/python benchmarks/bitexact_corpus.py [--only NAME ...]

For every model of tests/qkeras_corpus.py (written after hls4ml's and QKeras's own examples), on the same 200 test
samples: plain hls4ml 1.3 with wide defaults (fixed<24,8>, granularity='name') and with bit_exact=True, each
compiled and run with hls4ml's own predict, and `codesign build --model --data` (which also says which of its type
candidates it kept). Prints one line per model and the counts of exact models.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def plain_hls4ml(model, x, reference, io_type: str, folder: Path, bit_exact: bool) -> str:
    """'exact', 'N differ' or why it failed, for plain hls4ml in one of its modes."""
    import hls4ml

    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis", default_precision="fixed<24,8>")
            graph = hls4ml.converters.convert_from_keras_model(
                model, hls_config=config, output_dir=str(folder), backend="Vitis", io_type=io_type, bit_exact=bit_exact or None
            )
            graph.compile()
            outputs = graph.predict(np.ascontiguousarray(x, dtype=np.float64))
    except Exception as error:  # hls4ml and g++ fail in many ways; the benchmark records which
        return f"failed ({type(error).__name__})"
    differ = int((np.asarray(outputs).reshape(len(x), -1) != reference.reshape(len(x), -1)).any(axis=1).sum())
    return "exact" if differ == 0 else f"{differ} differ"


def codesign_build(entry, folder: Path) -> str:
    """codesign's outcome on a saved model and .npz: 'exact (candidate)' or the error."""
    from qkeras_corpus import build_saved

    from codesign.errors import CodesignError
    from codesign.layout import RunLayout, read_json

    try:
        run_dir = build_saved(entry, folder)
    except CodesignError as error:
        return f"exit {error.exit_code}: {str(error)[:90]}"
    kept = next(c["candidate"] for c in read_json(RunLayout(run_dir).report("convert"))["candidates"] if c["kept"])
    return f"exact ({kept})"


def main() -> None:
    import tensorflow as tf
    from qkeras_corpus import CORPUS, corpus_data

    from codesign.model import load_keras_model

    tf.get_logger().setLevel("ERROR")

    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None)
    names = parser.parse_args().only
    counts = {"hls4ml wide": 0, "hls4ml bit_exact=True": 0, "codesign": 0}
    entries = [entry for entry in CORPUS if not names or entry.name in names]
    for entry in entries:
        with tempfile.TemporaryDirectory(prefix="codesign-corpus-") as scratch:
            folder = Path(scratch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                entry.build().save(folder / "model.h5")
            arrays = corpus_data(entry)
            np.savez(folder / "data.npz", **arrays)
            model = load_keras_model(folder / "model.h5")
            x = arrays["x_test"]
            reference = model.predict(x, verbose=0).astype(np.float64)
            wide = plain_hls4ml(model, x, reference, entry.io_type, folder / "wide", bit_exact=False)
            exact = plain_hls4ml(model, x, reference, entry.io_type, folder / "bit_exact", bit_exact=True)
            ours = codesign_build(entry, folder)
        counts["hls4ml wide"] += wide == "exact"
        counts["hls4ml bit_exact=True"] += exact == "exact"
        counts["codesign"] += ours.startswith("exact")
        print(f"{entry.name:26s} hls4ml wide: {wide:18s} bit_exact=True: {exact:18s} codesign: {ours}", flush=True)
    print(", ".join(f"{key} {value}/{len(entries)} exact" for key, value in counts.items()))


if __name__ == "__main__":
    main()
