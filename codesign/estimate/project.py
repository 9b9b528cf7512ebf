"""hls4ml project folders (hls4ml_config.yml and the Keras model beside it), converted as configured there.

Configs from hls4ml 0.6-1.3 are read: the `!keras_model` tag, old key names (XilinxPart), accelerator backends
(VivadoAccelerator, Pynq -> Vivado), values older versions spelled otherwise (ConvImplementation `encoded`), and
per-layer keys hls4ml 1.3 does not know (dropped, each with a note). Where the written firmware's reuse factors
differ from the config (set by hand after hls4ml wrote it), the firmware's are what was synthesized and are used;
where the firmware's whole design prices otherwise than the config's (another hls4ml wrote it), the firmware is.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from codesign.errors import ModelError

CONFIG_NAME = "hls4ml_config.yml"
MODEL_NAMES = ("keras_model.h5", "keras_model.keras")
MODEL_SEARCH_DEPTH = 3  # folders above a project where the model its config names is looked for
STRATEGIES = {"latency": "Latency", "resource": "Resource", "distributed_arithmetic": "distributed_arithmetic"}
BACKENDS = {"Vivado": "Vivado", "Vitis": "Vitis", "VivadoAccelerator": "Vivado", "VitisAccelerator": "Vitis", "Pynq": "Vivado"}
OTHER_BACKEND = "is not one codesign estimates (Vivado, Vitis)"
SWITCHED_STRATEGIES = ("Latency", "Resource")  # a firmware's strategy that can differ from its config's (hls4ml 0.7 switched)
RENAMED_KEYS = {"table_size": "TableSize"}  # what hls4ml 0.x wrote, and its 1.3 name
# Precision entries hls4ml 0.8 named otherwise: a separable convolution's type between its halves (its firmware's
# `*_dw_out_t`); hls4ml 1.3 would drop `dw_output` silently and type that value by its default
RENAMED_PRECISIONS = {"dw_output": "depthwise_result"}
REBUILT_MODEL = "keras_model_from_firmware.h5"  # a model rebuilt from a firmware to import it
OTHER_FIRMWARE = "firmware/ is not the design hls4ml 1.3 makes of"  # the note of a firmware estimated instead of its config
DIFFERENCES = (("dsp", "DSP"), ("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM18"), ("latency_cycles", "cycles"))  # config's -> firmware's
CHOICES = {"ConvImplementation": ("LineBuffer", "Encoded")}  # hls4ml 1.3's spellings; 0.x wrote `encoded`, `Pointwise`
LAYER_KEYS = {  # what hls4ml 1.3 takes per layer in LayerName (older configs carry more): what its config parser reads,
    # and the configurable attributes of its layers and of its Vivado and Vitis backends (RNNs', separable convolutions')
    "Precision", "ReuseFactor", "Strategy", "Trace", "TableSize", "Implementation", "Skip", "ParallelizationFactor",
    "ConvImplementation", "exp_table_t", "inv_table_t", "BramFactor", "Compression", "accum_t", "table_t", "TargetCycles",
    "RecurrentReuseFactor", "ForwardReuseFactor", "BackwardReuseFactor", "ForwardRecurrentReuseFactor", "BackwardRecurrentReuseFactor",
    "DepthwiseReuseFactor", "PointwiseReuseFactor", "Static", "Direction", "TableRangePower2", "TimeStepLoopParallelism", "Algorithm",
}


DEFAULT_PART, DEFAULT_CLOCK_NS = "xcvu13p-flga2577-2-e", 5.0  # hls4ml's, for a folder that names neither
FACT_WORDS = {"part": "part", "clock_ns": "clock"}
DEFAULTS_SAID_BY = (f"{CONFIG_NAME} names no", "no config or build script names the")  # the config path's note, the firmware path's


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
    renames: dict[str, str] = field(default_factory=dict)  # layer names that are not C++ identifiers -> the names used
    defaulted: tuple[str, ...] = ()  # the facts ("part", "clock_ns") the config does not name: hls4ml's defaults


def is_project(path: Path) -> bool:
    """A folder hls4ml wrote: its config, or its firmware alone (projects written before configs were saved, and folders
    where only firmware/ was committed)."""
    from codesign.estimate.firmware import has_firmware

    path = Path(path)
    return path.is_dir() and ((path / CONFIG_NAME).is_file() or has_firmware(path))


def projects_under(folder: Path, depth: int = 3) -> list[Path]:
    """The hls4ml project folders inside `folder` (not itself), at most `depth` levels down, in name order: where a
    repository keeps its project (a new user gives the repository)."""
    found, level = [], [Path(folder)]
    for _ in range(depth):
        projects = {child: is_project(child) for child in sorted(child for parent in level for child in _folders_in(parent))}
        found += [child for child, project in projects.items() if project]
        level = [child for child, project in projects.items() if not project]
    return sorted(found)


def listed(paths: list[Path], base: Path, shown: int = 6) -> str:
    """The first `shown` paths relative to `base`, then ', ...': how a message names the projects of a folder."""
    return ", ".join(str(path.relative_to(base)) for path in paths[:shown]) + (", ..." if len(paths) > shown else "")


def _folders_in(parent: Path) -> list[Path]:
    """The visible folders in `parent`; none where it cannot be read (a folder of someone else's under a repository)."""
    try:
        return [child for child in parent.iterdir() if child.is_dir() and not child.name.startswith(".")]
    except OSError:
        return []


class _ConfigLoader(yaml.SafeLoader):
    """hls4ml writes `KerasModel: !keras_model 'path'`: read the tag as the path it holds."""


_ConfigLoader.add_constructor("!keras_model", lambda loader, node: loader.construct_scalar(node))


def _python_tag(loader, suffix: str, node):
    """hls4ml's PyTorch front end dumps its config with Python tags (`InputShape: !!python/tuple`, the model itself as
    `!!python/object:torch...`): a tuple is read as one, anything else as the name of what it was, never built."""
    if suffix == "tuple" and isinstance(node, yaml.SequenceNode):
        return tuple(loader.construct_sequence(node))
    return f"a {suffix.split(':', 1)[-1]} object"


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)


