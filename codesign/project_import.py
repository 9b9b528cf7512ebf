"""`codesign import`: a codesign run made from an existing hls4ml project folder (docs/python_api.md).

The run keeps the project's design as its author configured it: its Keras model, and its HLSConfig converted as
written (precision 'as-configured'), with the part, clock, io type, strategy and reuse factor of its config, and the
head (a final softmax or sigmoid) in the firmware where the project put it (the clock
of the build where the folder's C-synthesis report names another). A
project whose model this stack cannot load, or with no config, is imported from its firmware: the same layers
rebuilt as a float Keras model with the firmware's types (codesign/estimate/firmware.py). It is
validated against the user's data, or, without data, against inputs drawn across the input type's whole range
(flagged as synthetic everywhere, as any synthetic data is).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from codesign.config import Spec, spec_from_dict
from codesign.errors import ModelError
from codesign.estimate.project import REBUILT_MODEL, clock_of_build, project_with_a_model
from codesign.estimate.vendor import build_of_report
from codesign.fixed import Fixed

SYNTHETIC_SAMPLES = {"train": 256, "test": 1000}
RENAMES = "renames.json"  # beside the imported model: layer names that are not C++ identifiers -> the names used


def import_spec(folder: Path, name: str, data: Path | None, run_dir: Path, say: Callable[[str], None], domain: list | None = None) -> Spec:
    """Copy the project's model (or the one rebuilt from its firmware) and HLSConfig into run_dir/imported/ and return
    the run's spec."""
    imported = Path(run_dir) / "imported"
    project = project_with_a_model(folder, imported)
    project.clock_ns = clock_of_build(build_of_report(folder), project.clock_ns, project.notes)
    project.notes += _firmware_not_imported(folder, project)
    for note in project.notes:
        say(f"note: {note}")
    imported.mkdir(parents=True, exist_ok=True)
    model_path = imported / project.model_path.name
    if project.model_path != model_path:
        shutil.copy2(project.model_path, model_path)
    if project.renames:
        (imported / RENAMES).write_text(json.dumps(project.renames, indent=2) + "\n")
    config_path = imported / "hls4ml_config.yml"
    config_path.write_text(yaml.safe_dump(project.hls_config, sort_keys=False))
    if data is None:
        data = imported / "synthetic_inputs.npz"
        fixed = synthetic_inputs(model_path, project, data)
        say(f"no --data: validating on {SYNTHETIC_SAMPLES['test']} inputs drawn across {fixed.hls4ml()} (synthetic)")
    spec = {
        "name": name,
        "model": {"file": str(model_path.resolve())},
        "dataset": {"name": "npz", "path": str(Path(data).resolve())},
        "training": {"enabled": False},
        "hls": {
            "backend": project.backend,
            "part": project.part,
            "clock_ns": project.clock_ns,
            "io_type": project.io_type,
            "strategy": project.strategy if project.strategy in ("Latency", "Resource") else "Latency",
            "reuse_factor": project.reuse_factor,
            "precision": "as-configured",
            "hls4ml_config": str(config_path.resolve()),
            "head": "firmware" if _has_head(model_path) else "host",  # the project's final softmax/sigmoid stays in its firmware
        },
        "validation": {"domain": domain},
    }
    return spec_from_dict(spec, source=f"hls4ml project {folder}")


def _firmware_not_imported(folder: Path, project) -> list[str]:
    """A note where the project's firmware is not its config's design (another hls4ml wrote it): the run is the
    config's design, and `codesign estimate FOLDER` estimates the firmware (estimate/project.py::design_of)."""
    from codesign.estimate.project import OTHER_FIRMWARE, design_of

    if project.model_path.name == REBUILT_MODEL:
        return []  # imported from its firmware already
    try:
        notes = design_of(Path(folder))[2]
    except ModelError:
        return []
    return [f"the run is the config's design (its Keras model as hls4ml 1.3 converts it), not the firmware as written, which "
            f"`codesign estimate {folder}` estimates: {note}" for note in notes if note.startswith(OTHER_FIRMWARE)]


def _has_head(model_path: Path) -> bool:
    """Whether the model ends with a softmax, sigmoid or tanh (hls4ml put it in the project's firmware)."""
    from codesign.model import load_keras_model
    from codesign.quantizers import float_head

    return float_head(load_keras_model(model_path)) is not None


def input_type(project) -> Fixed:
    """The firmware's input type, as hls4ml resolves the config (an 'auto' input takes the model default)."""
    from codesign.estimate.project import convert_project
    from codesign.fixed import of_precision

    first = next(iter(convert_project(project).get_layers()))
    found = of_precision(first.get_output_variable().type.precision)
    if found is None:
        raise ModelError(f"{project.folder}: the input type is not fixed point ({first.get_output_variable().type.precision}); give --data")
    return found


def synthetic_inputs(model_path: Path, project, path: Path) -> Fixed:
    """An .npz of inputs uniform over every value of the input type (exactly representable), labelled with the
    model's own outputs (argmax for a vector output): what validation needs, marked synthetic."""
    from codesign.model import load_keras_model
    from codesign.outputs import first_output, predicted

    model = load_keras_model(model_path)
    fixed = input_type(project)
    rng = np.random.default_rng(0)
    shape = tuple(model.input_shape[1:])
    arrays = {}
    for split, count in SYNTHETIC_SAMPLES.items():
        raw = rng.integers(int(fixed.low), int(fixed.high), size=(count, *shape), endpoint=True)
        x = (raw * fixed.lsb).astype(np.float32)
        outputs = first_output(model, predicted(model, x))  # several outputs: labels for the first, which is scored
        y = outputs.argmax(axis=-1) if outputs.ndim == 2 and outputs.shape[1] > 1 else outputs.reshape(count, -1).astype(np.float32)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    np.savez(path, **arrays, synthetic=np.array(True))
    return fixed
