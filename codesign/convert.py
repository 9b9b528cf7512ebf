"""Every edit of hls4ml's config dict, and the project written: Keras model + hls settings -> an HLS project on disk
(the conversion itself goes through hls4ml_graph, as every other)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from codesign.config import HLSSpec, parse_ap_fixed
from codesign.errors import ModelError, RunDirError, SpecError
from codesign.fixed import Fixed, of_precision
from codesign.dense_pointwise import with_pointwise_dense
from codesign.hls4ml_graph import hls4ml_graph, one_line
from codesign.kernel_scales import with_folded_kernel_scales
from codesign import repairs
from codesign.layers import (BATCHNORM_QUANTIZED_TANH, DEPTHWISE_CONV2D, DOT, INPUT, LSTM, POOLING2D, TERNARY_TANH, is_batch_normalization, kind_of,
                             producer_past_identities, resource_convolutions_past_their_limit, split_activation,
                             stride_leaving_data_in_its_stream, stream_pooling_asserted, takes_a_linear_quantizer)
from codesign.layout import EMULATION_META, GRAPH_DESCRIPTION, write_json
from codesign.records import ConversionRecord, EmulationMeta
from codesign.quantizers import activation_quantizer, is_linear_quantizer, quantizer_type

PROJECT_NAME = "myproject"
HLS4ML_DEFAULT_PRECISION = "fixed<16,6>"


@dataclass(frozen=True)
class Candidate:
    """One way of choosing the firmware's types: the bit-exact policy converts, compiles and verifies these in order."""

    key: str  # stable: what convert.json records and later steps look up (the name may be reworded)
    name: str  # for display
    bit_exact: bool = False  # hls4ml's own precision propagation (convert_from_keras_model(bit_exact=True))
    repairs: bool = False  # codesign's fixes for what hls4ml's quantizer-derived types lose (codesign/repairs.py)
    exact_accumulators: bool = False  # every accumulator, and every inferred result, as wide as its exact value
    default: str = HLS4ML_DEFAULT_PRECISION  # hls4ml's default type where nothing else sets one
    granularity: str = "name"  # 'name': types from the quantizers; 'model': `default` everywhere
    input: str = "narrowest"  # the input type: 'narrowest' or 'float32-exact' (typesearch.input_types), or 'hls4ml' (its default)
    configured: str | None = None  # an hls4ml HLSConfig file used as written (the 'as-configured' precision)
    head: str | None = None  # the head's hls4ml settings (JSON), chosen for its decision (codesign/head.py)


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
    if precision == "as-repaired":
        return Candidate("as-repaired", f"the types of {Path(configured).name}, with codesign's repairs", repairs=True, input="hls4ml",
                         configured=str(configured))
    default = HLS4ML_DEFAULT_PRECISION if precision == "hls4ml-default" else parse_ap_fixed(precision).hls4ml()
    return Candidate("model-wide", f"model-wide {default}", default=default, granularity="model", input="hls4ml")


def candidate_keyed(key: str | None) -> Candidate | None:
    """The bit-exact policy's candidate with that key, or None."""
    return next((candidate for candidate in BIT_EXACT_CANDIDATES if candidate.key == key), None)


def conversion_of(record: ConversionRecord) -> tuple[Candidate, Fixed | None]:
    """The candidate and input type a run's convert.json records, to convert the same model the same way again."""
    input_type = Fixed.parse(record.input_type["type"]) if record.input_type else None
    if record.policy != "bit-exact":
        return policy_candidate(record.policy, record.hls4ml_config), input_type
    key = record.candidate or RECORDED_BEFORE_KEYS.get(record.conversion)
    candidate = candidate_keyed(key)
    if candidate is None:
        raise RunDirError(f"convert.json: the type candidate {key or record.conversion!r} is not one this codesign knows: "
                          "rebuild the run from its convert step (codesign build SPEC --from convert)")
    return replace(candidate, head=json.dumps(record.head_settings) if record.head_settings else None), input_type