class KerasModelPath(str):
    """The `KerasModel` entry of an hls4ml config, written back with hls4ml's `!keras_model` tag."""


class _ConfigDumper(yaml.SafeDumper):
    """Writes an hls4ml config as hls4ml reads it: KerasModelPath as `!keras_model 'path'`."""


_ConfigDumper.add_representer(KerasModelPath, lambda dumper, value: dumper.represent_scalar("!keras_model", str(value)))


def load_config(path: Path) -> dict:
    """An hls4ml_config.yml as a dict, its KerasModel a KerasModelPath (yaml.YAMLError/OSError as yaml raises them)."""
    config = yaml.load(Path(path).read_text(), Loader=_ConfigLoader)  # noqa: S506 (a SafeLoader with one tag added)
    if isinstance(config, dict) and config.get("KerasModel") is not None:
        config["KerasModel"] = KerasModelPath(config["KerasModel"])
    return config


def dump_config(config: dict) -> str:
    """The text of an hls4ml_config.yml that hls4ml reads back (the tag kept)."""
    return yaml.dump(config, Dumper=_ConfigDumper, sort_keys=False)


def read_project(folder: Path) -> Project:
    """The project's settings and model path; ModelError naming what is missing or unreadable."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    try:
        config = load_config(path)
    except (OSError, yaml.YAMLError) as error:
        raise ModelError(f"{path}: not a readable hls4ml config ({' '.join(str(error).split())[:120]})") from None
    if not isinstance(config, dict) or not isinstance(config.get("HLSConfig"), dict):
        raise ModelError(f"{path}: no HLSConfig section: not an hls4ml project config")
    notes: list[str] = []
    hls_config = _known_keys(config["HLSConfig"], notes)
    model = hls_config.get("Model", {})
    backend = BACKENDS.get(str(config.get("Backend", "Vivado")))
    if backend is None:
        raise ModelError(f"{path}: backend '{config.get('Backend')}' {OTHER_BACKEND}")
    if config.get("Backend") != backend:
        notes.append(f"backend {config.get('Backend')} estimated as {backend} (the same HLS kernels)")
    _settings_of_firmware(folder, hls_config, notes)
    defaulted = tuple(fact for fact, keys in (("part", ("Part", "XilinxPart")), ("clock_ns", ("ClockPeriod",))) if not any(config.get(key) for key in keys))
    if defaulted:
        notes.append(defaults_note(defaulted, DEFAULTS_SAID_BY[0]))
    return Project(
        folder=folder,
        model_path=_model_path(folder, config),
        hls_config=hls_config,
        backend=backend,
        part=str(config.get("Part") or config.get("XilinxPart") or DEFAULT_PART),
        clock_ns=float(config.get("ClockPeriod") or DEFAULT_CLOCK_NS),
        io_type=_io_type(str(config.get("IOType", "io_parallel")), notes),
        strategy=STRATEGIES.get(str(model.get("Strategy", "Latency")).lower(), "Latency"),
        reuse_factor=int(model.get("ReuseFactor", 1)),
        notes=list(dict.fromkeys(notes)),
        defaulted=defaulted,
    )


def authored_hls_config(folder: Path) -> dict:
    """The project's HLSConfig as its author wrote it, in hls4ml 1.3's spelling (keys it does not know dropped, older
    values renamed), without the firmware's corrections read_project makes."""
    return _known_keys(load_config(Path(folder) / CONFIG_NAME)["HLSConfig"], [])


def _io_type(configured: str, notes: list[str]) -> str:
    """hls4ml 0.x's io_serial became io_stream; anything else is taken as written."""
    if configured == "io_serial":
        notes.append("IOType io_serial (hls4ml 0.x) estimated as io_stream, its successor")
        return "io_stream"
    return configured


