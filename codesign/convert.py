"""Every hls4ml call and every edit of hls4ml's config dict: Keras model + hls settings -> an HLS project on disk."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from codesign.config import HLSSpec, parse_ap_fixed
from codesign.errors import ModelError, RunDirError, SpecError
from codesign.fixed import Fixed, exact_type_of, of_precision
from codesign.layers import (
    APPLY_ALPHA, BATCH_NORMALIZATION, CONCATENATE, GLOBAL_POOLING1D, GLOBAL_POOLING2D, KINDS, MERGE, POOLING1D, POOLING2D,
    RESHAPE, ZERO_PADDING1D, ZERO_PADDING2D, implements, kind_of,
)
from codesign.layout import write_json
from codesign.quantizers import activation_quantizer, quantizer_type

PROJECT_NAME = "myproject"
HLS4ML_DEFAULT_PRECISION = "fixed<16,6>"


@dataclass(frozen=True)
class Candidate:
    """One way of choosing the firmware's types: the bit-exact policy converts, compiles and verifies these in order."""

    key: str  # stable: what convert.json records and later steps look up (the name may be reworded)
    name: str  # for display
    bit_exact: bool = False  # hls4ml's own precision propagation (convert_from_keras_model(bit_exact=True))
    repairs: bool = False  # codesign's fixes for what hls4ml's quantizer-derived types lose (see the functions below)
    exact_accumulators: bool = False  # every accumulator, and every inferred result, as wide as its exact value
    default: str = HLS4ML_DEFAULT_PRECISION  # hls4ml's default type where nothing else sets one
    granularity: str = "name"  # 'name': types from the quantizers; 'model': `default` everywhere
    input: str = "narrowest"  # the input type: 'narrowest' or 'float32-exact' (typesearch.input_types), or 'hls4ml' (its default)
    configured: str | None = None  # an hls4ml HLSConfig file used as written (the 'as-configured' precision)


WIDE = "fixed<24,8>"
BIT_EXACT_CANDIDATES = (  # narrowest first: the first exact one is kept
    Candidate("hls4ml-bit-exact", "hls4ml bit_exact=True", bit_exact=True),
    Candidate("quantizer-types", "quantizer-derived types", repairs=True),
    Candidate("exact-accumulators", "quantizer-derived types, exact accumulators", repairs=True, exact_accumulators=True),
    Candidate("float32-exact-input", "quantizer-derived types, exact accumulators, float32-exact input", repairs=True,
              exact_accumulators=True, input="float32-exact"),
    Candidate("plain-hls4ml", f"quantizer-derived types, model default {WIDE} (plain hls4ml)", default=WIDE, input="hls4ml"),
)
RECORDED_BEFORE_KEYS = {  # convert.json's `conversion` of runs made before it had `candidate` (2026-11): name -> key
    "hls4ml bit_exact=True": "hls4ml-bit-exact",
    "quantizer-derived types": "quantizer-types",
    "quantizer-derived types, exact accumulators": "exact-accumulators",
    "quantizer-derived types, exact accumulators, float32-exact input": "float32-exact-input",
    f"quantizer-derived types, model default {WIDE} (plain hls4ml)": "plain-hls4ml",
}


def policy_candidate(precision: str, configured: str | None = None) -> Candidate:
    """The single conversion of a precision policy that is not searched ('hls4ml-default', 'ap_fixed<W,I>', or
    'as-configured' with its HLSConfig file)."""
    if precision == "as-configured":
        return Candidate("as-configured", f"as configured in {Path(configured).name}", input="hls4ml", configured=str(configured))
    default = HLS4ML_DEFAULT_PRECISION if precision == "hls4ml-default" else parse_ap_fixed(precision).hls4ml()
    return Candidate("model-wide", f"model-wide {default}", default=default, granularity="model", input="hls4ml")


def candidate_keyed(key: str | None) -> Candidate | None:
    """The bit-exact policy's candidate with that key, or None."""
    return next((candidate for candidate in BIT_EXACT_CANDIDATES if candidate.key == key), None)