def convert(keras_model, hls: HLSSpec, output_dir: Path, input_type: Fixed | None, log_path: Path, candidate: Candidate) -> dict:
    """Convert and write the project (traceable in C simulation only); return what was built, per layer."""
    output_dir = Path(output_dir)
    graph = build_graph(keras_model, hls, output_dir, input_type, log_path, candidate)
    check_emulation_size(graph)
    check_stream_kernels(graph)
    check_resource_convolutions(graph)
    check_layers_written(graph)
    check_lstm_types(graph)
    if candidate.repairs:
        check_ternary_inputs(graph)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras serialising QKeras quantizers
        graph.config.trace_output = True  # trace hooks sit under #ifndef __SYNTHESIS__: firmware is unchanged
        _write(graph, candidate)
    EmulationMeta(**emulation_meta(graph)).write(output_dir / EMULATION_META)
    write_json(output_dir / GRAPH_DESCRIPTION, graph_description(graph))
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


def _write(graph, candidate: Candidate) -> None:
    """hls4ml writes the project; where its own bit_exact flow built weights its writer cannot print (thresholds of a
    merged binary compare as an object array: fuzz seed 1463 model 0), that candidate does not take the model."""
    try:
        graph.write()
    except Exception as error:
        if not candidate.bit_exact:
            raise
        raise ModelError(f"hls4ml cannot write this model's project ({candidate.name}): {one_line(error)}") from None


def build_graph(keras_model, hls: HLSSpec, output_dir: Path, input_type: Fixed | None, log_path: Path, candidate: Candidate):
    """hls4ml's model graph with the candidate's types and the spec's overrides, not yet written (from a copy of the model
    whose separable and depthwise kernels' power-of-two scales are folded in and whose quantized Dense layers over more
    than one axis are 1x1 convolutions, where it has some: kernel_scales.py, dense_pointwise.py)."""
    keras_model = with_pointwise_dense(with_folded_kernel_scales(keras_model))
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras serialising QKeras quantizers
        try:
            config = _hls_config(keras_model, hls, input_type if candidate.input != "hls4ml" else None, candidate)
        except (SpecError, ModelError):
            raise
        except Exception as error:  # hls4ml's config parser raises bare Exception for models it cannot take
            raise ModelError(f"hls4ml cannot read this model: {one_line(error)}") from None
        if candidate.head:
            _with_head(config, keras_model.layers[-1].name, json.loads(candidate.head))
        _with_repairs(config, hls, candidate)
        graph = _convert(keras_model, config, hls, Path(output_dir), candidate)
        graph.config.config["HLSConfig"].pop("Flows")  # they ran; the written hls4ml_config.yml is what plain hls4ml reads
        graph.config.config["HLSConfig"]["Model"].pop(repairs.SETTINGS)
    return graph


def _with_head(config: dict, name: str, settings: dict) -> None:
    """The head layer's settings chosen for its decision (codesign/head.py) over what the config had for it."""
    entry = config.setdefault("LayerName", {}).setdefault(name, {})
    entry.update({key: value for key, value in settings.items() if key != "Precision"})
    precision = entry.get("Precision")
    entry["Precision"] = {**(precision if isinstance(precision, dict) else {"result": precision} if precision else {}), **(settings.get("Precision") or {})}