def _model_path(folder: Path, config: dict) -> Path:
    """The Keras model beside the config (hls4ml saves it there), else the one its config names: `KerasModel`, or
    (hls4ml 0.x's `hls4ml convert -c`) `KerasJson` and `KerasH5`, paths from where hls4ml ran (the folder or above it)."""
    for name in MODEL_NAMES:
        if (folder / name).is_file():
            return folder / name
    keras_model = _configured_file(folder, config.get("KerasModel"))
    if keras_model:
        return keras_model
    json_file, h5_file = _configured_file(folder, config.get("KerasJson")), _configured_file(folder, config.get("KerasH5"))
    if json_file and h5_file:
        return _model_of_json_and_weights(json_file, h5_file)
    if h5_file and not config.get("KerasJson"):  # KerasH5 alone: a whole model saved as .h5
        return h5_file
    other = next((key for key in ("OnnxModel", "PytorchModel") if config.get(key)), None)
    if other and not any(config.get(key) for key in ("KerasModel", "KerasJson", "KerasH5")):
        raise ModelError(f"{folder}: its model is given as {other} ('{config[other]}'): codesign reads Keras and QKeras models, and the firmware "
                         "hls4ml wrote where the folder holds it")
    named = [f"its {key} '{config[key]}'" for key in ("KerasModel", "KerasJson", "KerasH5") if config.get(key)]
    raise ModelError(f"{folder}: no Keras model: neither {' nor '.join(MODEL_NAMES)} beside {CONFIG_NAME}"
                     + (f", nor {' and '.join(named)} (looked in the folder and the {MODEL_SEARCH_DEPTH} above it)" if named else ""))


def _configured_file(folder: Path, configured: str | None) -> Path | None:
    """A file a config names: from the folder or one of the folders above it (hls4ml took it from where it ran, usually
    the output folder's parent; an absolute path as it is), beside the config under its name, else from here."""
    if not configured:
        return None
    configured = Path(str(configured))
    candidates = [*(base / configured for base in [folder, *folder.resolve().parents][: MODEL_SEARCH_DEPTH + 1]), folder / configured.name,
                  configured]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _model_of_json_and_weights(json_file: Path, h5_file: Path) -> Path:
    """A KerasJson architecture with its KerasH5 weights as one .h5 model file (codesign and hls4ml 1.3 read a model
    file; hls4ml 1.3's convert_from_config no longer reads KerasJson), kept in the temporary folder under the digest of
    both files, so the folder itself is not written to."""
    import hashlib

    from codesign.model import custom_objects

    digest = hashlib.sha256(json_file.read_bytes() + h5_file.read_bytes()).hexdigest()[:16]
    combined = Path(tempfile.gettempdir()) / "codesign-keras-json" / digest / MODEL_NAMES[0]
    if combined.is_file():
        return combined
    from tensorflow import keras

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = keras.models.model_from_json(json_file.read_text(), custom_objects=custom_objects())
            model.load_weights(str(h5_file))
    except (OSError, ValueError, TypeError, KeyError) as error:
        first = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise ModelError(f"{json_file} with {h5_file}: not a loadable Keras/QKeras model and its weights ({first})") from None
    combined.parent.mkdir(parents=True, exist_ok=True)
    scratch = combined.with_suffix(".part.h5")
    model.save(scratch)
    scratch.replace(combined)  # whole or not at all: another process may read it
    return combined


def _known_keys(hls_config: dict, notes: list[str]) -> dict:
    """HLSConfig without the per-layer keys hls4ml 1.3 does not know, each dropped with a note."""
    cleaned = dict(hls_config)
    for section in ("LayerName", "LayerType"):
        layers = {}
        for name, settings in (hls_config.get(section) or {}).items():
            if not isinstance(settings, dict):
                layers[name] = settings
                continue
            settings = _renamed_keys(settings, f"{section}.{name}", notes)
            unknown = sorted(set(settings) - LAYER_KEYS)
            for key in unknown:
                notes.append(f"{section}.{name}.{key}: not an hls4ml 1.3 setting, dropped")
            layers[name] = _known_choices({key: value for key, value in settings.items() if key not in unknown}, f"{section}.{name}", notes)
        if section in hls_config:
            cleaned[section] = layers
    if isinstance(hls_config.get("Model"), dict):
        cleaned["Model"] = _known_choices(hls_config["Model"], "Model", notes)
    return cleaned


def _renamed_keys(settings: dict, where: str, notes: list[str]) -> dict:
    """Keys older hls4ml versions spelled otherwise, under their hls4ml 1.3 name, with a note (Precision's too)."""
    renamed = _renamed_keys_of(settings, RENAMED_KEYS, where, notes)
    if isinstance(renamed.get("Precision"), dict):
        renamed["Precision"] = _renamed_keys_of(renamed["Precision"], RENAMED_PRECISIONS, f"{where}.Precision", notes)
    return renamed