def conversion_of(report: dict) -> tuple[Candidate, Fixed | None]:
    """The candidate and input type a run's convert.json records, to convert the same model the same way again."""
    input_type = Fixed.parse(report["input_type"]["type"]) if report.get("input_type") else None
    if report["policy"] != "bit-exact":
        return policy_candidate(report["policy"], report.get("hls4ml_config")), input_type
    key = report.get("candidate") or RECORDED_BEFORE_KEYS.get(report["conversion"])
    candidate = candidate_keyed(key)
    if candidate is None:
        raise RunDirError(f"convert.json: the type candidate {key or report['conversion']!r} is not one this codesign knows: "
                          "rebuild the run from its convert step (codesign build SPEC --from convert)")
    return candidate, input_type


def convert(keras_model, hls: HLSSpec, output_dir: Path, input_type: Fixed | None, log_path: Path, candidate: Candidate) -> dict:
    """Convert and write the project (traceable in C simulation only); return what was built, per layer."""
    output_dir = Path(output_dir)
    graph = build_graph(keras_model, hls, output_dir, input_type, log_path, candidate)
    check_emulation_size(graph)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras serialising QKeras quantizers
        graph.config.trace_output = True  # trace hooks sit under #ifndef __SYNTHESIS__: firmware is unchanged
        graph.write()
    write_json(output_dir / "codesign_emulation.json", emulation_meta(graph))
    write_json(output_dir / "codesign_graph.json", graph_description(graph))
    return {
        "policy": hls.precision,
        "hls4ml_config": candidate.configured,
        "candidate": candidate.key,
        "conversion": candidate.name,
        "backend": hls.backend,
        "part": hls.part,
        "clock_ns": hls.clock_ns,
        "io_type": hls.io_type,
        "strategy": hls.strategy,
        "reuse_factor": hls.reuse_factor,
        "layers": layer_table(graph),
    }


def build_graph(keras_model, hls: HLSSpec, output_dir: Path, input_type: Fixed | None, log_path: Path, candidate: Candidate):
    """hls4ml's model graph with the candidate's types and the spec's overrides, not yet written."""
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras serialising QKeras quantizers
        try:
            config = _hls_config(keras_model, hls, input_type if candidate.input != "hls4ml" else None, candidate)
        except (SpecError, ModelError):
            raise
        except Exception as error:  # hls4ml's config parser raises bare Exception for models it cannot take
            raise ModelError(f"hls4ml cannot read this model: {_one_line(error)}") from None
        graph = _convert(keras_model, config, hls, Path(output_dir), candidate)
        if candidate.repairs:
            _widen_average_pooling(graph)
            _true_alpha_scales(graph)
            _qkeras_batchnorm(graph)
        if candidate.exact_accumulators:
            _exact_types(graph)
        _apply_type_overrides(graph, hls)
        _reapply_templates(graph)
    return graph


def _reapply_templates(graph) -> None:
    """hls4ml formats each layer's C++ config (product kind, types) during conversion: format it again after the
    type changes above, so the config and the types agree."""
    from hls4ml.model.optimizer import get_optimizer

    templates = [get_optimizer(name) for name in graph.config.backend._get_layer_templates()]
    for layer in graph.get_layers():
        for template in templates:
            if template.match(layer):
                template.transform(graph, layer)


def unsupported_layers(keras_model) -> list[tuple[str, str]]:
    """(name, class) of every layer hls4ml cannot convert, so a user's model is refused before any work."""
    from hls4ml.converters import get_supported_keras_layers

    supported = set(get_supported_keras_layers()) | {"Dropout"}  # hls4ml skips Dropout itself
    return [(layer.name, type(layer).__name__) for layer in keras_model.layers if type(layer).__name__ not in supported]


def _hls_config(keras_model, hls: HLSSpec, input_type: Fixed | None, candidate: Candidate) -> dict:
    """hls4ml's config dict for the candidate, with strategy, reuse factor and tracing."""
    import hls4ml

    if candidate.configured:
        return _configured(keras_model, candidate.configured, hls)
    config = hls4ml.utils.config_from_keras_model(
        keras_model, granularity=candidate.granularity, backend=hls.backend, default_precision=candidate.default
    )
    per_layer = config.setdefault("LayerName", {})
    if input_type is not None:
        input_name = next(iter(per_layer))  # hls4ml lists the input layer first
        per_layer[input_name]["Precision"] = {"result": input_type.hls4ml()}
    if candidate.repairs:
        _pin_linear_quantizers(keras_model, config)
        _exact_quantizer_types(keras_model, config)
    config["Model"]["Strategy"] = hls.strategy
    config["Model"]["ReuseFactor"] = hls.reuse_factor
    for entry in per_layer.values():  # granularity='name' writes ReuseFactor 1 into every layer: the model's wins
        if "ReuseFactor" in entry:
            entry["ReuseFactor"] = hls.reuse_factor
    _trace_and_override(keras_model, config, hls)
    return config