def _with_repairs(config: dict, hls: HLSSpec, candidate: Candidate) -> None:
    """hls4ml's default flow with codesign's repairs (codesign/repairs.py) before its templates: the candidate's
    repairs and exact accumulators, and the spec's per-layer types."""
    if "Flows" in config:
        raise SpecError("hls4ml config: 'Flows' is not supported: codesign runs hls4ml's default flow with its own repairs")
    layers = {name: {"accum": override.accum, "result": override.result} for name, override in hls.layers.items()}
    authored = candidate.configured or hls.hls4ml_config  # every layer's settings are the author's own
    own_reuse = None if authored else [name for name, override in hls.layers.items() if override.reuse_factor]
    own_strategy = None if authored else [name for name, override in hls.layers.items() if override.strategy]
    config.setdefault("Model", {})[repairs.SETTINGS] = repairs.settings(candidate.repairs, candidate.exact_accumulators, layers, own_reuse,
                                                                        own_strategy)
    config["Flows"] = [repairs.flow_for(hls.backend)]


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
        _exact_quantizer_types(keras_model, config)
        _pin_linear_quantizers(keras_model, config)  # after: the parent takes the quantizer's exact type, not hls4ml's ap_int
        _batch_normalizations_apart(keras_model, config)
    config["Model"]["Strategy"] = hls.strategy
    config["Model"]["ReuseFactor"] = hls.reuse_factor
    for entry in per_layer.values():  # granularity='name' writes ReuseFactor 1 into every layer: the model's wins
        if "ReuseFactor" in entry:
            entry["ReuseFactor"] = hls.reuse_factor
    if hls.hls4ml_config:
        _keep_settings(config, hls.hls4ml_config)
    _trace_and_override(keras_model, config, hls)
    return config


def _keep_settings(config: dict, path: str) -> None:
    """An author's HLSConfig file's settings over a candidate's config: the types are searched, the author's choices kept
    (codesign repair)."""
    authored = yaml.safe_load(Path(path).read_text())
    keep_settings(config, authored.get("HLSConfig", authored))


def keep_settings(config: dict, authored: dict, renames: dict | None = None) -> None:
    """Everything an authored HLSConfig sets but its types (strategies, reuse factors, table sizes, per layer and for the
    model), written over `config`; its layers renamed as `renames` says."""
    for key, value in (authored.get("Model") or {}).items():
        if key != "Precision":
            config.setdefault("Model", {})[key] = value
    for name, entry in (authored.get("LayerName") or {}).items():
        kept = {key: value for key, value in (entry or {}).items() if key != "Precision"}
        config.setdefault("LayerName", {}).setdefault((renames or {}).get(name, name), {}).update(kept)


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
        for name in filter(None, (layer.name, split_activation(layer))):  # a split activation's cast is traced too
            per_layer.setdefault(name, {})["Trace"] = True
    for name, override in hls.layers.items():
        if name not in per_layer:
            continue  # reported by _apply_type_overrides, which sees the converted graph
        if override.reuse_factor is not None:
            per_layer[name]["ReuseFactor"] = override.reuse_factor
        if override.strategy is not None:
            per_layer[name]["Strategy"] = override.strategy


def da4ml_compiles_first() -> bool:
    """True where da4ml has not run in this environment yet: numba compiles its kernels on first use (about 2 minutes
    on 2 cores) and caches them beside its code (*.nbi index files)."""
    spec = importlib.util.find_spec("da4ml")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return bool(folders) and not any(next(Path(folder).rglob("*.nbi"), None) for folder in folders)


def _convert(keras_model, config: dict, hls: HLSSpec, output_dir: Path, candidate: Candidate):
    """Convert with hls4ml; a model it cannot take is a ModelError naming hls4ml's reason."""
    if hls.strategy == "distributed_arithmetic" and da4ml_compiles_first():  # a silent 2-minute wait otherwise
        print("da4ml compiles its kernels on its first use in this environment (numba: about 2 minutes, cached after)", file=sys.stderr, flush=True)
    return hls4ml_graph(keras_model, config, f"hls4ml cannot convert this model ({candidate.name})", output_dir=output_dir, quiet=False,
                        project_name=PROJECT_NAME, backend=hls.backend, part=hls.part, clock_period=hls.clock_ns, io_type=hls.io_type,
                        bit_exact=candidate.bit_exact or None)


