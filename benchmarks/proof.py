"""How long the proof over the whole input domain takes on the reference CNNs of models/, beside a conversion.

    .venv/bin/python benchmarks/proof.py [SPEC ...]      (default: models/cifar10_cnn.yaml models/digits_cnn.yaml)

Each spec's QKeras model (seeded weights, no training: the proof's work does not depend on training) is converted
with hls4ml's bit_exact=True types, the bit-exact policy's first candidate, and written (no g++ compile: the proof
reads the written graph and weights). Prints the conversion's seconds and the proof's (median of 3, in one run),
its status and, where it is not proven, why.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import tensorflow as tf

    from codesign.config import load_spec
    from codesign.convert import BIT_EXACT_CANDIDATES, convert
    from codesign.data import SHAPES
    from codesign.model import build_qkeras
    from codesign.proof import prove
    from codesign.typesearch import input_types

    tf.get_logger().setLevel("ERROR")
    for path in sys.argv[1:] or [ROOT / "models" / "cifar10_cnn.yaml", ROOT / "models" / "digits_cnn.yaml"]:
        spec = load_spec(path)
        tf.keras.utils.set_random_seed(spec.training.seed)
        model = build_qkeras(spec, SHAPES[spec.dataset.name][0])
        input_type = input_types(model, spec.quantization.input, None)["narrowest"][0]
        with tempfile.TemporaryDirectory(prefix="codesign-proof-") as scratch:
            started = time.perf_counter()
            convert(model, spec.hls, Path(scratch) / "hls", input_type, Path(scratch) / "convert.log", BIT_EXACT_CANDIDATES[0])
            converted = time.perf_counter() - started
            seconds = []
            for _ in range(3):
                started = time.perf_counter()
                proof = prove(Path(scratch) / "hls", model, spec.validation.domain)
                seconds.append(time.perf_counter() - started)
        print(f"{Path(path).name:22s} {model.count_params():>10,} parameters  conversion {converted:6.1f} s  "
              f"proof {statistics.median(seconds):6.2f} s  {proof.status}: {proof.why or proof.domain['text']}", flush=True)


if __name__ == "__main__":
    main()
