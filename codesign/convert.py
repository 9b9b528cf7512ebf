"""Every hls4ml call and every edit of hls4ml's config dict: Keras model + hls settings -> an HLS project on disk."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np

from codesign.config import FixedPoint, HLSSpec, ap_modes, parse_ap_fixed
from codesign.errors import ModelError, SpecError
from codesign.layout import write_json

PROJECT_NAME = "myproject"
HLS4ML_DEFAULT_PRECISION = "fixed<16,6>"
FALLBACK = "quantizer-derived types"


def convert(keras_model, hls: HLSSpec, output_dir: Path, input_quant: FixedPoint | None, log_path: Path) -> dict:
    """Convert and write the project (traceable in C simulation only); return what was built, per layer."""
    output_dir = Path(output_dir)
    graph, mode = build_graph(keras_model, hls, output_dir, input_quant, log_path)
    check_emulation_size(graph)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras serialising QKeras quantizers
        graph.config.trace_output = True  # trace hooks sit under #ifndef __SYNTHESIS__: firmware is unchanged
        graph.write()
    write_json(output_dir / "codesign_emulation.json", emulation_meta(graph))
    write_json(output_dir / "codesign_graph.json", graph_description(graph))
    return {
        "policy": hls.precision,
        "conversion": mode,
        "backend": hls.backend,
        "part": hls.part,
        "clock_ns": hls.clock_ns,
        "io_type": hls.io_type,
        "strategy": hls.strategy,
        "reuse_factor": hls.reuse_factor,
        "layers": layer_table(graph),
    }


def build_graph(keras_model, hls: HLSSpec, output_dir: Path, input_quant: FixedPoint | None, log_path: Path):
    """hls4ml's model graph with the policy's types and the spec's overrides, not yet written; and how types were chosen."""
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras serialising QKeras quantizers
        try:
            config = _hls_config(keras_model, hls, input_quant)
        except (SpecError, ModelError):
            raise
        except Exception as error:  # hls4ml's config parser raises bare Exception for models it cannot take
            raise ModelError(f"hls4ml cannot read this model: {' '.join(str(error).split())[:200]}") from None
        graph, mode = _convert(keras_model, config, hls, Path(output_dir))
        if mode.startswith(FALLBACK):
            _widen_average_pooling(graph)
        _apply_type_overrides(graph, hls)
    return graph, mode


def unsupported_layers(keras_model) -> list[tuple[str, str]]:
    """(name, class) of every layer hls4ml cannot convert, so a user's model is refused before any work."""
    from hls4ml.converters import get_supported_keras_layers

    supported = set(get_supported_keras_layers()) | {"Dropout"}  # hls4ml skips Dropout itself
    return [(layer.name, type(layer).__name__) for layer in keras_model.layers if type(layer).__name__ not in supported]


def _hls_config(keras_model, hls: HLSSpec, input_quant: FixedPoint | None) -> dict:
    """hls4ml's config dict for the chosen precision policy, with strategy, reuse factor and tracing."""
    import hls4ml

    if hls.precision == "bit-exact":
        config = hls4ml.utils.config_from_keras_model(keras_model, granularity="name", backend=hls.backend)
        if input_quant is not None:
            input_name = keras_model.layers[0].name
            config["LayerName"][input_name]["Precision"] = {"result": _fixed(input_quant)}
    else:
        default = HLS4ML_DEFAULT_PRECISION if hls.precision == "hls4ml-default" else _hls4ml_type(hls.precision)
        config = hls4ml.utils.config_from_keras_model(
            keras_model, granularity="model", backend=hls.backend, default_precision=default
        )
    config["Model"]["Strategy"] = hls.strategy
    config["Model"]["ReuseFactor"] = hls.reuse_factor
    per_layer = config.setdefault("LayerName", {})
    for entry in per_layer.values():  # granularity='name' writes ReuseFactor 1 into every layer: the model's wins
        if "ReuseFactor" in entry:
            entry["ReuseFactor"] = hls.reuse_factor
    for layer in keras_model.layers:
        per_layer.setdefault(layer.name, {})["Trace"] = True
    for name, override in hls.layers.items():
        if name not in per_layer:
            continue  # reported by _apply_type_overrides, which sees the converted graph
        if override.reuse_factor is not None:
            per_layer[name]["ReuseFactor"] = override.reuse_factor
        if override.strategy is not None:
            per_layer[name]["Strategy"] = override.strategy
    return config