def _pin_linear_quantizers(keras_model, config: dict) -> None:
    """Without bit_exact=True, hls4ml merges a linear QActivation into its parent and loses its rounding.

    Giving the parent the quantizer's type (RND_CONV, SAT) makes the parent's output cast do what the quantizer does.
    A parent with an activation of its own is not the quantizer's parent in hls4ml's graph: the layer hls4ml splits
    off for that activation is, and it is the one given the type where hls4ml would merge the quantizer into it (its
    result unset); one whose result is set (a quantizer's exact type) keeps it, and so does the parent (fuzz seed
    1345 model 9: a QDense's quantized_bits(5,1,keep_negative=0) activation fed its sum cast at the next
    QActivation's fixed<9,1>, clipped below 1). A parent without quantizers that hls4ml merges into
    (`layers.takes_a_linear_quantizer`: a float BatchNormalization, Dense, convolution or activation) whose result
    is unset is merged into too, and hls4ml then infers that result from
    its inputs again, dropping the quantizer's cast altogether (fuzz seed 1352 model 13: a QActivation after two float
    batch normalizations was no call at all in the firmware): it gets the type the same way. The parent is found past
    any Dropout or linear Activation, which hls4ml removes (a QDense, a Dropout and a QActivation: 100 of 100 samples off).
    """
    per_layer = config["LayerName"]
    for layer in keras_model.layers:
        parent = producer_past_identities(layer) if is_linear_quantizer(layer) else None  # hls4ml removes Dropouts, linear Activations
        result = per_layer.get(layer.name, {}).get("Precision", {}).get("result")
        if parent is None or not result or parent.name not in per_layer:
            continue
        split = split_activation(parent)
        target = parent.name if split in (None, f"{parent.name}_linear") else split
        precision = per_layer.setdefault(target, {}).setdefault("Precision", {})
        merged_into = target != parent.name or takes_a_linear_quantizer(parent)
        if (target == parent.name and hasattr(parent, "get_quantizers")) or (merged_into and precision.get("result", "auto") == "auto"):
            precision["result"] = result
            linear = per_layer.get(f"{parent.name}_linear", {}).get("Precision")
            if target == parent.name and isinstance(linear, dict) and linear.get("result", "auto") == "auto":
                linear["result"] = result  # typed, hls4ml merges no later quantizer into it (a second QActivation's cast was dropped)


def _batch_normalizations_apart(keras_model, config: dict) -> None:
    """hls4ml fuses a batch normalization into the one before it when that one's result type is 'auto', and codesign's
    repair of QKeras's batch normalization then rebuilt the fused layer from its own parameters, dropping the other's
    (fuzz seed 1319 model 12: outputs off by 2.5). A batch normalization right before another gets the model's default
    type in place of 'auto' (the exact-accumulators candidate widens it), so each is computed, and repaired, on its
    own. (An alpha kernel's ApplyAlpha, which hls4ml creates typed 'auto' whatever the config says, is still fused:
    repairs._fused leaves that one as hls4ml made it.)"""
    per_layer, default = config["LayerName"], config["Model"]["Precision"]
    default = default.get("default") if isinstance(default, dict) else default
    for layer in keras_model.layers:
        parent = producer_past_identities(layer) if is_batch_normalization(layer) else None
        precision = per_layer.get(parent.name, {}).get("Precision") if is_batch_normalization(parent) else None
        if precision == "auto":
            per_layer[parent.name]["Precision"] = {"result": default}
        elif isinstance(precision, dict) and precision.get("result") == "auto":
            precision["result"] = default


def _exact_quantizer_types(keras_model, config: dict) -> None:
    """hls4ml gives a quantizer with no fraction bits (quantized_relu(3, 3)) a plain ap_int/ap_uint, which truncates and
    wraps where QKeras rounds and clips, and a quantized_bits(keep_negative=False) one fraction bit too few: give every
    output quantizer the ap_fixed whose values and casts are exactly the quantizer's."""
    per_layer = config["LayerName"]
    for layer in keras_model.layers:
        fixed = quantizer_type(activation_quantizer(layer))
        # a Q-layer's activation quantizer hls4ml makes a layer of its own, named after both (fuzz seed 1339: a
        # QDense's quantized_bits(10,2,keep_negative=0) cast at fixed<10,3>, one fraction bit short)
        for name in (layer.name, split_activation(layer)):
            precision = per_layer.get(name, {}).get("Precision")
            if fixed is not None and isinstance(precision, dict) and "result" in precision:
                precision["result"] = fixed.hls4ml()


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


