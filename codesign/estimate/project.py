"""hls4ml project folders (hls4ml_config.yml and the Keras model beside it), converted as configured there.

Configs from hls4ml 0.6-1.3 are read: the `!keras_model` tag, old key names (XilinxPart), accelerator backends
(VivadoAccelerator -> Vivado), and per-layer keys hls4ml 1.3 does not know (dropped, each with a note).
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from codesign.errors import ModelError

CONFIG_NAME = "hls4ml_config.yml"
MODEL_NAMES = ("keras_model.h5", "keras_model.keras")
STRATEGIES = {"latency": "Latency", "resource": "Resource", "distributed_arithmetic": "distributed_arithmetic"}
BACKENDS = {"Vivado": "Vivado", "Vitis": "Vitis", "VivadoAccelerator": "Vivado", "VitisAccelerator": "Vitis"}
LAYER_KEYS = {  # what hls4ml 1.3 takes per layer in LayerName (older configs carry more)
    "Precision", "ReuseFactor", "Strategy", "Trace", "TableSize", "Implementation", "Skip", "ParallelizationFactor",
    "ConvImplementation", "exp_table_t", "inv_table_t", "BramFactor", "Compression", "accum_t", "table_t",
}


@dataclass
class Project:
    """What a project folder configures: the model, hls4ml's HLSConfig, and the design settings."""

    folder: Path
    model_path: Path
    hls_config: dict
    backend: str
    part: str
    clock_ns: float
    io_type: str
    strategy: str
    reuse_factor: int
    notes: list[str] = field(default_factory=list)


def is_project(path: Path) -> bool:
    return Path(path).is_dir() and (Path(path) / CONFIG_NAME).is_file()


class _ConfigLoader(yaml.SafeLoader):
    """hls4ml writes `KerasModel: !keras_model 'path'`: read the tag as the path it holds."""


_ConfigLoader.add_constructor("!keras_model", lambda loader, node: loader.construct_scalar(node))


def read_project(folder: Path) -> Project:
    """The project's settings and model path; ModelError naming what is missing or unreadable."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    try:
        config = yaml.load(path.read_text(), Loader=_ConfigLoader)  # noqa: S506 (a SafeLoader with one tag added)
    except (OSError, yaml.YAMLError) as error:
        raise ModelError(f"{path}: not a readable hls4ml config ({' '.join(str(error).split())[:120]})") from None
    if not isinstance(config, dict) or not isinstance(config.get("HLSConfig"), dict):
        raise ModelError(f"{path}: no HLSConfig section: not an hls4ml project config")
    notes: list[str] = []
    hls_config = _known_keys(config["HLSConfig"], notes)
    model = hls_config.get("Model", {})
    backend = BACKENDS.get(str(config.get("Backend", "Vivado")))
    if backend is None:
        raise ModelError(f"{path}: backend '{config.get('Backend')}' is not one codesign estimates (Vivado, Vitis)")
    if config.get("Backend") != backend:
        notes.append(f"backend {config.get('Backend')} estimated as {backend} (the same HLS kernels)")
    return Project(
        folder=folder,
        model_path=_model_path(folder, config.get("KerasModel")),
        hls_config=hls_config,
        backend=backend,
        part=str(config.get("Part") or config.get("XilinxPart") or "xcvu13p-flga2577-2-e"),
        clock_ns=float(config.get("ClockPeriod", 5)),
        io_type=_io_type(str(config.get("IOType", "io_parallel")), notes),
        strategy=STRATEGIES.get(str(model.get("Strategy", "Latency")).lower(), "Latency"),
        reuse_factor=int(model.get("ReuseFactor", 1)),
        notes=notes,
    )


def _io_type(configured: str, notes: list[str]) -> str:
    """hls4ml 0.x's io_serial became io_stream; anything else is taken as written."""
    if configured == "io_serial":
        notes.append("IOType io_serial (hls4ml 0.x) estimated as io_stream, its successor")
        return "io_stream"
    return configured