def _convert(keras_model, config: dict, hls: HLSSpec, output_dir: Path):
    """Convert with hls4ml; the bit-exact policy asks for bit_exact=True and falls back to quantizer-derived types."""
    import hls4ml

    common = dict(
        hls_config=config,
        output_dir=str(output_dir),
        project_name=PROJECT_NAME,
        backend=hls.backend,
        part=hls.part,
        clock_period=hls.clock_ns,
        io_type=hls.io_type,
    )
    if hls.precision == "bit-exact":
        try:
            graph = hls4ml.converters.convert_from_keras_model(keras_model, bit_exact=True, **common)
            return graph, "hls4ml bit_exact=True"
        except Exception as error:  # hls4ml raises bare Exception/ValueError for models its bit-exact pass cannot take
            reason = " ".join(str(error).split())[:200]
            print(f"bit_exact=True failed ({type(error).__name__}: {reason}); using quantizer-derived types")
            mode = f"{FALLBACK} (hls4ml bit_exact=True refused: {reason})"
            _pin_linear_quantizers(keras_model, config)
    else:
        mode = f"model-wide {config['Model']['Precision']['default']}"
    try:
        return hls4ml.converters.convert_from_keras_model(keras_model, **common), mode
    except Exception as error:  # hls4ml signals unsupported layers with bare Exception
        raise ModelError(f"hls4ml cannot convert this model: {' '.join(str(error).split())[:200]}") from None


def _pin_linear_quantizers(keras_model, config: dict) -> None:
    """Without bit_exact=True, hls4ml merges a linear QActivation into its parent and loses its rounding.

    Giving the parent the quantizer's type (RND_CONV, SAT) makes the parent's output cast do what the quantizer does.
    """
    per_layer = config["LayerName"]
    for layer in keras_model.layers:
        quantizer = getattr(layer, "quantizer", None)
        if type(quantizer).__name__ != "quantized_bits" or not layer.inbound_nodes:
            continue
        parents = layer.inbound_nodes[0].inbound_layers
        parent = parents[0] if isinstance(parents, list) else parents
        result = per_layer.get(layer.name, {}).get("Precision", {}).get("result")
        if result and parent.name in per_layer and hasattr(parent, "get_quantizers"):
            per_layer[parent.name].setdefault("Precision", {})["result"] = result


def _widen_average_pooling(graph) -> None:
    """Without bit_exact=True, hls4ml keeps an average pool in its input type and loses the divided-out bits.

    Summing k values needs log2(k) more integer bits and dividing by k (a power of two) as many fraction bits,
    so both grow by that much and the average is exact.
    """
    for layer in graph.get_layers():
        if layer.class_name.startswith("Pooling") and layer.get_attr("pool_op") == "Average":
            window = int(np.prod([layer.get_attr(key, 1) for key in ("pool_height", "pool_width")]))
            extra = int(np.ceil(np.log2(max(window, 1))))
            source = layer.get_input_variable().type.precision
            for key in ("accum_t", "result_t"):
                layer.types[key].precision = _ap_type(source.width + 2 * extra, source.integer + extra, source.signed)