def _configured(keras_model, path: str, hls: HLSSpec) -> dict:
    """An HLSConfig as its author wrote it (types, strategies, reuse factors), with tracing and the spec's overrides."""
    config = yaml.safe_load(Path(path).read_text())
    config = config.get("HLSConfig", config)
    _trace_and_override(keras_model, config, hls)
    return config


def _trace_and_override(keras_model, config: dict, hls: HLSSpec) -> None:
    """Trace every layer (the first diverging layer is found from the traces) and apply per-layer overrides."""
    per_layer = config.setdefault("LayerName", {})
    for layer in keras_model.layers:
        per_layer.setdefault(layer.name, {})["Trace"] = True
    for name, override in hls.layers.items():
        if name not in per_layer:
            continue  # reported by _apply_type_overrides, which sees the converted graph
        if override.reuse_factor is not None:
            per_layer[name]["ReuseFactor"] = override.reuse_factor
        if override.strategy is not None:
            per_layer[name]["Strategy"] = override.strategy


def _convert(keras_model, config: dict, hls: HLSSpec, output_dir: Path, candidate: Candidate):
    """Convert with hls4ml; a model it cannot take is a ModelError naming hls4ml's reason."""
    import hls4ml

    try:
        return hls4ml.converters.convert_from_keras_model(
            keras_model,
            hls_config=config,
            output_dir=str(output_dir),
            project_name=PROJECT_NAME,
            backend=hls.backend,
            part=hls.part,
            clock_period=hls.clock_ns,
            io_type=hls.io_type,
            bit_exact=candidate.bit_exact or None,
        )
    except Exception as error:  # hls4ml signals unsupported layers and failed passes with bare Exception/ValueError
        raise ModelError(f"hls4ml cannot convert this model ({candidate.name}): {_one_line(error)}") from None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


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


def _exact_quantizer_types(keras_model, config: dict) -> None:
    """hls4ml gives a quantizer with no fraction bits (quantized_relu(3, 3)) a plain ap_int/ap_uint, which truncates and
    wraps where QKeras rounds and clips, and a quantized_bits(keep_negative=False) one fraction bit too few: give every
    output quantizer the ap_fixed whose values and casts are exactly the quantizer's."""
    per_layer = config["LayerName"]
    for layer in keras_model.layers:
        fixed = quantizer_type(activation_quantizer(layer))
        precision = per_layer.get(layer.name, {}).get("Precision")
        if fixed is not None and isinstance(precision, dict) and "result" in precision:
            precision["result"] = fixed.hls4ml()


def _widen_average_pooling(graph) -> None:
    """Without bit_exact=True, hls4ml keeps an average pool in its input type and loses the divided-out bits."""
    for layer in graph.get_layers():
        if _is_average_pooling(layer):
            _widen_pool(layer, of_precision(layer.get_input_variable().type.precision))


def _is_average_pooling(layer) -> bool:
    kind = kind_of(layer)
    return kind is not None and kind.role == "pooling" and layer.get_attr("pool_op") == "Average"


def _widen_pool(layer, source: Fixed | None) -> None:
    """Summing k values needs log2(k) more integer bits and dividing by k (a power of two) as many fraction bits,
    so both grow by that much and the average is exact."""
    if source is None:
        return
    window = int(np.prod([layer.get_attr(key, 1) for key in ("pool_height", "pool_width")]))
    if kind_of(layer) is GLOBAL_POOLING2D:
        window = int(np.prod([layer.get_attr(key, 1) for key in ("in_height", "in_width")]))
    elif kind_of(layer) is GLOBAL_POOLING1D:  # hls4ml names a sequence's length n_in
        window = int(layer.get_attr("n_in", 1))
    extra = int(np.ceil(np.log2(max(window, 1))))
    widened = _ap_type(Fixed(source.width + 2 * extra, source.integer + extra, source.signed))
    for key in ("accum_t", "result_t"):
        if key in layer.types:
            layer.types[key].precision = widened