def check_stream_kernels(graph) -> None:
    """Refuse what hls4ml's io_stream templates compute wrongly or assert against, naming the layer: a depthwise
    convolution (a separable one's first half included) with a 1x1 kernel and a stride, whose stream the next layer
    reads with data left over (found by codesign fuzz: every sample differs), and so a convolution hls4ml does not make
    a pointwise one (a QConv2DBatchnorm: fuzz seed 1484 model 5); a 2D pooling whose window is not its
    stride or that pads, and a 1D one that pads (every backend's pooling2d_cl and pooling1d_cl assert against them: the
    emulation aborted after the build; layers.stream_pooling_asserted); a Dot, which hls4ml converts in io_stream but
    whose call passes streams to the io_parallel template, the only one it has (its firmware does not compile)."""
    if graph.config.get_config_value("IOType") != "io_stream":
        return
    for layer in graph.get_layers():
        _check_stream_pooling(layer)
        if kind_of(layer) is DOT:
            raise SpecError(f"layer '{layer.name}' (Dot): hls4ml 1.3 has no io_stream dot product (its firmware passes streams to "
                            "the io_parallel template and does not compile): use io_parallel")
        strides = stride_leaving_data_in_its_stream(layer)
        if strides is not None:
            which = (f"'{layer.name.removesuffix('_depthwise')}': hls4ml's io_stream depthwise convolution" if kind_of(layer) is DEPTHWISE_CONV2D
                     else f"'{layer.name}' ({layer.class_name}): hls4ml's io_stream line-buffer convolution (not made a pointwise one)")
            raise SpecError(f"layer {which} with a 1x1 kernel and strides {strides} leaves data in its output stream and computes wrong "
                            "outputs: use io_parallel, or a kernel at least as large as the stride")


def _check_stream_pooling(layer) -> None:
    """Refuse an io_stream pooling hls4ml's templates assert against (check_stream_kernels)."""
    said = stream_pooling_asserted(layer)
    if said is not None:
        two = kind_of(layer) is POOLING2D
        raise SpecError(f"layer '{layer.name}' ({layer.class_name} with {said}): hls4ml's io_stream pooling takes no padding"
                        + (" and a window equal to its strides" if two else "") + " (its template asserts it): use io_parallel, or "
                        "padding='valid'" + (" with strides equal to pool_size" if two else ""))


def check_ternary_inputs(graph) -> None:
    """Refuse a ternary compare still reading unsigned values after the repairs (repairs.signed_ternary_inputs makes
    them signed; a spec's type override after it), naming it: hls4ml holds its lower threshold in that type, which
    cannot lie below 0, so a 0 would come out -1 where QKeras gives 0 (a conversion without the repairs is validated
    as hls4ml builds it)."""
    for layer in graph.get_layers():
        read = of_precision(layer.get_input_variable().type.precision) if kind_of(layer) is BATCHNORM_QUANTIZED_TANH else None
        if layer.get_attr("quantize") == 3 and read is not None and not read.signed:
            source = layer.get_input_node(layer.inputs[0])
            raise SpecError(f"layer '{layer.name.removeprefix('bnbt_').removesuffix('_scale')}' (a ternary activation of the unsigned values of "
                            f"'{source.name}', {read.hls4ml()}): hls4ml 1.3 compares them with its lower threshold in their own type, which "
                            "cannot lie below 0, so a 0 would come out -1 where QKeras gives 0: give that layer a signed type (a signed "
                            "quantizer, or a signed input type)")


