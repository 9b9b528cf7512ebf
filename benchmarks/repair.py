"""`codesign repair` on the public hls4ml projects of ../shared/calibration that hold a model and a config: the outcome
of each (exact and proven, decisions matched for a float model, or the one-line refusal), its changes, the settings
kept, whether plain hls4ml reconverts the written config to the same types, and the time. Without data: each is
validated on inputs drawn across its input type (synthetic).

    .venv/bin/python benchmarks/repair.py [--all] [--out DIR]

By default one project per distinct model (the six MLPs at reuse factor 1, the LeNet on its ZCU104, the pruned CNN, and
projects2's with a model); --all repairs every one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from codesign.errors import CodesignError
from codesign.project_repair import repair_project

CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "calibration"


def projects(every: bool) -> list[Path]:
    """The folders with both hls4ml_config.yml and a Keras model."""
    found = sorted(folder for folder in [*CALIBRATION.glob("projects/*"), *CALIBRATION.glob("projects2/*")]
                   if (folder / "hls4ml_config.yml").is_file() and any(folder.glob("keras_model.*")))
    if every:
        return found
    return [folder for folder in found if "ArgyKokk" not in folder.name or folder.name.endswith("DSP_reuse1")
            if "CestMerNeil" not in folder.name or folder.name.endswith("ZCU104")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every project, not one per distinct model")
    parser.add_argument("--out", type=Path, help="where the repaired projects go (default: a temporary folder)")
    arguments = parser.parse_args()
    root = arguments.out or Path(tempfile.mkdtemp(prefix="codesign-repair-"))
    chosen = projects(arguments.all)
    print("| project | status | changes | before: differ, proof | after: differ, proof, argmax | settings kept | reconverts | s |")
    print("|---|---|---|---|---|---|---|---|")
    for folder in chosen:
        started = time.perf_counter()
        try:
            report = repair_project(folder, root / folder.name, None, lambda _: None)
        except CodesignError as error:
            print(f"| {folder.name} | refused: {str(error).splitlines()[0][:160]} | | | | | | {time.perf_counter() - started:.0f} |", flush=True)
            continue
        before, after = report["before"]["validation"], report["after"]["validation"]
        print(f"| {folder.name} | {report['status']} | {len(report['changes'])} | {before['mismatched_samples']}/{before['samples']}, "
              f"{before['proof']['status']} | {after['mismatched_samples']}/{after['samples']}, {after['proof']['status']}, "
              f"{after['argmax_agreement']} | {'yes' if report['settings_kept'] else 'NO'} | "
              f"{'yes' if report['reconverted']['same_firmware'] else 'no'} | {time.perf_counter() - started:.0f} |", flush=True)
    print(f"repaired projects in {root}")


if __name__ == "__main__":
    main()