def _renamed_keys_of(settings: dict, names: dict, where: str, notes: list[str]) -> dict:
    """`settings` with each key of `names` under its new name (where that is not set already), with a note."""
    renamed = {}
    for key, value in settings.items():
        if key in names and names[key] not in settings:
            notes.append(f"{where}.{key}: read as {names[key]} (its hls4ml 1.3 name)")
            key = names[key]
        renamed[key] = value
    return renamed


def _known_choices(settings: dict, where: str, notes: list[str]) -> dict:
    """Choice values in hls4ml 1.3's spelling: `encoded` read as `Encoded`; a choice 1.3 no longer has is dropped
    (hls4ml picks its default), with a note."""
    settings = dict(settings)
    for key, choices in CHOICES.items():
        if key not in settings or settings[key] in choices:
            continue
        spelled = {choice.lower(): choice for choice in choices}.get(str(settings[key]).lower())
        if spelled:
            notes.append(f"{key} '{settings[key]}' (older hls4ml) read as '{spelled}'")
            settings[key] = spelled
        else:
            notes.append(f"{where}.{key}: '{settings[key]}' is not an hls4ml 1.3 choice ({', '.join(choices)}), hls4ml's default used")
            del settings[key]
    return settings


def firmware_settings(folder: Path) -> dict[str, dict]:
    """Each named layer's reuse factor and strategy as the written firmware has them (estimate/firmware.py reads the
    calls and their config structs, weights left unread; a strategy only where the struct states one); empty when the
    project holds no firmware that reads."""
    from codesign.estimate.firmware import has_firmware, read_firmware

    if not has_firmware(folder):
        return {}
    try:
        layers = read_firmware(folder, with_weights=False).layers
    except (ModelError, OSError, ValueError):
        return {}
    found = {}
    for layer in layers:
        if layer.named and isinstance(layer.config.get("reuse_factor"), int):
            strategy = str(layer.config.get("strategy", "")).rsplit("::", 1)[-1].capitalize()
            found[layer.name] = {"ReuseFactor": int(layer.config["reuse_factor"]), **({"Strategy": strategy} if strategy in SWITCHED_STRATEGIES else {})}
        if layer.named and layer.function == "softmax":  # hls4ml before 0.7 wrote `latency` where a config named none (1.3: stable)
            found.setdefault(layer.name, {})["Implementation"] = str(layer.config.get("implementation", "legacy")).rsplit("::", 1)[-1]
    return found


def _settings_of_firmware(folder: Path, hls_config: dict, notes: list[str]) -> None:
    """The firmware's reuse factor, strategy and softmax implementation for every layer whose config says otherwise
    (edited by hand after hls4ml wrote the project; hls4ml 0.7 switched a whole io_parallel model to Resource for a
    convolution; an older hls4ml's default softmax), with a note each."""
    model = hls_config.get("Model") or {}
    configured_model = {"ReuseFactor": int(model.get("ReuseFactor", 1)), "Strategy": str(model.get("Strategy", "Latency")), "Implementation": "stable"}
    if not isinstance(hls_config.get("LayerName"), dict):
        hls_config["LayerName"] = {}
    layers = hls_config["LayerName"]
    changed = {"ReuseFactor": [], "Strategy": [], "Implementation": []}
    for layer, written in firmware_settings(folder).items():
        settings = layers.get(layer)
        if settings is not None and not isinstance(settings, dict):
            continue
        for key, value in written.items():
            configured = (settings or {}).get(key, configured_model[key])
            if key == "Strategy" and str(configured).capitalize() not in SWITCHED_STRATEGIES:
                continue  # distributed arithmetic, unrolled Resource: the firmware states them otherwise
            if str(configured).lower() != str(value).lower():
                settings = layers[layer] = dict(settings or {}, **{key: value})
                changed[key].append(f"{layer} {configured}->{value}")
    if changed["ReuseFactor"]:
        notes.append(f"reuse factors of the written firmware (firmware/parameters.h), not of the config: {', '.join(changed['ReuseFactor'])}")
    if changed["Strategy"]:
        notes.append(f"strategies of the written firmware (firmware/parameters.h), not of the config: {', '.join(changed['Strategy'])}")
    if changed["Implementation"]:
        notes.append(f"softmax implementation of the written firmware (firmware/parameters.h), not hls4ml 1.3's for the config: "
                     f"{', '.join(changed['Implementation'])}")


def convert_project(project: Project, keras_model=None):
    """hls4ml 1.3's model graph of the project (converted, nothing written or compiled), of its own model or of
    another with the same layers (its untrained twin, for the calibration)."""
    from codesign.hls4ml_graph import hls4ml_graph
    from codesign.model import load_keras_model

    keras_model = keras_model if keras_model is not None else load_keras_model(project.model_path, hgq=False)
    return hls4ml_graph(keras_model, project.hls_config, f"{project.folder}: hls4ml 1.3 cannot convert this project", backend=project.backend,
                        part=project.part, clock_period=project.clock_ns, io_type=project.io_type)