def check_resource_convolutions(graph) -> None:
    """Refuse an io_parallel convolution of the Resource strategy whose reuse factor exceeds its kernel's inputs (filter
    size times channels), naming it: hls4ml's conv_1d/conv_2d_resource_cl is correct only up to there (its own assert
    message), and past it pairs inputs with the wrong weights. Conv1D's assert aborts the emulation, and so does the
    Vivado backend's Conv2D; the Vitis backend's Conv2D asserts another condition, so its firmware computed silently
    wrong values (found by hand: a QConv2D of 12 inputs at reuse factor 24, every sample off; its index walk, simulated
    over every valid factor of up to 39 inputs and 11 filters, is wrong exactly past the kernel's inputs)."""
    keras_model = graph.config.config.get("KerasModel")
    named = {layer.name for layer in keras_model.layers} if keras_model is not None else None
    past = resource_convolutions_past_their_limit(graph)
    if past:
        layer, factor, inputs = past[0]
        setting = (f"hls.layers.{layer.name}.reuse_factor" if named is None or layer.name in named
                   else "hls.reuse_factor (hls4ml's halves of a separable convolution follow it)")
        raise SpecError(f"layer '{layer.name}' ({layer.class_name} at reuse factor {factor}): hls4ml's io_parallel Resource "
                        f"convolution is correct only up to a reuse factor of its kernel's {inputs} inputs (filter size times "
                        f"channels), which its asserts do not check: set {setting} to at most {inputs}, or use io_stream")


def check_lstm_types(graph) -> None:
    """Refuse an LSTM whose input type is not its output type, naming both: hls4ml 1.3's lstm template (the
    non-static one, compiled whatever use_static says) multiplies the state, of the output type, through a dense call
    typed for the input, and g++ fails on the project naming no layer."""
    for layer in graph.get_layers():
        if kind_of(layer) is not LSTM:
            continue
        source, result = (of_precision(variable.type.precision) for variable in (layer.get_input_variable(), layer.get_output_variable()))
        if source != result:
            raise ModelError(f"layer '{layer.name}' (LSTM on inputs of type {source.hls4ml()}, its state {result.hls4ml()}): hls4ml 1.3's lstm template "
                             "does not compile unless the two types are one (it passes the state where it takes inputs)")


def check_layers_written(graph) -> None:
    """Refuse a layer hls4ml keeps in its graph but writes no C++ call for (it has no function template, and its output
    is an array of its own, not another's under a new name), naming it: the firmware would declare that array and never
    compute it (a ternary activation of threshold 0.5: 200 of 200 samples off, refused by name before any work now)."""
    for layer in graph.get_layers():
        if layer.get_attr("function_cpp", None) or kind_of(layer) is INPUT:
            continue
        if any(not str(variable.definition_cpp()).lstrip().startswith("auto&") for variable in layer.get_variables()):
            hint = (": hls4ml writes a ternary only merged with the scale it adds for the threshold, not for a threshold of 0.5 nor where "
                    "it folds that scale into a float Dense or convolution before it (quantize that layer)") if kind_of(layer) is TERNARY_TANH else ""
            raise ModelError(f"layer '{layer.name}' ({layer.class_name}): hls4ml 1.3 writes no C++ call for it, so the firmware never "
                             f"computes its output{hint}")


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
    "pool_op", "activation", "depth_multiplier", "count_pad", "_weights_transposed", "implementation", "table_size",
    "op", "axis",  # a merge's operation, a concatenation's axis (the proof's merges)
    "activ_param",  # a leaky relu's alpha, as hls4ml writes it into the call (the proof's leaky relu)
    "crop_top", "crop_left",  # where a cropping's window starts (the proof's cropping)
    "perm",  # a transpose's order of axes (the proof's transpose)
    "slope", "shift",  # a hard sigmoid's or tanh's line (the proof's hard activation)
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
                "outputs": list(layer.outputs),  # a Clone's copies ('<input>_cpy1', ...), which its consumers read
                "output_shape": [int(size) for size in output.shape],
                "attributes": {key: _plain(layer.get_attr(key)) for key in GRAPH_ATTRIBUTES if layer.get_attr(key) is not None},
                "types": {key: _precision(var.precision) for key, var in layer.types.items()},
                "weights": {key: var.name for key, var in layer.weights.items()},
            }
        )
    return {"io_type": graph.config.get_config_value("IOType"), "layers": layers, "outputs": list(graph.outputs)}  # the firmware's, in order


def _plain(value):
    if isinstance(value, (list, tuple)) and all(isinstance(item, int) for item in value):
        return [int(item) for item in value]  # a transpose's perm
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
