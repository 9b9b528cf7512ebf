"""An hls4ml project estimated from the firmware hls4ml wrote, when no Keras model of it can be loaded (HGQ, PyTorch
and ONNX front ends, older hls4ml versions, a folder with only the firmware): docs/estimation.md.

`firmware/parameters.h` states every layer's configuration, `defines.h` its types, the top function (myproject.cpp)
the order of the layers and their names, `weights/*.txt` the weights; build_prj.tcl or project.tcl the part and
clock. From these the same design is rebuilt as a Keras model with hls4ml's per-layer configuration (types, reuse
factors, strategies), and converted by hls4ml 1.3: the estimate then runs the code path of a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import ModelError

SKIPPED_CALLS = ("load_weights_from_txt", "save_layer_output", "copy_data", "copy_data_axi", "print_result", "fill_zero")
ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "linear": "linear", "softmax": "softmax", "softplus": "softplus",
               "softsign": "softsign", "selu": "selu", "hard_sigmoid": "hard_sigmoid", "elu": "elu"}
MERGES = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply", "average": "Average", "maximum": "Maximum", "minimum": "Minimum"}
CALL = re.compile(r"nnet::(\w+)\s*<(.*?)>\s*\(([^;]*?)\)\s*;[ \t]*(?://[ \t]*(\S+))?")
STRUCT = re.compile(r"struct\s+(\w+)\s*:\s*nnet::(\w+)\s*\{(.*?)\n\s*\};", flags=re.DOTALL)
TYPEDEF = re.compile(r"typedef\s+(.+?)\s+(\w+)\s*;")
DEFINE = re.compile(r"#define\s+(\w+)\s+(.+)")
FIELD = re.compile(r"static\s+const\s+[\w:<> ]+?\s+(\w+)\s*=\s*([^;]+);")


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


def has_firmware(folder: Path) -> bool:
    firmware = Path(folder) / "firmware"
    return (firmware / "parameters.h").is_file() and (firmware / "defines.h").is_file()


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
        found[name] = fields
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


def _weights(folder: Path, name: str) -> np.ndarray:
    """weights/NAME.txt (comma-separated), else the initializer list of weights/NAME.h."""
    text_file, header = folder / "weights" / f"{name}.txt", folder / "weights" / f"{name}.h"
    if text_file.is_file():
        text = text_file.read_text()
    elif header.is_file():
        text = header.read_text().split("{", 1)[-1].rsplit("}", 1)[0]
    else:
        raise ModelError(f"{folder}: the firmware names weights '{name}' but weights/{name}.txt is not there")
    return np.array([float(value) for value in re.split(r"[,\s]+", text.strip()) if value], dtype=np.float64)


def _has_weights(folder: Path, name: str) -> bool:
    return (folder / "weights" / f"{name}.txt").is_file() or (folder / "weights" / f"{name}.h").is_file()


def _top_function(firmware: Path) -> Path:
    tops = sorted(path for path in firmware.glob("*.cpp") if CALL.search(path.read_text(errors="replace")))
    if not tops:
        raise ModelError(f"{firmware}: no top function calling nnet:: layers")
    return tops[0]


def _settings(folder: Path) -> tuple[str | None, float | None, str]:
    """Part, clock and backend from project.tcl (hls4ml >= 0.8) or build_prj.tcl (older)."""
    text = " ".join(path.read_text(errors="replace") for path in (folder / "project.tcl", folder / "build_prj.tcl") if path.is_file())
    part = re.search(r"set\s+part\s+\"([\w-]+)\"|set_part\s+\{?([\w-]+)\}?", text)
    clock = re.search(r"set\s+clock_period\s+([\d.]+)|create_clock\s+-period\s+([\d.]+)", text)
    backend = "Vitis" if re.search(r"vitis", text, flags=re.IGNORECASE) else "Vivado"
    return (next(group for group in part.groups() if group) if part else None,
            float(next(group for group in clock.groups() if group)) if clock else None, backend)


def read_firmware(folder: Path) -> Firmware:
    """The design the firmware describes; ModelError naming the file and the call it cannot read."""
    folder = Path(folder)
    firmware = folder / "firmware"
    defines = (firmware / "defines.h").read_text(errors="replace")
    parameters = (firmware / "parameters.h").read_text(errors="replace")
    numbers: dict[str, int] = {}
    for key, value in DEFINE.findall(defines):
        evaluated = _evaluate(value.split("//")[0], numbers)
        if isinstance(evaluated, int):
            numbers[key] = evaluated
    types = {}
    for value, name in TYPEDEF.findall(defines + "\n" + parameters):
        array = re.fullmatch(r"nnet::array<\s*(.+?)\s*,\s*[\w*\s]+>", value.strip())  # io_stream: a pixel of the type
        if array or "nnet::" not in value:
            types[name] = array.group(1) if array else value.strip()
    structs = _structs(parameters, numbers, types)
    top = _top_function(firmware)
    layers, input_name, input_type = [], None, None
    for function, template, arguments, comment in CALL.findall(top.read_text(errors="replace")):
        if function in SKIPPED_CALLS:
            continue
        template_args, call_args = _split_arguments(template), _split_arguments(arguments)
        configs = [argument for argument in template_args if argument in structs]
        data_types = [types.get(argument, argument) for argument in template_args if argument not in structs]
        if not data_types or len(call_args) < 2:
            raise ModelError(f"{top}: cannot read the call nnet::{function}<{template}>({arguments})")
        config = structs[configs[0]] if configs else {}
        is_weight = [bool(re.fullmatch(r"[a-z]{1,2}\d+", argument)) and _has_weights(firmware, argument) for argument in call_args]
        variables = [argument for argument, weight in zip(call_args, is_weight) if not weight]
        weights = [_weights(firmware, argument) for argument, weight in zip(call_args, is_weight) if weight]
        ins, outs = (variables[:1], variables[1:]) if function.startswith("clone_stream") else (variables[:-1], variables[-1:])
        name = comment or re.sub(r"_out$", "", outs[0])  # hls4ml < 0.5 wrote no layer names: its variables'
        if input_name is None:
            input_name, input_type = ins[0], data_types[0]
        layers.append(Layer(function, name, data_types[0], data_types[-1], config, weights, ins, outs))
    if not layers:
        raise ModelError(f"{top}: no nnet:: layer calls")
    stream = "hls::stream" in top.read_text(errors="replace") or any(layer.config.get("io_type") == "nnet::io_stream" for layer in layers)
    part, clock_ns, backend = _settings(folder)
    notes = []
    if any(layer.function.startswith("h_") for layer in layers):
        notes.append("HGQ quantizer functions (h_*) estimated as the cast of their producer's output to their type: HGQ's per-value "
                     "bit widths are not modelled")
    if any("_large" in layer.function for layer in layers):
        notes.append("hls4ml < 0.5 kernels (*_large) estimated as hls4ml 1.3's Resource strategy builds them")
    aliases = dict(re.findall(r"auto\s*&\s*(\w+)\s*=\s*(\w+)\s*;", top.read_text(errors="replace")))
    return Firmware(layers, input_name, input_type, "io_stream" if stream else "io_parallel", part, clock_ns, backend, notes, aliases)


def _named(variable: str, aliases: dict) -> str:
    """The variable a reference names, through any chain of `auto& a = b;`."""
    while variable in aliases:
        variable = aliases[variable]
    return variable


def _strategy(layer: Layer) -> str:
    """Resource where the config says so, or where hls4ml < 0.5 called its resource kernels `*_large`."""
    return "Resource" if str(layer.config.get("strategy", "")).endswith("resource") or "_large" in layer.function else "Latency"


def _layer_config(layer: Layer, config: dict) -> dict:
    """hls4ml's LayerName entry: the firmware's types, reuse factor and strategy."""
    precision = {"result": layer.out_type}
    for key in ("weight", "bias", "accum", "scale"):
        if f"{key}_t" in config:
            precision[key] = config[f"{key}_t"]
    entry = {"Precision": precision, "ReuseFactor": int(config.get("reuse_factor", config.get("reuse", 1)) or 1), "Strategy": _strategy(layer)}
    if "table_t" in config:
        entry["table_t"] = config["table_t"]
    if isinstance(config.get("table_size"), int):
        entry["TableSize"] = config["table_size"]
    return entry


def _kernel(weights: np.ndarray, shape: tuple[int, ...], resource: bool) -> np.ndarray:
    """The Keras kernel of the written weights; the Resource strategy wrote them transposed (output first)."""
    if not resource:
        return weights.reshape(shape)
    order = (shape[-1], *shape[:-1])
    return np.moveaxis(weights.reshape(order), 0, -1)


def keras_model_of(design: Firmware):
    """The Keras model with the firmware's layers and weights, and the hls4ml HLSConfig with its types: converted by
    hls4ml, they give the firmware's design."""
    from tensorflow import keras

    first = next((layer.config for layer in design.layers if layer.config.get("n_in") or layer.config.get("in_width")), {})
    if "in_height" in first and "n_chan" in first:
        shape = (first["in_height"], first["in_width"], first["n_chan"])
    elif "in_width" in first:
        shape = (first["in_width"], first["n_chan"])
    else:
        shape = (int(first.get("n_in", 1)),)
    inputs = keras.Input(shape, name=design.input_name)
    tensors, producers = {design.input_name: inputs}, {design.input_name: design.input_name}  # variable -> tensor, layer
    settings = {design.input_name: {"Precision": {"result": design.input_type}}}
    pending = []  # (keras layer, weights) set once the model is built
    x = inputs
    for layer in design.layers:
        config, kind = layer.config, layer.function
        resource = _strategy(layer) == "Resource"
        layer.inputs = [_named(variable, design.aliases) for variable in layer.inputs]
        missing = [variable for variable in layer.inputs if variable not in tensors]
        if missing:
            raise ModelError(f"firmware layer '{layer.name}' reads '{missing[0]}', which no earlier call writes")
        sources = [tensors[variable] for variable in layer.inputs]
        x, previous = sources[0], producers[layer.inputs[0]]
        if kind.startswith("clone_stream") or kind.startswith("repack_stream"):  # a stream's copy: the same values
            for variable in layer.outputs:
                tensors[variable], producers[variable] = x, previous
            continue
        if kind in ("dense", "dense_large", "dense_latency", "dense_resource"):
            if len(x.shape) > 2:  # hls4ml's Flatten is free: the firmware has no call for it
                x = keras.layers.Flatten(name=f"{layer.name}_flatten")(x)
            built = keras.layers.Dense(int(config["n_out"]), name=layer.name)
            pending.append((built, [_kernel(layer.weights[0], (int(config["n_in"]), int(config["n_out"])), resource), layer.weights[1]]))
        elif kind in ("conv_1d_cl", "conv_1d_large_cl"):
            same = int(config.get("pad_left", 0)) + int(config.get("pad_right", 0)) > 0
            built = keras.layers.Conv1D(int(config["n_filt"]), int(config["filt_width"]), strides=int(config.get("stride_width", 1)),
                                        padding="same" if same else "valid", name=layer.name)
            kernel_shape = (int(config["filt_width"]), int(config["n_chan"]), int(config["n_filt"]))
            pending.append((built, [_kernel(layer.weights[0], kernel_shape, resource), layer.weights[1]]))
        elif kind in ("conv_2d_cl", "conv_2d_large_cl"):
            same = int(config.get("pad_top", 0)) + int(config.get("pad_left", 0)) > 0
            built = keras.layers.Conv2D(int(config["n_filt"]), (int(config["filt_height"]), int(config["filt_width"])),
                                        strides=(int(config.get("stride_height", 1)), int(config.get("stride_width", 1))),
                                        padding="same" if same else "valid", name=layer.name)
            kernel_shape = (int(config["filt_height"]), int(config["filt_width"]), int(config["n_chan"]), int(config["n_filt"]))
            pending.append((built, [_kernel(layer.weights[0], kernel_shape, resource), layer.weights[1]]))
        elif kind in ("pooling1d_cl", "pooling2d_cl"):
            average = str(config.get("pool_op", "")).endswith("Average")
            same = int(config.get("pad_left", 0)) + int(config.get("pad_right", 0)) + int(config.get("pad_top", 0)) > 0
            if kind == "pooling1d_cl":
                built = (keras.layers.AveragePooling1D if average else keras.layers.MaxPooling1D)(
                    int(config["pool_width"]), strides=int(config.get("stride_width", config["pool_width"])), padding="same" if same else "valid", name=layer.name)
            else:
                built = (keras.layers.AveragePooling2D if average else keras.layers.MaxPooling2D)(
                    (int(config["pool_height"]), int(config["pool_width"])),
                    strides=(int(config.get("stride_height", config["pool_height"])), int(config.get("stride_width", config["pool_width"]))),
                    padding="same" if same else "valid", name=layer.name)
        elif kind in ("global_pooling1d_cl", "global_pooling2d_cl"):
            average = str(config.get("pool_op", "")).endswith("Average")
            dims = "1D" if kind == "global_pooling1d_cl" else "2D"
            built = getattr(keras.layers, f"Global{'Average' if average else 'Max'}Pooling{dims}")(name=layer.name)
        elif kind == "normalize":
            built = keras.layers.BatchNormalization(epsilon=1e-3, name=layer.name)
            scale, bias = layer.weights[0], layer.weights[1]
            pending.append((built, [scale, bias, np.zeros_like(scale), np.full_like(scale, 1.0 - 1e-3)]))
        elif kind == "linear":  # a cast to the next type: free in hardware, and hls4ml removes a trailing one
            tensors[layer.outputs[0]], producers[layer.outputs[0]] = x, previous
            continue
        elif kind in MERGES:
            built = getattr(keras.layers, MERGES[kind])(name=layer.name)
        elif kind.startswith("concatenate"):
            built = keras.layers.Concatenate(axis=int(config.get("axis", -1)) if isinstance(config.get("axis"), int) else -1, name=layer.name)
        elif kind in ("zeropad1d_cl", "zeropad2d_cl"):
            if kind == "zeropad1d_cl":
                built = keras.layers.ZeroPadding1D((int(config.get("pad_left", 0)), int(config.get("pad_right", 0))), name=layer.name)
            else:
                built = keras.layers.ZeroPadding2D(((int(config.get("pad_top", 0)), int(config.get("pad_bottom", 0))),
                                                    (int(config.get("pad_left", 0)), int(config.get("pad_right", 0)))), name=layer.name)
        elif kind.startswith("resize_nearest"):
            built = keras.layers.UpSampling2D((int(config["new_height"]) // int(config["height"]), int(config["new_width"]) // int(config["width"])),
                                              name=layer.name)
        elif kind in ("depthwise_conv_1d_cl", "depthwise_conv_2d_cl"):
            dims = 1 if "1d" in kind else 2
            size = (int(config["filt_width"]),) if dims == 1 else (int(config["filt_height"]), int(config["filt_width"]))
            same = int(config.get("pad_left", 0)) + int(config.get("pad_top", 0)) > 0
            built = getattr(keras.layers, f"DepthwiseConv{dims}D")(size, padding="same" if same else "valid", name=layer.name,
                                                                   strides=int(config.get("stride_width", 1)))
            pending.append((built, [layer.weights[0], layer.weights[1] if len(layer.weights) > 1 else np.zeros(int(config["n_chan"]))]))
        elif kind == "prelu":
            built = keras.layers.PReLU(name=layer.name)
            pending.append((built, [layer.weights[0]]))
        elif kind in ACTIVATIONS:
            built = keras.layers.Activation(ACTIVATIONS[kind], name=layer.name)
        elif kind == "leaky_relu":
            built = keras.layers.LeakyReLU(float(config.get("activ_param", 0.3)) if isinstance(config.get("activ_param"), int) else 0.3, name=layer.name)
        elif kind.startswith("h_") or kind.endswith("_quantizer") or (len(layer.inputs) == 1 and not layer.weights):
            # HGQ's fixed-point quantizer, and any element-wise call codesign does not know: its producer's output cast
            settings[previous]["Precision"]["result"] = layer.out_type
            if f"{previous}_linear" in settings:
                settings[f"{previous}_linear"]["Precision"]["result"] = layer.out_type
            if not (kind.startswith("h_") or kind.endswith("_quantizer")):
                design.notes.append(f"firmware layer '{layer.name}' (nnet::{kind}) estimated as a cast of its input: codesign does not know its cost")
            tensors[layer.outputs[0]], producers[layer.outputs[0]] = x, previous
            continue
        else:
            raise ModelError(f"firmware layer '{layer.name}' calls nnet::{kind}, which codesign cannot read from firmware yet")
        x = built(sources if len(sources) > 1 else x)
        tensors[layer.outputs[0]], producers[layer.outputs[0]] = x, layer.name
        settings[layer.name] = _layer_config(layer, config)
        if pending and pending[-1][0] is built and kind != "prelu":  # hls4ml's linear after a weighted layer: the same type, removed
            settings[f"{layer.name}_linear"] = {"Precision": {"result": layer.out_type}}
    model = keras.Model(inputs, tensors[design.layers[-1].outputs[0]] if design.layers[-1].outputs[0] in tensors else x)
    for built, weights in pending:
        built.set_weights([np.asarray(values, dtype=np.float32).reshape(target.shape) for values, target in zip(weights, built.get_weights())])
    return model, {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}, "LayerName": settings}


def convert_firmware(design: Firmware, backend: str, part: str, clock_ns: float):
    """hls4ml 1.3's graph of the rebuilt design (nothing written or compiled)."""
    import contextlib
    import io
    import tempfile
    import warnings

    import hls4ml

    model, hls_config = keras_model_of(design)
    with tempfile.TemporaryDirectory(prefix="codesign-firmware-") as scratch, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return hls4ml.converters.convert_from_keras_model(model, hls_config=hls_config, output_dir=scratch, backend=backend, part=part,
                                                              clock_period=clock_ns, io_type=design.io_type)
        except Exception as error:  # hls4ml raises bare Exception/ValueError for what it cannot take
            raise ModelError(f"hls4ml 1.3 cannot convert the design rebuilt from the firmware: {' '.join(str(error).split())[:200]}") from None