def _ap_type(width: int, integer: int, signed: bool, rounding: str = "TRN", saturation: str = "WRAP"):
    """An hls4ml ap_fixed precision object, ready for the writer."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.model.types import FixedPrecisionType

    return APTypeConverter().convert(FixedPrecisionType(width, integer, signed, rounding, saturation))


def _apply_type_overrides(graph, hls: HLSSpec) -> None:
    """Per-layer accum/result types from the spec, applied after conversion so they win over inferred types."""
    layers = {layer.name: layer for layer in graph.get_layers()}
    for name, override in hls.layers.items():
        if name not in layers:
            raise SpecError(f"hls.layers.{name}: no layer of that name in the converted model (has: {', '.join(layers)})")
        for key, text in (("accum_t", override.accum), ("result_t", override.result)):
            if text is None:
                continue
            if key not in layers[name].types:
                raise SpecError(f"hls.layers.{name}: layer type '{layers[name].class_name}' has no {key[:-2]} type")
            signed, width, integer = parse_ap_fixed(text)
            layers[name].types[key].precision = _ap_type(width, integer, signed, *ap_modes(text))


LATENCY_STACK_LIMIT = 1 << 19  # products of one Latency-strategy layer the C++ emulation can hold (see below)


def check_emulation_size(graph) -> None:
    """Refuse a Latency-strategy layer too large to emulate, before any compile.

    hls4ml's Latency templates keep every product of a layer in one local array: at 2^19 products of up to
    8 bytes that is 4 MiB of an 8 MiB thread stack, and the fc 4096x512 layer of the CIFAR-10 CNN
    (2 M products) crashed the emulation with a segmentation fault. Resource with a reuse factor does not.
    """
    for layer in graph.get_layers():
        weight = layer.weights.get("weight") if hasattr(layer, "weights") else None
        if weight is None or str(layer.get_attr("strategy", "latency")).lower() != "latency":
            continue
        products = int(np.asarray(weight.data).size) // int(layer.get_attr("reuse_factor", 1) or 1)
        if products > LATENCY_STACK_LIMIT:
            needed = int(np.ceil(np.asarray(weight.data).size / LATENCY_STACK_LIMIT))
            raise SpecError(
                f"layer '{layer.name}' ({layer.class_name}, {products:,} products) is too large for the Latency "
                f"strategy (its emulation would crash, its synthesis would not fit): set hls.strategy: Resource "
                f"(or hls.layers.{layer.name}.strategy: Resource) with reuse_factor >= {needed}"
            )


def emulation_meta(graph) -> dict:
    """What the emulation worker needs to call the compiled library without hls4ml: names and sizes."""
    traced = [
        {"name": layer.name, "class": layer.class_name, "size": int(layer.get_output_variable().size())}
        for layer in graph.get_layers()
        if layer.get_attr("function_cpp", None) and layer.get_attr("trace", False)
    ]
    return {
        "project": graph.config.get_project_name(),
        "inputs": [int(var.size()) for var in graph.get_input_variables()],
        "input_shapes": [list(var.shape) for var in graph.get_input_variables()],
        "outputs": [int(var.size()) for var in graph.get_output_variables()],
        "traced_layers": traced,
    }


GRAPH_ATTRIBUTES = (
    "n_in", "n_out", "in_height", "in_width", "out_height", "out_width", "n_chan", "n_filt", "filt_height", "filt_width",
    "stride_height", "stride_width", "pad_top", "pad_bottom", "pad_left", "pad_right", "pool_height", "pool_width",
    "pool_op", "activation", "depth_multiplier", "count_pad", "_weights_transposed",
)


def graph_description(graph) -> dict:
    """The converted graph as plain data (layers, shapes, exact types, weight files) for the vectorized emulator."""
    layers = []
    for layer in graph.get_layers():
        output = layer.get_output_variable()
        layers.append(
            {
                "name": layer.name,
                "class": layer.class_name,
                "inputs": list(layer.inputs),
                "output_shape": [int(size) for size in output.shape],
                "attributes": {key: _plain(layer.get_attr(key)) for key in GRAPH_ATTRIBUTES if layer.get_attr(key) is not None},
                "types": {key: _precision(var.precision) for key, var in layer.types.items()},
                "weights": {key: var.name for key, var in layer.weights.items()},
            }
        )
    return {"io_type": graph.config.get_config_value("IOType"), "layers": layers}


def _plain(value):
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _precision(precision) -> dict:
    """width/integer/signed/rounding/saturation of an hls4ml precision (fixed point), or its text otherwise."""
    if not hasattr(precision, "width") or not hasattr(precision, "integer"):
        return {"text": str(precision)}
    return {
        "width": int(precision.width),
        "integer": int(precision.integer),
        "signed": bool(precision.signed),
        "rounding": getattr(precision.rounding_mode, "name", "TRN"),
        "saturation": getattr(precision.saturation_mode, "name", "WRAP"),
        "text": str(precision),
    }


def layer_table(graph) -> list[dict]:
    """Per converted layer: class, hls4ml types, strategy and reuse factor, as reports show them."""
    rows = []
    for layer in graph.get_layers():
        rows.append(
            {
                "name": layer.name,
                "class": layer.class_name,
                "types": {key.removesuffix("_t"): str(var.precision) for key, var in layer.types.items()},
                "strategy": layer.get_attr("strategy"),
                "reuse_factor": layer.get_attr("reuse_factor"),
            }
        )
    return rows


def _fixed(quant: FixedPoint) -> str:
    """QKeras quantized_bits(bits, integer) lives on hls4ml's fixed<bits, integer+1> grid."""
    return f"fixed<{quant.bits},{quant.integer + 1},RND_CONV,SAT>"


def _hls4ml_type(ap_type: str) -> str:
    """'ap_fixed<16,6>' -> hls4ml's 'fixed<16,6>' (and ufixed)."""
    signed, width, integer = parse_ap_fixed(ap_type)
    rounding, saturation = ap_modes(ap_type)
    return f"{'fixed' if signed else 'ufixed'}<{width},{integer},{rounding},{saturation}>"