def forced_multipliers(folder: Path) -> str:
    """'fabric' where the project's build script binds every multiplication to logic (`config_op mul -impl fabric`)."""
    script = Path(folder) / "build_prj.tcl"
    text = script.read_text(errors="replace") if script.is_file() else ""
    return "fabric" if re.search(r"^\s*config_op\s+mul\b.*-impl\s+fabric", text, flags=re.MULTILINE) else "auto"


def design_of(folder: Path, as_built: bool = True) -> tuple[object, dict, list[str]]:
    """The project's graph, its settings and notes: from its Keras model as its config converts it, else (no loadable
    model, or no config) from the firmware hls4ml wrote, with a note saying why. With `as_built`, a firmware whose
    design is not what hls4ml 1.3 makes of the config (another hls4ml wrote it, or it was edited) is the design: the
    tool builds the firmware."""
    from codesign.estimate.firmware import has_firmware, written_fifo_depths

    if not (folder / CONFIG_NAME).is_file():
        reason = f"no {CONFIG_NAME}"
    else:
        try:
            project = read_project(folder)
            settings = {"backend": project.backend, "part": project.part, "clock_ns": project.clock_ns, "io_type": project.io_type,
                        "strategy": project.strategy, "reuse_factor": project.reuse_factor, "precision": "as configured in the project",
                        "defaulted": project.defaulted}
            graph = convert_project(project)
            fifo_notes = _with_written_fifo_depths(graph, written_fifo_depths(folder))
        except ModelError as error:
            if not has_firmware(folder) or str(error).endswith(OTHER_BACKEND):  # another tool's firmware is not read either
                raise
            reason = _without_folder(error, folder)
        else:
            other = _other_firmware(folder, graph, settings) if as_built else None
            notes = list(project.notes) + fifo_notes
            return (graph, settings, notes) if other is None else (other[0], other[1], list(dict.fromkeys(notes + other[2])))
    graph, settings, notes = _firmware_design(folder)
    return graph, settings, [f"estimated from the firmware (parameters.h, defines.h, weights/): {reason}"] + notes


def _firmware_design(folder: Path) -> tuple[object, dict, list[str]]:
    """The graph of the firmware hls4ml wrote, its settings and the reader's notes."""
    from codesign.estimate.firmware import convert_firmware, read_firmware

    design = read_firmware(folder)
    backend, part, clock_ns, defaulted = _firmware_target(folder, design)
    graph = convert_firmware(design, backend, part, clock_ns)
    design.notes.extend(_with_written_fifo_depths(graph, design.fifo_depths))
    strategies, reuse = _strategies_and_reuse(graph.config.config["HLSConfig"])
    settings = {"backend": backend, "part": part, "clock_ns": clock_ns, "io_type": design.io_type, "strategy": "/".join(strategies) or "Latency",
                "reuse_factor": reuse, "precision": "as written in the firmware", "defaulted": defaulted}
    return graph, settings, design.notes


