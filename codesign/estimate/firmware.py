"""An hls4ml project estimated from the firmware hls4ml wrote, when no Keras model of it can be loaded (HGQ, PyTorch
and ONNX front ends, older hls4ml versions, a folder with only the firmware): docs/estimation.md.

`firmware/parameters.h` states every layer's configuration, `defines.h` its types, the top function (myproject.cpp)
the order of the layers and their names, `weights/*.txt` the weights; build_prj.tcl or project.tcl the part and
clock. Where only these facts are kept (`firmware.json`, as in ../shared/calibration), they are read from it. From these the same design is rebuilt as a Keras model with hls4ml's per-layer configuration (types, reuse
factors, strategies), and converted by hls4ml 1.3: the estimate then runs the code path of a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import ModelError
from codesign.estimate.da_firmware import GENERATED, da_kernels
from codesign.estimate.features import pixels_per_partition
from codesign.estimate.model import listed_names
from codesign.fixed import exact_type_of

SKIPPED_CALLS = ("load_weights_from_txt", "load_exponent_weights_from_txt", "load_compressed_weights_from_txt", "save_layer_output", "copy_data",
                 "copy_data_axi", "print_result", "fill_zero")
ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "linear": "linear", "softmax": "softmax", "softplus": "softplus",
               "softsign": "softsign", "selu": "selu", "hard_sigmoid": "hard_sigmoid", "elu": "elu"}
# nnet activations only QKeras's quantized activations convert to (the firmware's types replace the quantizer's)
QKERAS_ACTIVATIONS = {"hard_tanh": "quantized_tanh(16)", "binary_tanh": "binary(alpha=1)", "ternary_tanh": "ternary(alpha=1)",
                      # a binary or ternary compare merged with the scale before it (its thresholds, one compare per value, not read)
                      "normalize_binary_tanh": "binary(alpha=1)", "normalize_ternary_tanh": "ternary(alpha=1)"}
MERGES = ("add", "subtract", "multiply", "average", "maximum", "minimum")  # nnet's element-wise merges (nnet_merge.h)
DISTRIBUTED_ARITHMETIC = "distributed_arithmetic"  # hls4ml 1.x strategy: da4ml adder graphs, kernels as code (da_firmware.py)
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?")  # a literal call argument
CALL = re.compile(r"nnet::(\w+)\s*<(.*?)>\s*\(([^;]*?)\)\s*;[ \t]*(?://[ \t]*(\S+))?")
# a config struct; hard_sigmoid's derives from nothing (its slope and shift are defined after it)
STRUCT = re.compile(r"struct\s+(\w+)\s*(?::\s*nnet::(\w+)\s*)?\{[ \t]*\n(.*?)\n\s*\};", flags=re.DOTALL)
TYPEDEF = re.compile(r"typedef\s+(.+?)\s+(\w+)\s*;")
DEFINE = re.compile(r"#define\s+(\w+)\s+(.+)")
# a power-of-two weight's type (QKeras quantized_po2): {sign, exponent} structs, and their values in weights/*.txt
EXPONENT_TYPE = re.compile(r"typedef\s+struct\s+(\w+)\s*\{[^}]*\bsign;[^}]*\bweight;\s*\}\s*\1\s*;")
POWER_OF_TWO = "power-of-two"
EXPONENT_WEIGHT = re.compile(r"\{\s*([-+\d.eE]+)\s*,\s*([-+\d.eE]+)\s*\}")
VARIABLE = re.compile(r"(?:^[ \t]*|hls::stream<\s*)(\w+)\s*>?\s+&?\s*(\w+)\s*[\[(;]", flags=re.MULTILINE)  # a top function's array or stream
FIELD = re.compile(r"(?:static\s+const|constexpr\s+static|static\s+constexpr)\s+[\w:<> ]+?\s+(\w+)\s*=\s*([^;]+);")
# a recurrent layer's activations: `template<...> using activation_recr = nnet::activation::sigmoid<x_T, y_T, config_T>;`
USING = re.compile(r"using\s+(\w+)\s*=\s*nnet::activation::(\w+)\s*<")
# an array of integers: a config's field (hls4ml 0.8: `static constexpr unsigned perm[3] = {2, 0, 1};`) or one defined
# beside its struct for a pointer field (hls4ml 1.x: `unsigned config5_perm[2] = {1, 0};`)
ARRAY = re.compile(r"(?:static\s+constexpr\s+)?unsigned\s+(\w+)\s*\[\s*\d*\s*\]\s*=\s*\{([\d,\s]*)\};")


@dataclass
class Layer:
    """One call of the top function: the nnet function, its layer name, its types and its configuration."""

    function: str
    name: str
    in_type: str
    out_type: str
    config: dict = field(default_factory=dict)
    weights: list = field(default_factory=list)
    inputs: list = field(default_factory=list)  # the variables it reads
    outputs: list = field(default_factory=list)  # the variables it writes (two for a stream's clone)
    named: bool = True  # the firmware names the layer (hls4ml < 0.5 did not: `name` is then its output variable's)
    value_bits: np.ndarray | None = None  # an HGQ quantizer's width of each value it writes (hgq.py), where the folder states them
    params: list = field(default_factory=list)  # its numeric call arguments: a LeakyReLU's alpha, an ELU's, a ThresholdedReLU's theta


@dataclass
class Firmware:
    """What the written firmware says about a design."""

    layers: list[Layer]
    input_name: str
    input_type: str
    io_type: str
    part: str | None
    clock_ns: float | None
    backend: str
    notes: list[str] = field(default_factory=list)
    aliases: dict = field(default_factory=dict)  # variable -> the variable it names (hls4ml's free Flatten/Reshape)
    missing_weights: list[str] = field(default_factory=list)  # weight files parameters.h includes that are not there
    input_pixel: int | None = None  # io_stream: the values of one word of the input stream (its nnet::array's size)
    pipeline_style: str = "auto"  # the top function's pragma: pipeline or dataflow (hls4ml 1.3's Model PipelineStyle)
    value_bits: dict = field(default_factory=dict)  # layer -> the per-value widths of its output an HGQ quantizer after it sets
    fifo_depths: dict = field(default_factory=dict)  # layer -> its output FIFO's depth as the top function declares it (io_stream)


AS_A_CAST = "estimated as a cast of its input"  # said of a call whose cost the reader does not know
UNKNOWN_WEIGHTS = "those weights are unknown"  # said of weights the firmware does not hold: drawn instead
FACTS = "firmware.json"  # the facts read from a firmware whose C++ is not kept (../shared/calibration keeps data only)
WEIGHT_PREFIXES = ("w", "s", "a", "d", "p", "z", "b", "e")  # hls4ml's weight files of layer N, in the order its calls pass them: kernel or
# scale, alpha (a separable convolution's: depthwise, pointwise, the depthwise half's zero bias), bias


def has_firmware(folder: Path) -> bool:
    firmware = Path(folder) / "firmware"
    return ((firmware / "parameters.h").is_file() and (firmware / "defines.h").is_file()) or (Path(folder) / FACTS).is_file()


def _layer_weight_names(firmware: Path, layer: dict) -> list[str]:
    """The weight files hls4ml wrote for a layer whose output variable is `layerN_out`: wN/sN, aN, bN where present."""
    if _builder(layer["function"]) not in WEIGHTED and layer["function"] != "prelu":
        return []
    index = re.fullmatch(r"layer(\d+)_out", layer["outputs"][0]) if layer["outputs"] else None
    if index is None:
        return []
    return [f"{prefix}{index.group(1)}" for prefix in WEIGHT_PREFIXES if _has_weights(firmware, f"{prefix}{index.group(1)}")]


def _firmware_of_facts(folder: Path, with_weights: bool) -> Firmware:
    """The design of a firmware.json (the same facts read_firmware takes from the C++), its weights from weights/*.txt."""
    import json

    path = folder / FACTS
    try:
        facts = json.loads(path.read_text())
        layers = [Layer(**{key: value for key, value in layer.items() if key != "weights"}) for layer in facts["layers"]]
        for layer, raw in zip(layers, facts["layers"]):
            if with_weights:
                layer.weights = [weight_file(folder / "firmware", name) for name in _layer_weight_names(folder / "firmware", raw)]
        design = Firmware(layers, facts["input_name"], facts["input_type"], facts["io_type"], facts.get("part"), facts.get("clock_ns"),
                          facts.get("backend", "Vivado"), [note for note in facts.get("notes", []) if not note.startswith(HGQ_NOTE)],
                          dict(facts.get("aliases", {})), input_pixel=facts.get("input_pixel"))
        return _with_value_bits(folder, design) if with_weights else design
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{path}: not a firmware description codesign reads ({type(error).__name__}: {error})") from None


def _evaluate(expression: str, numbers: dict[str, int]) -> int | str:
    """A configuration value: an integer expression of the #defines and earlier fields, else the text itself."""
    text = expression.strip()
    names = re.findall(r"[A-Za-z_]\w*", text)
    if all(name in numbers for name in names) and re.fullmatch(r"[\w\s*+\-/()]+", text):
        try:
            return int(eval(text, {"__builtins__": {}}, dict(numbers)))  # noqa: S307 (integers and the names above only)
        except (ArithmeticError, SyntaxError, TypeError):
            return text
    return text


def _structs(text: str, numbers: dict[str, int], types: dict[str, str]) -> dict[str, dict]:
    """Every config struct of parameters.h: its fields (integers where they evaluate) and its typedefs (resolved)."""
    found = {}
    for name, base, body in STRUCT.findall(text):
        fields = {"_base": base}
        scope = dict(numbers)
        for key, value in FIELD.findall(body):
            fields[key] = _evaluate(value, scope)
            if isinstance(fields[key], int):
                scope[key] = fields[key]
        for value, key in TYPEDEF.findall(body):
            fields[key] = types.get(value.strip(), value.strip())
        for key, values in ARRAY.findall(body):
            fields[key] = tuple(int(value) for value in values.replace(",", " ").split())
        fields.update(USING.findall(body))
        found[name] = fields
    for key, values in ARRAY.findall(STRUCT.sub("", text)):  # `configN_field`: that struct's pointer field
        struct = max((name for name in found if key.startswith(f"{name}_")), key=len, default=None)
        if struct is not None:
            found[struct][key[len(struct) + 1:]] = tuple(int(value) for value in values.replace(",", " ").split())
    return found


def _struct_named(argument: str, structs: dict, notes: list[str]) -> str:
    """The config struct a template argument names; hls4ml 1.3 declares a Keras Softmax layer's as `Softmax_configN`
    and calls it `softmax_configN` (that C++ does not compile): the struct of that name but for its case, with a note."""
    if argument in structs or not re.fullmatch(r"\w+", argument):
        return argument
    found = next((name for name in structs if name.lower() == argument.lower()), None)
    if found is None:
        return argument
    note = f"the top function names config '{argument}', which parameters.h declares as '{found}' (the C++ does not compile as written): read as that"
    notes.extend([] if note in notes else [note])
    return found


def _split_arguments(text: str) -> list[str]:
    """Template or call arguments, split at top-level commas."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return parts + [current.strip()] if current.strip() else parts


def weight_file(folder: Path, name: str) -> np.ndarray:
    """weights/NAME.txt (comma-separated), else the initializer list of weights/NAME.h."""
    text_file, header = folder / "weights" / f"{name}.txt", folder / "weights" / f"{name}.h"
    if text_file.is_file():
        text = text_file.read_text()
    elif header.is_file():
        text = header.read_text().split("{", 1)[-1].rsplit("}", 1)[0]
    else:
        raise ModelError(f"{folder}: the firmware names weights '{name}' but weights/{name}.txt is not there")
    pairs = EXPONENT_WEIGHT.findall(text)
    if pairs:  # a power-of-two weight: {sign, exponent}, sign 1 for >= 0 (hls4ml's ExponentWeightVariable)
        return np.array([(2.0 * float(sign) - 1.0) * 2.0 ** int(float(exponent)) for sign, exponent in pairs], dtype=np.float64)
    return np.array([float(value) for value in re.split(r"[,\s]+", text.strip()) if value], dtype=np.float64)


def _has_weights(folder: Path, name: str) -> bool:
    return (folder / "weights" / f"{name}.txt").is_file() or (folder / "weights" / f"{name}.h").is_file()


STREAM_DEPTH = re.compile(r"#pragma\s+HLS\s+STREAM\s+variable\s*=\s*(\w+)\s+depth\s*=\s*(\d+)", flags=re.IGNORECASE)


def written_fifo_depths(folder: Path) -> dict[str, int]:
    """Each layer's output FIFO depth as the top function declares it, by layer name (Firmware.fifo_depths): hls4ml
    writes its pixel count unless its FIFO depth optimization (or an edit) set another. Empty where the folder has no
    top function that reads."""
    if not (Path(folder) / "firmware" / "parameters.h").is_file():
        return {}
    try:
        return read_firmware(folder, with_weights=False).fifo_depths
    except (ModelError, OSError, ValueError, LookupError, TypeError):
        return {}


def _top_function(firmware: Path) -> Path:
    tops = sorted(path for path in firmware.glob("*.cpp") if CALL.search(path.read_text(errors="replace")))
    if not tops:
        raise ModelError(f"{firmware}: no top function calling nnet:: layers")
    return tops[0]


VITIS_TEMPLATES = ("nnet_conv1d_resource.h", "nnet_conv2d_resource.h", "nnet_dense_resource.h")


def written_for_vitis(folder: Path) -> bool:
    """Whether hls4ml's Vitis backend wrote the folder's nnet_utils: its own Resource kernels, which avoid the `urem`
    cores Vitis HLS infers (their comments say so; the Vivado backend's do not). hls4ml 0.8's Vitis backend wrote
    `set backend "vivado"` into project.tcl and the Vivado backend's build script: its templates are what tells."""
    templates = Path(folder) / "firmware" / "nnet_utils"
    return any("urem" in (templates / name).read_text(errors="replace") for name in VITIS_TEMPLATES if (templates / name).is_file())


def _settings(folder: Path) -> tuple[str | None, float | None, str]:
    """Part, clock and backend from project.tcl (hls4ml >= 0.8) or build_prj.tcl (older), the backend also from the
    templates it wrote (written_for_vitis)."""
    text = " ".join(path.read_text(errors="replace") for path in (folder / "project.tcl", folder / "build_prj.tcl") if path.is_file())
    part = re.search(r"set\s+part\s+\"([\w-]+)\"|set_part\s+\{?([\w-]+)\}?", text)
    clock = re.search(r"set\s+clock_period\s+([\d.]+)|create_clock\s+-period\s+([\d.]+)", text)
    backend = "Vitis" if re.search(r"vitis", text, flags=re.IGNORECASE) or written_for_vitis(folder) else "Vivado"
    return (next(group for group in part.groups() if group) if part else None,
            float(next(group for group in clock.groups() if group)) if clock else None, backend)


# what the firmware of hls4ml's Quartus, oneAPI and Catapult backends includes (Intel HLS, Siemens Catapult)
AC_FIXED_INCLUDE = re.compile(r'#include\s*[<"]([\w/]*/)?ac_fixed\.h(pp)?[>"]')
SMARTHLS_INCLUDE = re.compile(r'#include\s*[<"]hls/ap_fixpt\.hpp[>"]')


def _refuse_other_tools(firmware: Path, defines: str) -> None:
    """ModelError where the firmware is another tool's: codesign prices what Vivado HLS and Vitis HLS build."""
    tool = ("hls4ml's Quartus, oneAPI or Catapult backend (ac_fixed types, for Intel HLS or Siemens Catapult)" if AC_FIXED_INCLUDE.search(defines)
            else "hls4ml's Libero backend (SmartHLS's ap_fixpt types, for Microchip FPGAs)" if SMARTHLS_INCLUDE.search(defines) else None)
    if tool:
        raise ModelError(f"{firmware / 'defines.h'}: firmware written by {tool}: codesign estimates what Vivado HLS and Vitis HLS build "
                         "(hls4ml's Vivado, Vitis and VivadoAccelerator backends)")


def read_firmware(folder: Path, with_weights: bool = True) -> Firmware:
    """The design the firmware describes; ModelError naming the file and the call it cannot read. Without
    `with_weights`, the weight files are found but not read (each layer's `weights` stays empty), nor HGQ's
    per-value widths (hgq.py)."""
    folder = Path(folder)
    firmware = folder / "firmware"
    if not (firmware / "parameters.h").is_file() and (folder / FACTS).is_file():
        return _firmware_of_facts(folder, with_weights)
    defines = (firmware / "defines.h").read_text(errors="replace")
    parameters = (firmware / "parameters.h").read_text(errors="replace")
    _refuse_other_tools(firmware, defines)
    notes: list[str] = []
    numbers: dict[str, int] = {}
    for key, value in DEFINE.findall(defines):
        evaluated = _evaluate(value.split("//")[0], numbers)
        if isinstance(evaluated, int):
            numbers[key] = evaluated
    types, pixels = {}, {}
    for value, name in TYPEDEF.findall(defines + "\n" + parameters):
        array = re.fullmatch(r"nnet::array<\s*(.+?)\s*,\s*([\w*\s]+)>", value.strip())  # io_stream: a pixel of the type
        if array or "nnet::" not in value:
            types[name] = array.group(1) if array else value.strip()
        size = _evaluate(array.group(2), numbers) if array else None
        if isinstance(size, int):
            pixels[name] = size
    types.update(dict.fromkeys(EXPONENT_TYPE.findall(defines), POWER_OF_TWO))
    structs = _structs(parameters, numbers, types)
    declared = set(re.findall(r'#include\s+"weights/(\w+)\.h"', parameters))  # weight files parameters.h includes
    missing = sorted(name for name in declared if not _has_weights(firmware, name))
    top = _top_function(firmware)
    layers, input_name, input_type, input_pixel = [], None, None, None
    renamed: dict[str, str] = {}
    top_text = top.read_text(errors="replace")
    variable_types = {variable: kind for kind, variable in VARIABLE.findall(top_text)}  # `layer5_t layer5_out[N];`, streams
    for function, template, arguments, comment in CALL.findall(top_text):
        if function in SKIPPED_CALLS:
            continue
        if function.startswith(("read_time_step", "write_time_step")):  # hls4ml 1.x's TimeDistributed: a loop in the top function
            raise ModelError(f"{top}: firmware layer '{comment or function}' is a TimeDistributed loop (nnet::{function}), which codesign "
                             "cannot read from firmware yet")
        template_args, call_args = _split_arguments(template), _split_arguments(arguments)
        template_args = [_struct_named(argument, structs, notes) for argument in template_args]
        configs = [argument for argument in template_args if argument in structs]
        data_types = [types.get(argument, argument) for argument in template_args if argument not in structs]
        if not data_types or len(call_args) < 2:
            raise ModelError(f"{top}: cannot read the call nnet::{function}<{template}>({arguments})")
        config = structs[configs[0]] if configs else {}
        if "mult_config1" in config:  # a recurrent layer: its two kernels' structs and its tables'
            config = {**config, **{key: structs.get(config[key], {}) for key in ("mult_config1", "mult_config2", "ACT_CONFIG_T") if key in config}}
        if "FORWARD_CONFIG" in config:  # a bidirectional recurrent layer: each direction's struct
            config = {**config, "forward": structs.get(config["FORWARD_CONFIG"], {}), "backward": structs.get(config.get("BACKWARD_CONFIG"), {})}
        if "depthwise_config" in config:  # a separable convolution: its two halves' structs, and the type between them
            config = {**config, "depthwise": structs.get(config["depthwise_config"], {}), "pointwise": structs.get(config["pointwise_config"], {}),
                      "dw_output_t": data_types[1] if len(data_types) > 2 else data_types[-1]}
        is_weight = [bool(re.fullmatch(r"[a-z]+(?:_[fb]_)?\d+", argument)) and (_has_weights(firmware, argument) or argument in declared)
                     for argument in call_args]
        is_literal = [bool(NUMBER.fullmatch(argument)) for argument in call_args]  # hls4ml 1.x passes an activation's alpha so
        params = [float(argument.rstrip("fF")) for argument, literal in zip(call_args, is_literal) if literal]
        variables = [argument for argument, weight, literal in zip(call_args, is_weight, is_literal) if not (weight or literal)]
        weights = [weight_file(firmware, argument) if _has_weights(firmware, argument) else None
                   for argument, weight in zip(call_args, is_weight) if weight] if with_weights else []
        ins, outs = (variables[:1], variables[1:]) if function.startswith("clone_stream") else (variables[:-1], variables[-1:])
        name = _keras_name(comment or re.sub(r"_out$", "", outs[0]), renamed)  # hls4ml < 0.5 wrote no layer names: its variables'
        if input_name is None:
            input_name, input_type, input_pixel = ins[0], data_types[0], pixels.get(template_args[0])
        out_type = types.get(variable_types.get(outs[0], ""), data_types[-1])  # a call with one type (a resize) declares its output's
        layers.append(Layer(function, name, data_types[0], out_type, config, weights, ins, outs, named=bool(comment), params=params))
    if not layers:
        raise ModelError(f"{top}: no nnet:: layer calls")
    _with_da_kernels(firmware, layers, with_weights)
    stream = "hls::stream" in top_text or any(layer.config.get("io_type") == "nnet::io_stream" for layer in layers)
    part, clock_ns, backend = _settings(folder)
    if missing and with_weights:
        notes.append(f"weights/{', '.join(missing)} missing: {UNKNOWN_WEIGHTS}, drawn as an untrained layer's (DSP and LUT "
                     "intervals widened as for untrained weights)")
    if renamed:
        notes.append(f"firmware layers named as Keras names cannot start ({listed_names(list(renamed), 3)}) are shown as "
                     f"{listed_names(list(renamed.values()), 3)}")
    if any("_large" in layer.function for layer in layers):
        notes.append("hls4ml < 0.5 kernels (*_large) estimated as hls4ml 1.3's Resource strategy builds them")
    aliases = dict(re.findall(r"auto\s*&\s*(\w+)\s*=\s*(\w+)\s*;", top_text))
    style = next((name.lower() for name in re.findall(r"#pragma\s+HLS\s+(DATAFLOW|PIPELINE)\b", top_text, flags=re.IGNORECASE)), "auto")
    declared = {variable: int(depth) for variable, depth in STREAM_DEPTH.findall(top_text)}  # `#pragma HLS STREAM variable=layerN_out depth=D`
    depths = {layer.name: declared[layer.outputs[0]] for layer in layers if layer.outputs and layer.outputs[0] in declared}
    design = Firmware(layers, input_name, input_type, "io_stream" if stream else "io_parallel", part, clock_ns, backend, notes, aliases,
                      missing if with_weights else [], input_pixel, style, fifo_depths=depths)
    return _with_value_bits(folder, design) if with_weights else design  # the widths are data, as the weights are


KERAS_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*")  # what Keras takes as a layer name


def _keras_name(name: str, renamed: dict[str, str]) -> str:
    """The firmware layer's name, or one Keras takes where it does not (hls4ml's PyTorch front end names the layers of
    an nn.Sequential '_0', '_1', ...: 'layer_0'), recorded in `renamed`."""
    if KERAS_NAME.fullmatch(name):
        return name
    if name not in renamed:
        renamed[name] = f"layer{name}" if KERAS_NAME.fullmatch(f"layer{name}") else f"layer_{len(renamed)}"
    return renamed[name]


HGQ_NOTE = "HGQ quantizer functions"
HGQ_UNKNOWN_WIDTHS = f"{HGQ_NOTE} (h_*, *_quantizer) estimated as the cast of their producer's output to their type"  # its declared types stand for the widths


def is_hgq_quantizer(layer: Layer, named: dict | tuple = ()) -> bool:
    """Whether a firmware call is an HGQ quantizer: HGQ's proxy models name them h_* or *_quantizer, and hls4ml names a
    quantizer's function after its layer (HGQ2: the quantizer's name), which `named` (the folder's per-value widths) holds."""
    return layer.function.startswith("h_") or layer.function.endswith("_quantizer") or layer.function in named or layer.name in named


def _with_value_bits(folder: Path, design: Firmware) -> Firmware:
    """The design with each HGQ quantizer's per-value widths where the folder states them (hgq.py), and a note saying
    where they come from, or that its declared types stand for them."""
    from codesign.estimate.hgq import GENERATED_CODE, PROXY_MODEL, value_bits_in_folder

    found, source = value_bits_in_folder(folder)
    quantizers = [layer for layer in design.layers if is_hgq_quantizer(layer, found)]
    if not quantizers:
        return design
    for layer in quantizers:
        layer.value_bits = found.get(layer.function, found.get(layer.name))
    per_value = [layer.name for layer in quantizers if layer.value_bits is not None]
    if per_value:
        design.notes.append(f"{HGQ_NOTE}: each value's width read from {source} ({len(per_value)} of {len(quantizers)} quantizers set them per value)")
    else:
        design.notes.append(f"{HGQ_UNKNOWN_WIDTHS}: HGQ's per-value bit widths are not in {GENERATED_CODE} or {PROXY_MODEL}")
    return design


def _named(variable: str, aliases: dict) -> str:
    """The variable a reference names, through any chain of `auto& a = b;`."""
    while variable in aliases:
        variable = aliases[variable]
    return variable


def _strategy(layer: Layer) -> str:
    """Resource where the config says so, or where hls4ml < 0.5 called its resource kernels `*_large`;
    distributed_arithmetic where the config says so."""
    strategy = str(layer.config.get("mult_config1", layer.config).get("strategy", ""))  # a recurrent layer's: its kernels'
    if strategy.endswith(DISTRIBUTED_ARITHMETIC):
        return DISTRIBUTED_ARITHMETIC
    return "Resource" if strategy.endswith("resource") or "_large" in layer.function else "Latency"


def _with_da_kernels(firmware: Path, layers: list[Layer], with_weights: bool) -> None:
    """The distributed_arithmetic kernels' weights, read from their code (da_firmware.py): a `dense_da_N` call (an
    io_parallel Dense) has no config, a streamed Dense's or a convolution's config names its kernel (`dense_da`);
    none has a weight file."""
    calls = [(layer, re.search(r"dense_da_\d+", layer.function if layer.function.startswith("dense_da_") else str(layer.config.get("dense_da", ""))))
             for layer in layers]
    calls = [(layer, found.group(0)) for layer, found in calls if found and not layer.weights]
    kernels = da_kernels(firmware) if calls else {}
    for layer, kernel_name in calls:
        if kernel_name not in kernels:
            raise ModelError(f"firmware layer '{layer.name}' computes with {kernel_name}, which {firmware / GENERATED} does not define")
        kernel, bias = kernels[kernel_name]
        if layer.function.startswith("dense_da_"):
            layer.config = {"n_in": kernel.shape[0], "n_out": kernel.shape[1], "strategy": f"nnet::{DISTRIBUTED_ARITHMETIC}"}
        layer.config["weight_t"], layer.config["bias_t"] = (exact_type_of(values)[0].hls4ml() for values in (kernel, bias))  # exact sums
        if with_weights:
            layer.weights = [kernel.ravel(), bias]


def _layer_config(layer: Layer, config: dict, io_type: str) -> dict:
    """hls4ml's LayerName entry: the firmware's types, reuse factor, strategy and parallelization factor."""
    if "depthwise" in config:  # hls4ml 1.3 splits a separable convolution into these halves, each taking its keys
        depthwise, pointwise = config["depthwise"], config["pointwise"]
        precision = {"result": layer.out_type, "depthwise_result": config["dw_output_t"]}
        for key, half, field_name in (("depthwise", depthwise, "weight_t"), ("depthwise_accum", depthwise, "accum_t"),
                                      ("pointwise", pointwise, "weight_t"), ("pointwise_accum", pointwise, "accum_t"), ("bias", pointwise, "bias_t")):
            if field_name in half:
                precision[key] = half[field_name]
        for key, index in (("depthwise", 0), ("pointwise", 1), ("bias", 3)):
            _type_powers_of_two(precision, key, layer.weights, index)
        return {"Precision": precision, "ReuseFactor": int(depthwise.get("reuse_factor", 1) or 1), "Strategy": _strategy(Layer(layer.function, layer.name, "", "", depthwise))}
    precision = {"result": layer.out_type}
    for key in ("weight", "bias", "accum", "scale", "recurrent_weight", "recurrent_bias"):
        if f"{key}_t" in config:
            precision[key] = config[f"{key}_t"]
    if "mult_config1" in config:  # a recurrent layer: its kernel's reuse factor and strategy, its tables' type and size
        entry = {"Precision": precision, "ReuseFactor": int(config["mult_config1"].get("reuse_factor", 1) or 1), "Strategy": _strategy(layer)}
        tables = config.get("ACT_CONFIG_T", {})
        if "table_t" in tables:
            precision["table"] = tables["table_t"]
        if isinstance(tables.get("table_size"), int):
            entry["TableSize"] = tables["table_size"]
        return entry
    for key, index in (("weight", 0), ("scale", 0), ("bias", 1)):
        _type_powers_of_two(precision, key, layer.weights, index)
    entry = {"Precision": precision, "ReuseFactor": int(config.get("reuse_factor", config.get("reuse", 1)) or 1), "Strategy": _strategy(layer)}
    factor = _parallelization_factor(config) if io_type == "io_parallel" else 1
    if factor > 1:
        entry["ParallelizationFactor"] = factor
    if "table_t" in config:
        entry["table_t"] = config["table_t"]
    if isinstance(config.get("table_size"), int):
        entry["TableSize"] = config["table_size"]
    if layer.function == "softmax":  # firmware older than hls4ml's softmax implementations computes its tables from floats
        entry["Implementation"] = str(config.get("implementation", "legacy")).rsplit("::", 1)[-1]
    return entry


def _parallelization_factor(config: dict) -> int:
    """The output pixels an io_parallel convolution computes at once: hls4ml 0.7+ writes `n_partitions`, its pixels
    over its ParallelizationFactor (before 0.7 none); 1 where the firmware says no other."""
    if "n_filt" not in config:
        return 1
    return pixels_per_partition(config.get("out_height", 1), config.get("out_width", 1), config.get("n_partitions")) or 1


def _type_powers_of_two(precision: dict, key: str, weights: list, index: int) -> None:
    """Power-of-two weights (`precision[key]` POWER_OF_TWO) typed as the narrowest fixed type that holds their values,
    `weights[index]` (their products are shifts either way)."""
    if precision.get(key) == POWER_OF_TWO:
        values = weights[index] if len(weights) > index and weights[index] is not None else np.ones(1)
        precision[key] = exact_type_of(values)[0].hls4ml()


def _kernel(weights: np.ndarray, shape: tuple[int, ...], resource: bool, channels_first: bool = False) -> np.ndarray:
    """The Keras kernel of the written weights; the Resource strategy wrote them transposed, output first, then (hls4ml
    0.6 on) the kernel's shape, or (`channels_first`: hls4ml 0.4 and 0.5's convolutions) its channels, then its window."""
    if weights is None:  # a weight file that is missing: drawn by Keras when the layer is built
        return None
    if not resource:
        return weights.reshape(shape)
    if channels_first:
        written = weights.reshape((shape[-1], shape[-2], *shape[:-2]))
        return np.transpose(written, (*range(2, len(shape)), 1, 0))
    order = (shape[-1], *shape[:-1])
    return np.moveaxis(weights.reshape(order), 0, -1)


def _channels_first(config: dict) -> bool:
    """Whether a convolution's Resource weights are written channels first: hls4ml before 0.6, whose configs have no
    `implementation` (hls4ml 0.6 added it with the line buffer)."""
    return "implementation" not in config


def _same(config: dict) -> str:
    """Keras padding of a kernel or pooling whose config pads on any side (Keras's 'same' at stride 2 may pad the
    bottom and right only; a 1D config has no top or bottom). A distributed_arithmetic convolution's config states no
    padding (its generated fill_buffer pads): 'valid' where its output is the unpadded one's size."""
    pads = [int(config[key]) for key in ("pad_top", "pad_bottom", "pad_left", "pad_right") if isinstance(config.get(key), int)]
    if pads or "filt_width" not in config:
        return "same" if sum(pads) > 0 else "valid"
    sizes = [(config.get(f"in_{side}", -1), config.get(f"out_{side}", -1), config.get(f"filt_{side}", 1), config.get(f"stride_{side}", 1))
             for side in ("height", "width")]
    unpadded = all(size_out == (size_in - window) // stride + 1 for size_in, size_out, window, stride in sizes if size_in > 0)
    return "valid" if unpadded else "same"


def _dense(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    shape = (int(config["n_in"]), int(config["n_out"]))
    return keras.layers.Dense(shape[1], name=layer.name), [_kernel(layer.weights[0], shape, resource), layer.weights[1]]


def _conv1d(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    shape = (int(config["filt_width"]), int(config["n_chan"]), int(config["n_filt"]))
    built = keras.layers.Conv1D(shape[2], shape[0], strides=int(config.get("stride_width", config.get("stride", 1))), padding=_same(config),
                                name=layer.name)
    return built, [_kernel(layer.weights[0], shape, resource, _channels_first(config)), layer.weights[1]]


def _conv2d(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    shape = (int(config["filt_height"]), int(config["filt_width"]), int(config["n_chan"]), int(config["n_filt"]))
    built = keras.layers.Conv2D(shape[3], shape[:2], strides=(int(config.get("stride_height", 1)), int(config.get("stride_width", 1))),
                                padding=_same(config), name=layer.name)
    return built, [_kernel(layer.weights[0], shape, resource, _channels_first(config)), layer.weights[1]]


def _depthwise(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    two = "2d" in layer.function
    size = (int(config["filt_height"]), int(config["filt_width"])) if two else (int(config["filt_width"]),)
    strides = (int(config.get("stride_height", 1)), int(config.get("stride_width", 1))) if two else int(config.get("stride_width", 1))
    multiplier = int(config.get("n_filt", config["n_chan"])) // int(config["n_chan"])  # n_filt: channels x depth multiplier
    built = (keras.layers.DepthwiseConv2D if two else keras.layers.DepthwiseConv1D)(size, padding=_same(config), strides=strides,
                                                                                   depth_multiplier=multiplier, name=layer.name)
    bias = layer.weights[1] if len(layer.weights) > 1 else np.zeros(int(config["n_chan"]) * multiplier)
    return built, [layer.weights[0], bias]


def _separable(layer: Layer, config: dict, resource: bool):
    """hls4ml's separable convolution (one call: depthwise weights, pointwise weights, the depthwise half's zero
    bias, the bias), rebuilt as the Keras layer hls4ml 1.3 splits into the same two halves."""
    from tensorflow import keras

    two = "2d" in layer.function
    depthwise, pointwise = config["depthwise"], config["pointwise"]
    size = (int(depthwise["filt_height"]), int(depthwise["filt_width"])) if two else (int(depthwise["filt_width"]),)
    strides = (int(depthwise.get("stride_height", 1)), int(depthwise.get("stride_width", 1))) if two else int(depthwise.get("stride_width", 1))
    multiplier = int(depthwise["n_filt"]) // int(depthwise["n_chan"])
    built = (keras.layers.SeparableConv2D if two else keras.layers.SeparableConv1D)(int(pointwise["n_filt"]), size, strides=strides, padding=_same(depthwise),
                                                                                   depth_multiplier=multiplier, name=layer.name)
    weights = (list(layer.weights) + [None] * 4)[:4]
    shape = (*((1, 1) if two else (1,)), int(pointwise["n_chan"]), int(pointwise["n_filt"]))
    return built, [weights[0], _kernel(weights[1], shape, resource), weights[3]]


def _pooling(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    average = str(config.get("pool_op", "")).endswith("Average")
    padding = _same(config)
    if layer.function in ("pooling1d_cl", "pooling1d"):  # hls4ml 0.4's pooling1d: pool_size, stride; it pools the flat
        width = int(config.get("pool_width", config.get("pool_size", 1)))  # array across channels, at the same cost
        pool = keras.layers.AveragePooling1D if average else keras.layers.MaxPooling1D
        return pool(width, strides=int(config.get("stride_width", config.get("stride", width))), padding=padding, name=layer.name), None
    size = (int(config["pool_height"]), int(config["pool_width"]))
    strides = (int(config.get("stride_height", size[0])), int(config.get("stride_width", size[1])))
    pool = keras.layers.AveragePooling2D if average else keras.layers.MaxPooling2D
    return pool(size, strides=strides, padding=padding, name=layer.name), None


def _global_pooling(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    average = str(config.get("pool_op", "")).endswith("Average")
    if "1d" in layer.function:
        return (keras.layers.GlobalAveragePooling1D if average else keras.layers.GlobalMaxPooling1D)(name=layer.name), None
    return (keras.layers.GlobalAveragePooling2D if average else keras.layers.GlobalMaxPooling2D)(name=layer.name), None


def _normalize(layer: Layer, config: dict, resource: bool):
    """hls4ml's batch normalization is x * scale + bias: a Keras one with mean 0 and variance 1 - epsilon."""
    from tensorflow import keras

    scale, bias = layer.weights[0], layer.weights[1]
    return keras.layers.BatchNormalization(epsilon=1e-3, name=layer.name), [scale, bias, np.zeros_like(scale), np.full_like(scale, 1.0 - 1e-3)]


def _zero_padding(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    sides = (int(config.get("pad_left", 0)), int(config.get("pad_right", 0)))
    if layer.function == "zeropad1d_cl":
        return keras.layers.ZeroPadding1D(sides, name=layer.name), None
    return keras.layers.ZeroPadding2D(((int(config.get("pad_top", 0)), int(config.get("pad_bottom", 0))), sides), name=layer.name), None


def _cropping(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    sides = (int(config.get("crop_left", 0)), int(config.get("crop_right", 0)))
    if layer.function == "cropping1d_cl":
        return keras.layers.Cropping1D(sides, name=layer.name), None
    return keras.layers.Cropping2D(((int(config.get("crop_top", 0)), int(config.get("crop_bottom", 0))), sides), name=layer.name), None


def _resize(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    factors = (int(config["new_height"]) // int(config["height"]), int(config["new_width"]) // int(config["width"]))
    return keras.layers.UpSampling2D(factors, name=layer.name), None


def _recurrent(layer: Layer, config: dict, resource: bool):
    """hls4ml's LSTM or GRU (lstm_stack, gru_stack): its sizes, activations, kernel, recurrent kernel and biases (Keras's
    LSTM has one bias, the recurrent one added in; its GRU resets after the product, as hls4ml 1.3's, with both)."""
    cell, weights = _recurrent_cell(config, int(config["n_in"]), 4 if layer.function.startswith("lstm") else 3, layer.weights, resource)
    return cell(layer.name), weights


def _bidirectional(layer: Layer, config: dict, resource: bool):
    """hls4ml's Bidirectional (bidirectional_stack): an LSTM or GRU each way (each direction's struct, its gates counted
    by n_mult), the forward one's four weights then the backward one's."""
    from tensorflow import keras

    n_in = int(config["n_in"])
    cells = [_recurrent_cell({**config, **config[side]}, n_in, int(config[side].get("n_mult", 4)), layer.weights[4 * index : 4 * index + 4], resource,
                             backwards=side == "backward") for index, side in enumerate(("forward", "backward"))]
    built = keras.layers.Bidirectional(cells[0][0](f"{layer.name}_forward"), backward_layer=cells[1][0](f"{layer.name}_backward"), name=layer.name)
    return built, cells[0][1] + cells[1][1]


def _recurrent_cell(config: dict, n_in: int, gates: int, weights: list, resource: bool, backwards: bool = False):
    """(a function of a name giving the Keras LSTM or GRU, its weights in Keras's order) for one recurrent layer's struct
    (`backwards`: a Bidirectional's backward one)."""
    from tensorflow import keras

    units = int(config["n_state"])
    settings = {"return_sequences": int(config.get("n_sequence_out", 1)) > 1, "activation": config.get("activation", "tanh"),
                "recurrent_activation": config.get("activation_recr", "sigmoid"), "go_backwards": backwards}
    kernel, recurrent, bias, recurrent_bias = (list(weights) + [None] * 4)[:4]
    kernel = None if kernel is None else _kernel(kernel, (n_in, gates * units), resource)
    recurrent = None if recurrent is None else _kernel(recurrent, (units, gates * units), resource)
    if gates == 4:
        summed = None if bias is None or recurrent_bias is None else np.asarray(bias) + np.asarray(recurrent_bias)
        return (lambda name: keras.layers.LSTM(units, name=name, **settings)), [kernel, recurrent, summed]
    both = None if bias is None or recurrent_bias is None else np.stack([np.asarray(bias), np.asarray(recurrent_bias)])
    return (lambda name: keras.layers.GRU(units, reset_after=True, name=name, **settings)), [kernel, recurrent, both]


def _layer_normalization(layer: Layer, config: dict, resource: bool):
    """hls4ml's LayerNormalization (layernormalize): over the last axis of seq_len rows of n_in / seq_len values, its
    epsilon 10^-epsilon_power_of_10, its scale (gamma) and bias (beta)."""
    from tensorflow import keras

    epsilon = 10.0 ** -int(config.get("epsilon_power_of_10", 3))
    return keras.layers.LayerNormalization(axis=-1, epsilon=epsilon, name=layer.name), (list(layer.weights) + [None, None])[:2]


def _embedding(layer: Layer, config: dict, resource: bool):
    """hls4ml's Embedding: n_in indices, each read as its row of the vocab_size x n_out table."""
    from tensorflow import keras

    built = keras.layers.Embedding(int(config["vocab_size"]), int(config["n_out"]), input_length=int(config["n_in"]), name=layer.name)
    return built, [None if not layer.weights or layer.weights[0] is None else np.asarray(layer.weights[0]).reshape(int(config["vocab_size"]), -1)]


def _transpose(layer: Layer, config: dict, resource: bool):
    """hls4ml's Permute: its `perm` of the axes (batch left out; hls4ml 0.8's 2D one permutes a depth of 1 first)."""
    from tensorflow import keras

    perm = config["perm"]
    if layer.function == "transpose_2d" and len(perm) == 3:
        perm = tuple(axis - 1 for axis in perm[1:])
    return keras.layers.Permute(tuple(axis + 1 for axis in perm), name=layer.name), None


def _merge(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    if layer.function.startswith("concatenate"):
        return keras.layers.Concatenate(axis=config["axis"] if isinstance(config.get("axis"), int) else -1, name=layer.name), None
    merges = {"add": keras.layers.Add, "subtract": keras.layers.Subtract, "multiply": keras.layers.Multiply, "average": keras.layers.Average,
              "maximum": keras.layers.Maximum, "minimum": keras.layers.Minimum}
    return merges[layer.function](name=layer.name), None


def _activation(layer: Layer, config: dict, resource: bool):
    from tensorflow import keras

    if layer.function == "prelu":
        return keras.layers.PReLU(name=layer.name), [layer.weights[0]]
    if layer.function == "leaky_relu":
        alpha = layer.params[0] if layer.params else config.get("activ_param")
        return keras.layers.LeakyReLU(float(alpha) if isinstance(alpha, (int, float)) else 0.3, name=layer.name), None
    if layer.function == "elu" and layer.params:
        return keras.layers.ELU(layer.params[0], name=layer.name), None
    if layer.function == "thresholded_relu":
        return keras.layers.ThresholdedReLU(layer.params[0] if layer.params else 1.0, name=layer.name), None
    if layer.function in QKERAS_ACTIVATIONS:
        from qkeras import QActivation

        return QActivation(QKERAS_ACTIVATIONS[layer.function], name=layer.name), None
    return keras.layers.Activation(ACTIVATIONS[layer.function], name=layer.name), None


BUILDERS = {  # nnet function -> the Keras layer (and its weights) that hls4ml converts back to it
    **dict.fromkeys(("dense", "dense_large", "dense_latency", "dense_resource"), _dense),
    # pointwise: hls4ml's 1x1 kernels; *_latency_cl and *_large_cl: hls4ml 0.4's io_parallel kernels by strategy
    # conv1d_cl, conv2d_cl: distributed_arithmetic's io_parallel convolutions (their config first, their kernel its `dense_da`)
    **dict.fromkeys(("conv_1d_cl", "conv_1d_latency_cl", "conv_1d_large_cl", "pointwise_conv_1d_cl", "conv1d_cl"), _conv1d),
    **dict.fromkeys(("conv_2d_cl", "conv_2d_latency_cl", "conv_2d_large_cl", "pointwise_conv_2d_cl", "conv2d_cl"), _conv2d),
    **dict.fromkeys(("depthwise_conv_1d_cl", "depthwise_conv_2d_cl"), _depthwise),
    **dict.fromkeys(("separable_conv_1d_cl", "separable_conv_2d_cl"), _separable),
    **dict.fromkeys(("pooling1d_cl", "pooling1d", "pooling2d_cl"), _pooling),  # pooling1d: hls4ml 0.4's
    **dict.fromkeys(("global_pooling1d_cl", "global_pooling2d_cl"), _global_pooling),
    "normalize": _normalize,
    **dict.fromkeys(("zeropad1d_cl", "zeropad2d_cl"), _zero_padding),
    **dict.fromkeys(("cropping1d_cl", "cropping2d_cl"), _cropping),
    **dict.fromkeys(MERGES, _merge),
    **dict.fromkeys(("transpose", "transpose_2d", "transpose_3d"), _transpose),  # 1.x; hls4ml 0.8's by rank
    **dict.fromkeys(("lstm_stack", "gru_stack"), _recurrent),
    "bidirectional_stack": _bidirectional,
    "layernormalize": _layer_normalization,
    "embedding": _embedding,
    **dict.fromkeys(("prelu", "leaky_relu", "thresholded_relu", *ACTIVATIONS, *QKERAS_ACTIVATIONS), _activation),
}
WEIGHTED = (_dense, _conv1d, _conv2d, _depthwise, _separable, _normalize, _recurrent, _bidirectional, _layer_normalization, _embedding)  # builders that read a layer's weights (and PReLU's alpha)
# element-wise lookup tables read from firmware as a cast, their table unpriced (no vendor report of one in the calibration)
LOOKUP_TABLES = {"unary_lut": "HGQ's lookup table"}
PASS_THROUGH = ("clone_stream", "repack_stream", "linear")  # a stream's copy, or a linear call that hls4ml removes unless it casts


def _casts(layer: Layer) -> bool:
    """A linear call that changes the type (a QKeras QActivation's quantizer): hls4ml keeps it, rounding and saturating."""
    return layer.function == "linear" and "".join(layer.in_type.split()) != "".join(layer.out_type.split())


def _builder(function: str):
    if function.startswith("dense_da_"):  # distributed_arithmetic's io_parallel Dense
        return _dense
    if function.startswith("concatenate"):
        return _merge
    if function.startswith("resize_nearest"):
        return _resize
    return BUILDERS.get(function)


def _shaped(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Written weights in the Keras layer's shape. A batch normalization's per-channel scale and bias, written per
    channel for a flat input (hls4ml reads scale[i % n_filt]) or per element for a spatial one: repeated, or one pixel's."""
    size = int(np.prod(shape))
    if values.size != size and values.size % size == 0:
        values = values.reshape(-1, size)[0]
    elif values.size != size and values.size and size % values.size == 0:
        values = np.tile(values, size // values.size)
    return values.reshape(shape)


def _shaped_or_drawn(values: np.ndarray, drawn: np.ndarray, layer: str, notes: list[str]) -> np.ndarray:
    """_shaped, or Keras's draw with a note where the written array cannot fill the layer's (hls4ml 1.3 wrote a
    power-of-two alpha scale of 2 values for 3 channels, which its kernel reads past): those weights are unknown."""
    size = int(np.prod(drawn.shape))
    if values.size == size or (values.size and (values.size % size == 0 or size % values.size == 0)):
        return _shaped(values, drawn.shape)
    note = (f"firmware layer '{layer}': {values.size} weights written where it reads {size}: {UNKNOWN_WEIGHTS}, drawn as an untrained "
            "layer's (DSP and LUT then depend on the draw)")
    notes.extend([] if note in notes else [note])
    return drawn


def _input_shape(design: Firmware) -> tuple[int, ...]:
    """The model's input: that of the first layer whose config states its shape (a kernel, a pooling, a padding, a
    resize, a permute; a Dense reads a flat vector). Element-wise calls before it (an activation, a batch
    normalization) keep the shape and state only their element count, the fallback where nothing else does."""
    for layer in design.layers:
        stated = _stated_input(layer)
        if stated:
            return stated
        if _builder(layer.function) is _dense:  # streamed, a Flatten before it: its input's words, each of a pixel
            pixel = design.input_pixel if design.io_type == "io_stream" else None
            n_in = int(layer.config["n_in"])
            return (n_in // pixel, pixel) if pixel and n_in > pixel and n_in % pixel == 0 else (n_in,)
    first = next((layer.config for layer in design.layers if layer.config.get("n_in")), {})
    return (int(first.get("n_in", 1)),)


def _stated_input(layer: Layer) -> tuple[int, ...] | None:
    """The input shape a layer's config states, where it states one: a kernel's, a pooling's, a padding's, a resize's,
    a permute's (hls4ml's Reshape is free: the firmware has no call for it, only the next layer's shape)."""
    config = layer.config.get("depthwise", layer.config)  # a separable convolution's input is its depthwise half's
    channels = config.get("n_chan", config.get("n_filt"))
    if isinstance(config.get("in_height"), int) and config["in_height"] > 0 and channels:  # (-1: a 1D DA convolution's)
        return config["in_height"], config["in_width"], channels
    if "in_width" in config and channels:
        return config["in_width"], channels
    if (layer.function in ("pooling1d_cl", "global_pooling1d_cl") or _builder(layer.function) is _conv1d) and channels and "n_in" in config:
        return config["n_in"], channels  # its n_in is its width (a convolution's in hls4ml 0.4)
    if layer.function.startswith("resize_nearest") and channels:  # height 1 kept 1: hls4ml's 1D resize (a 1x1 image grows)
        one_d = config.get("height") == 1 and config.get("new_height", 1) == 1
        return (config["width"], channels) if one_d else (config["height"], config["width"], channels)
    if _builder(layer.function) in (_recurrent, _bidirectional):
        return int(config["n_sequence"]), int(config["n_in"])
    if _builder(layer.function) is _layer_normalization and config.get("seq_len"):  # rows of n_in / seq_len values
        return int(config["seq_len"]), int(config["n_in"]) // int(config["seq_len"])
    if _builder(layer.function) is _embedding:  # its indices
        return (int(config["n_in"]),)
    if _builder(layer.function) is _transpose:  # 1.x states its input's shape; hls4ml 0.8 its sizes by rank
        if isinstance(config.get("from_shape"), tuple):
            return config["from_shape"]
        return tuple(config[key] for key in (("depth", "height", "width") if layer.function == "transpose_3d" else ("height", "width")))
    return None


def keras_model_of(design: Firmware):
    """The Keras model with the firmware's layers and weights, and the hls4ml HLSConfig with its types: converted by
    hls4ml, they give the firmware's design."""
    from tensorflow import keras

    inputs = keras.Input(_input_shape(design), name=design.input_name)
    tensors, producers = {design.input_name: inputs}, {design.input_name: design.input_name}  # variable -> tensor, its layer
    settings = {design.input_name: {"Precision": {"result": design.input_type}}}
    pending = []  # (keras layer, weights) set once the model is built
    written = design.input_name  # the last call's output
    for layer in design.layers:
        layer.inputs = [_named(variable, design.aliases) for variable in layer.inputs]
        missing = [variable for variable in layer.inputs if variable not in tensors]
        if missing and len(layer.inputs) == 1:  # hls4ml 0.6 left a free Flatten's variable undeclared: the last call's output
            design.notes.append(f"firmware layer '{layer.name}' reads '{missing[0]}', which no call writes: read as the previous call's "
                                f"output '{written}' (a free Flatten or Reshape hls4ml left out)")
            layer.inputs = [written]
        elif missing:
            raise ModelError(f"firmware layer '{layer.name}' reads '{missing[0]}', which no earlier call writes")
        written = layer.outputs[0] if layer.outputs else written
        sources = [tensors[variable] for variable in layer.inputs]
        x, previous = sources[0], producers[layer.inputs[0]]
        builder = _builder(layer.function)
        own_linear = f"{previous}_linear"  # hls4ml's linear call after a kernel, kept where it casts the kernel's result
        if _casts(layer) and layer.name == own_linear and own_linear in settings:
            settings[layer.name]["Precision"]["result"] = layer.out_type
            tensors[layer.outputs[0]], producers[layer.outputs[0]] = x, previous
            continue
        if layer.function.startswith(PASS_THROUGH) and not _casts(layer):
            for variable in layer.outputs:
                tensors[variable], producers[variable] = x, previous
            continue
        if builder is None:
            if len(layer.inputs) != 1 or (layer.weights and layer.function not in LOOKUP_TABLES):
                raise ModelError(f"firmware layer '{layer.name}' calls nnet::{layer.function}, which codesign cannot read from firmware yet")
            # HGQ's quantizer (h_*, or one nnet_code_gen.h defines), a lookup table, or an element-wise call codesign does not
            # know: its producer's output, cast
            settings[previous]["Precision"]["result"] = layer.out_type
            if layer.value_bits is not None:
                design.value_bits[previous] = layer.value_bits
            if f"{previous}_linear" in settings:
                settings[f"{previous}_linear"]["Precision"]["result"] = layer.out_type
            if layer.function in LOOKUP_TABLES:
                design.notes.append(f"firmware layer '{layer.name}' (nnet::{layer.function}, {LOOKUP_TABLES[layer.function]} of "
                                    f"{layer.config.get('table_size', '?')} entries) {AS_A_CAST}: its table's logic is not priced")
            elif not (is_hgq_quantizer(layer) or layer.value_bits is not None):
                design.notes.append(f"firmware layer '{layer.name}' (nnet::{layer.function}) {AS_A_CAST}: codesign does not know its cost")
            tensors[layer.outputs[0]], producers[layer.outputs[0]] = x, previous
            continue
        if builder is _dense and len(x.shape) > 2:  # hls4ml's Flatten is free: the firmware has no call for it
            x = keras.layers.Flatten(name=f"{layer.name}_flatten")(x)
        if len({len(source.shape) for source in sources}) > 1:  # a merge of a flat value with a free Flatten's (fuzz generation 15)
            sources = [keras.layers.Flatten(name=f"{layer.name}_flatten{index}")(source) if len(source.shape) > 2 else source
                       for index, source in enumerate(sources)]
        stated = _stated_input(layer) if builder is not None else None
        if stated and tuple(x.shape[1:]) != tuple(stated) and np.prod(x.shape[1:]) == np.prod(stated):  # and its Reshape
            x = keras.layers.Reshape(stated, name=f"{layer.name}_reshape")(x)
        built, weights = builder(layer, layer.config, _strategy(layer) == "Resource")
        if builder is _resize and len(x.shape) == 3:  # a 1D input: hls4ml wrote its resize with height 1
            built = keras.layers.UpSampling1D(int(layer.config["new_width"]) // int(layer.config["width"]), name=layer.name)
        if weights is not None:
            pending.append((built, weights))
        tensors[layer.outputs[0]], producers[layer.outputs[0]] = built(sources if len(sources) > 1 else x), layer.name
        settings[layer.name] = _layer_config(layer, layer.config, design.io_type)
        if builder in (_dense, _conv1d, _conv2d, _depthwise, _separable):  # hls4ml's linear activation after it: the same type, removed
            settings[f"{layer.name}_linear"] = {"Precision": {"result": layer.out_type}}
    read = {variable for layer in design.layers for variable in layer.inputs}
    results = [variable for layer in design.layers for variable in layer.outputs if variable not in read and variable in tensors]
    model = keras.Model(inputs, [tensors[variable] for variable in results] if len(results) > 1 else tensors[design.layers[-1].outputs[0]])
    for built, weights in pending:
        built.set_weights([target if values is None else _shaped_or_drawn(np.asarray(values, dtype=np.float32), target, built.name, design.notes)
                           for values, target in zip(weights, built.get_weights())])  # missing: Keras's draw
    model_settings = {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency", "PipelineStyle": design.pipeline_style}
    return model, {"Model": model_settings, "LayerName": settings}


def convert_firmware(design: Firmware, backend: str, part: str, clock_ns: float):
    """hls4ml 1.3's graph of the rebuilt design (nothing written or compiled)."""
    from codesign.hls4ml_graph import hls4ml_graph

    model, hls_config = keras_model_of(design)
    _keep_identity_normalizations(model)
    graph = hls4ml_graph(model, hls_config, "hls4ml 1.3 cannot convert the design rebuilt from the firmware", backend=backend, part=part,
                         clock_period=clock_ns, io_type=design.io_type)
    return _with_firmware_types(graph, design)


def _keep_identity_normalizations(model) -> None:
    """A normalize call of scale 1 and bias 0 (an ApplyAlpha hls4ml adds after its pass that removes such calls) is in
    the design: its scale set a float32 step above 1, which its type rounds back to 1, so hls4ml keeps it (its
    SkipOptimizers setting does not reach its flows). The estimate's graph only: the model itself stays as read."""
    from tensorflow import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            if np.all(gamma == 1) and not np.any(beta) and not np.any(mean):
                layer.set_weights([np.full_like(gamma, np.nextafter(np.float32(1), np.float32(2))), beta, mean, variance])


def _with_firmware_types(graph, design: Firmware):
    """The graph with each layer's output type the firmware's. hls4ml infers some from their input (a zero padding's,
    a pooling's) where the model's converter had merged a quantizer after them into them, narrower: the firmware
    holds that type, and it is what was built."""
    convert = graph.config.backend.convert_precision_string
    written = {layer.name: layer.out_type for layer in design.layers}
    for layer in graph.get_layers():
        if layer.name in design.value_bits:  # an HGQ quantizer's per-value widths of its output (features.value_bits_of)
            layer.set_attr("value_bits", design.value_bits[layer.name])
        if layer.name not in written or not layer.get_output_variable():
            continue
        try:
            precision = convert(written[layer.name])
        except (ValueError, AttributeError, IndexError):  # a type hls4ml does not parse (a struct): hls4ml's stays
            continue
        variable = layer.get_output_variable()
        if str(variable.type.precision) != str(precision):
            variable.type.precision = precision
    return graph
