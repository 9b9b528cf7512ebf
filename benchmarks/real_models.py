"""Every distinct QKeras model of the public hls4ml projects in ../shared/calibration, built as a user would.

    .venv/bin/python benchmarks/real_models.py [CALIBRATION_DIR]

Each model file with QKeras layers (projects/ and projects2/, the same file once) is built with
`codesign build --model MODEL --data DATA --to validate` under the default policy (bit-exact, head on the host),
on 200 test inputs drawn from a normal distribution and rounded to a 2^-8 grid (the projects' data are not
public). Prints one Markdown row per model: bit-exact or not, the first diverging layer and why, the proof, the
head, the type candidate kept, and the build's seconds.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]


def models(calibration: Path) -> list[tuple[str, Path]]:
    """(project, model file) for every distinct QKeras model file, by content."""
    from codesign.model import load_keras_model
    from codesign.quantizers import has_quantizers

    found, seen = [], set()
    for folder in sorted(list((calibration / "projects").iterdir()) + list((calibration / "projects2").iterdir())):
        for path in sorted(folder.glob("*.h5")) + sorted(folder.glob("*.keras")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            try:
                quantized = has_quantizers(load_keras_model(path))
            except Exception as error:  # a file codesign cannot load is a row too
                found.append((folder.name, path, "not loaded: " + str(error).splitlines()[0].split(": ", 1)[-1][:160]))
                continue
            if quantized:
                found.append((folder.name, path, None))
    return found


def data_for(model, folder: Path, seed: int = 0) -> Path:
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = tuple(model.input_shape[1:])
    outputs = int(model.output_shape[-1])
    arrays = {}
    for split, count in (("train", 100), ("test", 200)):
        x = (np.round(rng.normal(size=(count, *shape)) * 256) / 256).astype(np.float32)
        y = rng.integers(0, outputs, count) if outputs > 1 else rng.normal(size=(count, 1)).astype(np.float32)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    np.savez(folder / "data.npz", **arrays)
    return folder / "data.npz"


def main() -> None:
    from codesign.commands import build_run, resolve_build_spec
    from codesign.errors import CodesignError
    from codesign.layout import RunLayout, read_json_if_exists
    from codesign.model import load_keras_model

    calibration = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "calibration"
    print("| project | model | bit-exact | first diverging layer, why | proof | head | kept candidate | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for project, path, refused in models(calibration):
        if refused:
            print(f"| {project} | {path.name} | - | {refused} | - | - | - | - |")
            continue
        with tempfile.TemporaryDirectory(prefix="codesign-real-") as scratch:
            folder = Path(scratch)
            data = data_for(load_keras_model(path), folder)
            spec, name = resolve_build_spec(None, path, data, "real", None)
            started = time.perf_counter()
            error = None
            try:
                build_run(spec, folder / name, lambda _: None, to_step="validate")
            except CodesignError as failure:
                error = str(failure).splitlines()[0]
            seconds = time.perf_counter() - started
            layout = RunLayout(folder / name)
            report = read_json_if_exists(layout.report("validate")) or {}
            convert = read_json_if_exists(layout.report("convert")) or {}
            kept = next((entry["candidate"] for entry in convert.get("candidates") or [] if entry["kept"]), convert.get("conversion", "-"))
            diverging = report.get("first_diverging_layer") or {}
            why = f"{diverging.get('name')} ({diverging.get('class')}): {diverging.get('why') or 'no reason known'}" if diverging else (error or "-")
            exact = {True: "yes", False: f"no ({report.get('mismatched_samples')} of {report.get('samples')})"}.get(report.get("bit_exact"), "-")
            proof = (report.get("proof") or {}).get("status", "-")
            if proof != "proven" and (report.get("proof") or {}).get("why"):
                proof += f" ({report['proof']['why'][:160]})"
            head = (report.get("head") or {}).get("function", "none")
            print(f"| {project} | {path.name} | {exact} | {why[:200]} | {proof} | {head} | {kept} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