def _with_written_fifo_depths(graph, depths: dict[str, int]) -> list[str]:
    """The graph's io_stream FIFOs as deep as the firmware declares them (`depths`, by layer), with a note where any
    is not hls4ml's default (a FIFO depth optimization's result: shallower FIFOs, fewer block RAMs)."""
    changed = []
    for layer in graph.get_layers():
        variable = layer.get_output_variable() if layer.outputs else None
        pragma = getattr(variable, "pragma", None)
        if layer.name in depths and isinstance(pragma, tuple) and pragma[0] == "stream" and int(pragma[1]) != depths[layer.name]:
            changed.append(f"{layer.name} {pragma[1]}->{depths[layer.name]}")
            variable.pragma = ("stream", depths[layer.name])
    if not changed:
        return []
    return [f"FIFO depths as the firmware declares them (#pragma HLS STREAM), not hls4ml's default: {', '.join(changed[:6])}"
            + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")]


def _other_firmware(folder: Path, graph, settings: dict) -> tuple[object, dict, list[str]] | None:
    """The firmware's graph, settings and notes (what differs, then the reader's) where the project's firmware (all its
    weights and calls known) prices otherwise than the config's design (hls4ml 0.7/0.8 fused batch normalizations, kept
    a quantizer's cast as its own call, typed weights by the config rather than the quantizer: docs/estimation.md);
    None where they agree or it does not read."""
    from codesign.estimate.firmware import AS_A_CAST, UNKNOWN_WEIGHTS, has_firmware
    from codesign.estimate.model import estimate_graph
    from codesign.layers import kind_of
    from codesign.parts import part_or_unlisted

    if not has_firmware(folder):
        return None
    try:
        written, written_settings, notes = _firmware_design(folder)
    except (ModelError, OSError, ValueError, LookupError, TypeError):  # a firmware the reader fails on (estimated alone, it says
        return None  # so) does not replace a design the config gives
    if any(UNKNOWN_WEIGHTS in note or AS_A_CAST in note for note in notes) or written_settings["io_type"] != settings["io_type"]:
        return None  # weights or a call's cost unknown, or a firmware of another io type than the config: the config's design
    part = part_or_unlisted(settings["part"])[0]
    priced = [estimate_graph(design, part, settings["clock_ns"], settings["io_type"], settings["backend"], local=False)["total"]
              for design in (graph, written)]
    changed = [f"{label} {priced[0][metric]:,} -> {priced[1][metric]:,}" for metric, label in DIFFERENCES if priced[0][metric] != priced[1][metric]]
    if not changed:
        return None
    calls = {layer.name for layer in written.get_layers()}  # a layer hls4ml has no template for (SimpleRNN on Vivado/Vitis) gets no call
    skipped = [f"{layer.name} ({layer.class_name})" for layer in graph.get_layers() if kind_of(layer) is None and layer.name not in calls]
    why = f"hls4ml wrote no call for {', '.join(skipped)}, having no template for it on this backend" if skipped else "another hls4ml wrote it, or it was edited"
    note = (f"{OTHER_FIRMWARE} {CONFIG_NAME} ({why}): estimated from the firmware, what the tool builds ({', '.join(changed)})"
            + ("" if skipped else "; write the project again with hls4ml to estimate the config's"))
    return written, written_settings, [note] + notes


def _without_folder(error: ModelError, folder: Path) -> str:
    """Why the model path failed, without the folder the note is already about."""
    return str(error).replace(f"{folder}: ", "").replace(f"{folder}/", "")


def _firmware_target(folder: Path, design) -> tuple[str, str, float, tuple[str, ...]]:
    """Backend, part and clock of a design read from its firmware: the config's when there is one, else the build
    script's, else hls4ml's defaults (and which facts were defaulted)."""
    configured = _config_settings(folder)
    part, clock_ns = configured.get("part") or design.part, configured.get("clock_ns") or design.clock_ns
    defaulted = tuple(fact for fact, known in (("part", part), ("clock_ns", clock_ns)) if not known)
    if defaulted:
        design.notes.append(defaults_note(defaulted, DEFAULTS_SAID_BY[1]))
    return configured.get("backend") or design.backend, part or DEFAULT_PART, clock_ns or DEFAULT_CLOCK_NS, defaulted


def defaults_note(defaulted: tuple[str, ...], who: str) -> str:
    """The note that a folder names neither part nor clock (those of `defaulted`), and the defaults taken."""
    defaults = {"part": DEFAULT_PART, "clock_ns": f"{DEFAULT_CLOCK_NS:g} ns"}
    plural = len(defaulted) > 1
    return (f"{who} {' and '.join(FACT_WORDS[fact] for fact in defaulted)}: hls4ml's default{'s' if plural else ''} taken "
            f"({', '.join(defaults[fact] for fact in defaulted)}); `codesign estimate --part/--clock-ns` states them")


def _strategies_and_reuse(hls_config: dict) -> tuple[list[str], int]:
    """The strategies and the largest reuse factor of an HLSConfig rebuilt from the firmware (per layer)."""
    layers = hls_config["LayerName"].values()
    return sorted({layer["Strategy"] for layer in layers if "Strategy" in layer}), max((int(layer.get("ReuseFactor", 1)) for layer in layers), default=1)


def project_with_a_model(folder: Path, scratch: Path) -> Project:
    """The project with a Keras model this stack loads: its own, or (no config, or a model it cannot load) the one
    rebuilt from the firmware, saved under `scratch` with the firmware's HLSConfig, its notes saying so."""
    from codesign.estimate.firmware import has_firmware, keras_model_of, read_firmware
    from codesign.model import load_keras_model

    folder = Path(folder)
    try:
        project = read_project(folder)
        return _with_identifier_names(project, load_keras_model(project.model_path, hgq=False), Path(scratch))
    except ModelError as error:
        if not has_firmware(folder):
            raise
        reason = f"no {CONFIG_NAME}" if not (folder / CONFIG_NAME).is_file() else _without_folder(error, folder)
    design = read_firmware(folder)
    if design.missing_weights:
        raise ModelError(f"{folder}/firmware/weights: {', '.join(design.missing_weights)} missing, and no model to take them from: the "
                         "firmware cannot be rebuilt to validate (codesign estimate still estimates it)")
    model, hls_config = keras_model_of(design)
    Path(scratch).mkdir(parents=True, exist_ok=True)
    model_path = Path(scratch) / REBUILT_MODEL
    model.save(model_path)
    backend, part, clock_ns, defaulted = _firmware_target(folder, design)
    strategies, reuse = _strategies_and_reuse(hls_config)
    return Project(
        folder=folder, model_path=model_path, hls_config=hls_config, backend=backend, part=part, clock_ns=clock_ns,
        io_type=design.io_type, strategy="Resource" if strategies == ["Resource"] else "Latency", reuse_factor=reuse,
        notes=[f"the model rebuilt from the firmware (parameters.h, defines.h, weights/) in float, with the firmware's types: {reason}"]
        + design.notes, defaulted=defaulted,
    )


IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def identifier_names(names: list[str]) -> dict[str, str]:
    """A C++ identifier for each layer name that is not one (hls4ml 1.3 writes `typedef ... 1_relu_1_table_t;` for a layer
    named '1_relu_1', which older hls4ml accepted and g++ does not): other characters become '_', a leading digit or '_'
    gets 'layer_' before it, and no new name is one already taken."""
    taken, renames = set(names), {}
    for name in names:
        if IDENTIFIER.match(name):
            continue
        new = re.sub(r"\W", "_", name)
        new = new if IDENTIFIER.match(new) else f"layer_{new}"
        while new in taken:
            new += "_"
        taken.add(new)
        renames[name] = new
    return renames


def _with_identifier_names(project: Project, model, scratch: Path) -> Project:
    """The project with its layers renamed where their names are not C++ identifiers: the model saved under `scratch`
    with the new names, the config's LayerName keys renamed the same way, a note listing them."""
    renames = identifier_names([layer.name for layer in model.layers])
    if not renames:
        return project
    scratch.mkdir(parents=True, exist_ok=True)
    model_path = scratch / f"{project.model_path.stem}_renamed.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _renamed_model(model, renames).save(model_path)
    per_layer = project.hls_config.get("LayerName") or {}
    hls_config = {**project.hls_config, "LayerName": {renames.get(name, name): entry for name, entry in per_layer.items()}}
    shown = ", ".join(f"'{old}' -> '{new}'" for old, new in renames.items())
    note = f"layers renamed to C++ identifiers (hls4ml 1.3 writes a layer's name into the firmware's type names): {shown}"
    return Project(**{**project.__dict__, "model_path": model_path, "hls_config": hls_config, "notes": [*project.notes, note],
                      "renames": renames})


def _renamed_model(model, renames: dict[str, str]):
    """The same model, weights included, with its layers renamed in its architecture (names and every reference)."""
    import json

    import tensorflow as tf

    from codesign.model import custom_objects

    def renamed(value):
        if isinstance(value, str):
            return renames.get(value, value)
        if isinstance(value, list):
            return [renamed(item) for item in value]
        if isinstance(value, dict):
            return {key: renamed(item) for key, item in value.items()}
        return value

    architecture = json.loads(model.to_json())
    config = architecture["config"]
    for layer in config["layers"]:
        layer["name"] = layer["config"]["name"] = renames.get(layer["name"], layer["name"])
        layer["inbound_nodes"] = renamed(layer["inbound_nodes"])
    config["input_layers"], config["output_layers"] = renamed(config["input_layers"]), renamed(config["output_layers"])
    twin = tf.keras.models.model_from_json(json.dumps(architecture), custom_objects=custom_objects())
    twin.set_weights(model.get_weights())
    return twin


def _config_settings(folder: Path) -> dict:
    """Part, clock and backend of an hls4ml_config.yml, when there is one (the rest is in the firmware)."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        return {}
    try:
        config = load_config(path)
    except yaml.YAMLError:
        return {}
    return {"part": config.get("Part") or config.get("XilinxPart"), "clock_ns": float(config["ClockPeriod"]) if config.get("ClockPeriod") else None,
            "backend": BACKENDS.get(str(config.get("Backend"))), "clock_uncertainty": config.get("ClockUncertainty")}


def clock_uncertainty_of_build(folder: Path, clock_ns: float, build: dict | None = None) -> tuple[float | None, str]:
    """The clock uncertainty the project's build used and what says so (vendor.clock_uncertainty_of_folder, the config's
    ClockUncertainty last)."""
    from codesign.estimate.vendor import clock_uncertainty_of_folder

    return clock_uncertainty_of_folder(folder, clock_ns, build, _config_settings(folder).get("clock_uncertainty"))


def clock_of_build(build: dict, configured: float, notes: list[str]) -> float:
    """The clock a folder's C-synthesis report was built for (`build`: vendor.build_of_report's; a setting of the build,
    like its tool), where it is not the configured one, with a note; else the configured one."""
    built = build.get("clock_ns") or configured
    if not math.isclose(built, configured):
        notes.append(f"its C-synthesis report was built for a {built:g} ns clock where the configuration says {configured:g} ns: "
                     f"taken at {built:g} ns, the clock of the build")
    return built


def _with_stated_target(folder: Path, settings: dict, build: dict, stated: dict, notes: list[str]) -> list[str]:
    """`settings` with the part and clock the user states where the folder names none (its config, build script or, for
    the clock, report), and the notes saying so; ModelError where the folder names another."""
    taken = []
    for fact, flag in (("part", "--part"), ("clock_ns", "--clock-ns")):
        value = stated.get(fact)
        named = (build.get("clock_ns") if fact == "clock_ns" else None) or (settings[fact] if fact not in settings["defaulted"] else None)
        if value is None:
            continue
        if named is None:
            settings[fact] = value
            taken.append(fact)
        elif not (math.isclose(float(named), float(value)) if fact == "clock_ns" else _part_key(named) == _part_key(value)):
            word = FACT_WORDS[fact]
            raise ModelError(f"{folder}: the project names {word} {named} (its config, build script or report), not {flag} {value}: an "
                             f"estimate for another {word} is a what-if (estimate its Keras model with the option, or edit the config and "
                             "write the project again with hls4ml)")
    if not taken:
        return notes
    said = {defaults_note(settings["defaulted"], who) for who in DEFAULTS_SAID_BY}  # the note design_of added: now not so
    left = tuple(fact for fact in settings["defaulted"] if fact not in taken)
    notes = [note for note in notes if note not in said]
    notes.append(f"{' and '.join('part ' + settings['part'] if fact == 'part' else f'clock {settings[fact]:g} ns' for fact in taken)} as stated: "
                 "the folder names none")
    return notes + ([defaults_note(left, "the folder names no")] if left else [])


def _part_key(part) -> str:
    """A part number as compared: case and dashes aside (xc7z020clg400-1 is xc7z020-clg400-1)."""
    return str(part).lower().replace("-", "")


def estimate_project(folder: Path, local: bool = True, stated: dict | None = None) -> dict:
    """The design exactly as the project configures it, estimated (`local`: with the user's calibration, estimate/local.py);
    the vendor's report beside it, never used. `stated`: the part, clock (`clock_ns`) and tool the user says it is built
    for, taken where the folder names none (ModelError where it names another: that is another design)."""
    from codesign.estimate.model import CLOCK_UNCERTAINTY, estimate_graph
    from codesign.estimate.features import family_of
    from codesign.estimate.run import TOOL_PATTERN, add_vendor, tool_label
    from codesign.estimate.vendor import REPORT_SAYS, build_of_report, tool_of_folder
    from codesign.parts import part_or_unlisted

    folder = Path(folder)
    stated = {key: value for key, value in (stated or {}).items() if value is not None}
    graph, settings, notes = design_of(folder)
    build = build_of_report(folder)  # the report's header, read once: its tool and its clock
    notes = _with_stated_target(folder, settings, build, stated, notes)
    part, unlisted = part_or_unlisted(settings["part"])
    notes += [f"{unlisted} ({family_of(part.base)})"] if unlisted else []
    multipliers = forced_multipliers(folder)
    tool, evidence = tool_of_folder(folder, settings["backend"], build)
    if stated.get("tool") and stated["tool"] != tool:
        if re.fullmatch(TOOL_PATTERN, tool):  # its report or its tool's log names the version
            raise ModelError(f"{folder}: {evidence} says {tool} built it, not {stated['tool']}: an estimate of another tool's build is a "
                             "what-if (estimate its Keras model with --tool)")
        notes.append(f"no C-synthesis report: estimated as {stated['tool']} builds it, as stated (the folder alone says {tool}, from {evidence})")
        tool = stated["tool"]
    elif evidence != REPORT_SAYS:
        notes.append(f"no C-synthesis report: estimated as {tool} builds it (from {evidence})")
    clock_ns = clock_of_build(build, settings["clock_ns"], notes)
    uncertainty, said = clock_uncertainty_of_build(folder, clock_ns, build)
    default = CLOCK_UNCERTAINTY.get(settings["backend"], 0.27)
    if uncertainty is not None and not math.isclose(uncertainty, default, abs_tol=0.005):
        notes.append(f"scheduled with a {100 * uncertainty:.3g}% clock uncertainty (from {said}), not hls4ml 1.3's {100 * default:.3g}% for "
                     f"{settings['backend']}: a cycle holds {clock_ns * (1 - uncertainty):.3g} ns of logic")
    report = estimate_graph(graph, part, clock_ns, settings["io_type"], settings["backend"], multipliers, tool=tool, local=local, uncertainty=uncertainty)
    report["settings"] = {
        "backend": settings["backend"],
        "part": settings["part"],
        "strategy": settings["strategy"],
        "reuse_factor": settings["reuse_factor"],
        "precision": settings["precision"],
        "conversion": f"hls4ml project {folder}",
        "tool": tool_label(tool),
    }
    report["source"] = str(folder)
    report = add_vendor(report, folder)
    report["notes"] = notes + report["notes"] + [f"vendor report skipped: {problem}" for problem in report["vendor"].get("unreadable", [])]
    if multipliers == "fabric":
        report["notes"].append("build_prj.tcl forces multiplications into logic (config_op mul -impl fabric): estimated without DSPs")
    return report