def _model_path(folder: Path, configured: str | None) -> Path:
    """The Keras model beside the config (hls4ml saves it there), else the configured path if it exists."""
    for name in MODEL_NAMES:
        if (folder / name).is_file():
            return folder / name
    if configured:
        for candidate in (Path(configured), folder / configured):
            if candidate.is_file():
                return candidate
    raise ModelError(
        f"{folder}: no Keras model: neither {' nor '.join(MODEL_NAMES)} beside {CONFIG_NAME}"
        + (f", nor its KerasModel '{configured}'" if configured else "")
    )


def _known_keys(hls_config: dict, notes: list[str]) -> dict:
    """HLSConfig without the per-layer keys hls4ml 1.3 does not know, each dropped with a note."""
    cleaned = dict(hls_config)
    for section in ("LayerName", "LayerType"):
        layers = {}
        for name, settings in (hls_config.get(section) or {}).items():
            if not isinstance(settings, dict):
                layers[name] = settings
                continue
            unknown = sorted(set(settings) - LAYER_KEYS)
            for key in unknown:
                notes.append(f"{section}.{name}.{key}: not an hls4ml 1.3 setting, dropped")
            layers[name] = {key: value for key, value in settings.items() if key not in unknown}
        if section in hls_config:
            cleaned[section] = layers
    return cleaned


def convert_project(project: Project):
    """hls4ml 1.3's model graph of the project (converted, nothing written or compiled)."""
    import hls4ml

    from codesign.model import load_keras_model

    keras_model = load_keras_model(project.model_path)
    with tempfile.TemporaryDirectory(prefix="codesign-project-") as scratch, contextlib.redirect_stdout(io.StringIO()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return hls4ml.converters.convert_from_keras_model(
                    keras_model,
                    hls_config=project.hls_config,
                    output_dir=scratch,
                    backend=project.backend,
                    part=project.part,
                    clock_period=project.clock_ns,
                    io_type=project.io_type,
                )
            except Exception as error:  # hls4ml raises bare Exception/ValueError for what it cannot take
                raise ModelError(f"{project.folder}: hls4ml 1.3 cannot convert this project: {' '.join(str(error).split())[:200]}") from None


def forced_multipliers(folder: Path) -> str:
    """'fabric' where the project's build script binds every multiplication to logic (`config_op mul -impl fabric`)."""
    script = Path(folder) / "build_prj.tcl"
    text = script.read_text(errors="replace") if script.is_file() else ""
    return "fabric" if re.search(r"^\s*config_op\s+mul\b.*-impl\s+fabric", text, flags=re.MULTILINE) else "auto"


def estimate_project(folder: Path) -> dict:
    """The design exactly as the project configures it, estimated; the vendor's report beside it, never used."""
    from codesign.estimate.model import estimate_design
    from codesign.estimate.features import family_of
    from codesign.estimate.run import add_vendor
    from codesign.parts import part_or_unlisted

    project = read_project(folder)
    part, unlisted = part_or_unlisted(project.part)
    notes = list(project.notes) + ([f"{unlisted} ({family_of(part.base)})"] if unlisted else [])
    multipliers = forced_multipliers(project.folder)
    report = estimate_design(convert_project(project), part, project.clock_ns, project.io_type, project.backend, multipliers)
    report["settings"] = {
        "backend": project.backend,
        "part": project.part,
        "strategy": project.strategy,
        "reuse_factor": project.reuse_factor,
        "precision": "as configured in the project",
        "conversion": f"hls4ml project {project.folder}",
    }
    report["source"] = str(project.folder)
    report = add_vendor(report, project.folder)
    report["notes"] = notes + [f"vendor report skipped: {problem}" for problem in report["vendor"].get("unreadable", [])]
    if multipliers == "fabric":
        report["notes"].append("build_prj.tcl forces multiplications into logic (config_op mul -impl fabric): estimated without DSPs")
    return report