def _exact_types(graph) -> None:
    """In graph order, every accumulator as wide as its exact sum (hls4ml infers them before codesign's repairs and
    can drop product bits) and every result hls4ml inferred from its inputs (equal to the accumulator, or to the
    input for pass-through layers) widened with them, by each kind's rule (its `exact_type` in codesign/layers.py);
    quantizer outputs keep their types."""
    for layer in graph.get_layers():
        variables = [layer.get_input_variable(name) for name in layer.inputs]
        inputs = [of_precision(variable.type.precision) for variable in variables if variable is not None]
        if not inputs or len(inputs) < len(variables) or any(source is None for source in inputs):
            continue
        kind = kind_of(layer)
        rule = kind.handler("exact_type") if kind is not None else None
        if rule is not None:
            result = of_precision(layer.types["result_t"].precision) if "result_t" in layer.types else None
            rule(layer, inputs, result)


@implements("exact_type", *(kind for kind in KINDS if kind.role == "weighted"))
def _exact_accumulator(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """The accumulator holds the exact sum; a result hls4ml made equal to it follows."""
    if "weight" not in layer.weights:  # distributed arithmetic: the weights are compiled into the kernel
        return
    exact = _exact_sum(layer, inputs[0])
    if result == of_precision(layer.types["accum_t"].precision):
        layer.types["result_t"].precision = _ap_type(exact)
    layer.types["accum_t"].precision = _ap_type(exact)


@implements("exact_type", BATCH_NORMALIZATION, APPLY_ALPHA)
def _exact_scale_result(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    if result is not None and result.rounding == "TRN":
        layer.types["result_t"].precision = _ap_type(_exact_scale(layer, inputs[0]))


@implements("exact_type", POOLING1D, POOLING2D, GLOBAL_POOLING1D, GLOBAL_POOLING2D)
def _exact_pooling(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    if _is_average_pooling(layer):
        _widen_pool(layer, inputs[0])
    else:
        _exact_pass_through(layer, inputs, result)


@implements("exact_type", RESHAPE, ZERO_PADDING1D, ZERO_PADDING2D, MERGE, CONCATENATE)
def _exact_pass_through(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """A result hls4ml inferred from the inputs (truncating) covers them all, one more integer bit for a sum."""
    if result is None or result.rounding != "TRN":
        return
    carry = 1 if kind_of(layer) is MERGE and layer.get_attr("op", "add") in ("add", "subtract") else 0
    covering = _covering(inputs, carry)
    if covering.width >= result.width and covering.frac >= result.frac:
        layer.types["result_t"].precision = _ap_type(covering)


def _exact_sum(layer, source: Fixed) -> Fixed:
    """The type that holds every sum of products (and the bias) of a weighted layer exactly."""
    weight = _weight_type(layer, "weight")
    bias = _weight_type(layer, "bias") if "bias" in layer.weights else None
    outputs = layer.get_attr("n_filt") or layer.get_attr("n_out") or 1
    terms = max(1, int(np.asarray(layer.weights["weight"].data).size) // int(outputs))
    frac = source.frac + weight.frac
    integer = source.integer + weight.integer + int(np.ceil(np.log2(terms + 1)))
    if bias is not None:
        frac = max(frac, bias.frac)
        integer = max(integer, bias.integer) + 1
    return Fixed(integer + frac, integer, True)


def _weight_type(layer, key: str) -> Fixed:
    """A weight's type as a Fixed: its own when plain fixed point; +-1 for binary (xnor) weights, which hls4ml stores
    as 0/1 and multiplies by negating; otherwise (power-of-two, ternary) the narrowest type holding its values."""
    precision = layer.types[f"{key}_t"].precision
    fixed = of_precision(precision)
    if fixed is not None:
        return fixed
    if "Xnor" in type(precision).__name__:
        return Fixed(2, 2, True)
    values, _ = exact_type_of(np.asarray(layer.weights[key].data))
    return Fixed(values.width + 1, values.integer + 1, True) if not values.signed else values


def _true_alpha_scales(graph) -> None:
    """hls4ml applies an alpha='auto_po2' quantizer's per-channel scale in an ApplyAlpha layer, but stores the scale
    through a quantized_po2 that cannot hold scales above 1 (a scale of 2 becomes 1): store QKeras's own scales, in
    the narrowest fixed-point type that holds them exactly."""
    for layer in graph.get_layers():
        if kind_of(layer) is APPLY_ALPHA and layer.get_attr("scale_data") is not None:
            scale = np.asarray(layer.get_attr("scale_data"), dtype=np.float64).reshape(layer.weights["scale"].data.shape)
            fixed, exact = exact_type_of(scale)
            if exact:
                _replace_weights(layer, "scale", scale, fixed)


def _replace_weights(layer, key: str, data: np.ndarray, fixed: Fixed) -> None:
    """A layer's weight variable replaced by plain fixed-point data, typed for the writer as hls4ml's backend does."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter, HLSTypeConverter, StaticWeightVariableConverter
    from hls4ml.model.types import FixedPrecisionType

    old = layer.weights[key]
    precision = FixedPrecisionType(fixed.width, fixed.integer, fixed.signed, fixed.rounding, fixed.saturation)
    layer.add_weights_variable(name=key, var_name=old.name, type_name=old.type.name, precision=precision, data=data)
    converter = StaticWeightVariableConverter(type_converter=HLSTypeConverter(precision_converter=APTypeConverter()))
    layer.set_attr(key, converter.convert(layer.weights[key]))
    layer.types[f"{key}_t"] = layer.weights[key].type


def _qkeras_batchnorm(graph) -> None:
    """hls4ml builds a QBatchNormalization's scale and shift from its raw parameters, but QKeras first quantizes
    them (by default gamma to quantized_relu_po2, beta and the mean to quantized_po2, the variance too) and then
    computes x * inv + (beta - mean * inv), inv = gamma / sqrt(variance + epsilon), in float32: store that float32
    inv and shift, exactly, in fixed point."""
    for layer in graph.get_layers():
        if kind_of(layer) is not BATCH_NORMALIZATION:
            continue
        parameters = {}
        for key in ("gamma", "beta", "mean", "variance"):
            data = np.asarray(layer.get_attr(f"{key}_data", 0.0), dtype=np.float32)
            quantizer = layer.get_attr(f"{key}_quantizer")
            parameters[key] = np.asarray(quantizer(data), dtype=np.float32) if quantizer is not None else data
        epsilon = np.float32(layer.get_attr("epsilon", 1e-3))
        inv = (np.float32(1) / np.sqrt(parameters["variance"] + epsilon)) * parameters["gamma"]
        shift = parameters["beta"] - parameters["mean"] * inv
        for key, values in (("scale", inv), ("bias", shift)):
            values = np.broadcast_to(values, layer.weights[key].data.shape).astype(np.float64)
            _replace_weights(layer, key, values, exact_type_of(values, max_width=48)[0])


def _exact_scale(layer, source: Fixed) -> Fixed:
    """The type holding every value of an ApplyAlpha layer (input times scale, plus bias) exactly."""
    scale = _weight_type(layer, "scale")
    integer, frac = source.integer + scale.integer + (0 if scale.signed else 1), source.frac + scale.frac
    if "bias" in layer.weights:
        bias = _weight_type(layer, "bias")
        integer, frac = max(integer, bias.integer + 1) + 1, max(frac, bias.frac)
    return Fixed(integer + frac, integer, True)


def _covering(inputs: list[Fixed], carry: int) -> Fixed:
    """A type holding every value of every input (plus `carry` integer bits for a sum)."""
    signed = any(source.signed for source in inputs)
    integer = max(source.integer + (1 if signed and not source.signed else 0) for source in inputs) + carry
    frac = max(source.frac for source in inputs)
    return Fixed(integer + frac, integer, signed)


def _ap_type(fixed: Fixed):
    """An hls4ml ap_fixed precision object, ready for the writer."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.model.types import FixedPrecisionType

    return APTypeConverter().convert(FixedPrecisionType(fixed.width, fixed.integer, fixed.signed, fixed.rounding, fixed.saturation))


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
            layers[name].types[key].precision = _ap_type(parse_ap_fixed(text))


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
        "last_input": list(graph.get_layers())[-1].inputs[0],  # the logits, when the last layer is a head in firmware
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
        kind = kind_of(layer)
        layers.append(
            {
                "name": layer.name,
                "class": layer.class_name,
                "kind": kind.name if kind is not None else None,  # codesign/layers.py's kind, matched on hls4ml's classes
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
    fixed = of_precision(precision)
    if fixed is None:
        return {"text": str(precision)}
    return {
        "width": fixed.width,
        "integer": fixed.integer,
        "signed": fixed.signed,
        "rounding": fixed.rounding,
        "saturation": fixed.saturation,
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
