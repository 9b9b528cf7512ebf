"""codesign's repairs of hls4ml's graph, as hls4ml optimizer passes in a flow that runs before hls4ml formats its
layer templates (docs/architecture.md, "How bit-exactness is obtained").

hls4ml's quantizer-derived types lose bits a QKeras model keeps (average pooling, alpha scales, QKeras's batch
normalization, accumulators inferred too narrow), and a spec can set per-layer types. Each fix is a pass of its own;
`flow_for(backend)` is hls4ml's default flow for that backend with codesign's flow inserted before its first template
flow, so the templates format the types as repaired. What a conversion asks for travels in the HLSConfig's `Model`
under `SETTINGS` (hls4ml keeps only its own top-level keys; removed again before the project is written): which
candidate's repairs, and the spec's overrides.
"""

from __future__ import annotations

import copy

import numpy as np

from codesign.config import parse_ap_fixed
from codesign.errors import SpecError
from codesign.fixed import XNOR_VALUES, Fixed, averaged, covering, exact_scale, exact_sum, exact_type_of, holds, is_xnor, of_precision, to_hls4ml
from codesign.layers import (
    ACTIVATION, APPLY_ALPHA, BATCH_NORMALIZATION, BATCHNORM_QUANTIZED_TANH, CLONE, CONCATENATE, CONV1D, CONV2D, CROPPING1D, CROPPING2D, DENSE,
    DOT, GLOBAL_POOLING1D, GLOBAL_POOLING2D, KINDS, MERGE, PARAMETRIZED_ACTIVATION, POINTWISE_CONV1D, POINTWISE_CONV2D,
    POOLING1D, POOLING2D, PRELU, REPACK, RESHAPE, RESIZE, SOFTMAX, TRANSPOSE, ZERO_PADDING1D, ZERO_PADDING2D, implements, kind_of,
    has_resource_kernel, padded, resource_convolutions_past_their_limit, valid_reuse_factor, valid_reuse_factors,
)
from codesign.vectorized import shifts_lost
from codesign.quantizers import activation_quantizer, batchnorm_scale_shift

VALUES_PASSED_ON = (POOLING1D, POOLING2D, GLOBAL_POOLING1D, GLOBAL_POOLING2D, RESHAPE, REPACK, TRANSPOSE, ZERO_PADDING1D, ZERO_PADDING2D,
                    CROPPING1D, CROPPING2D, RESIZE, CONCATENATE)  # results of their inputs' values, moved, padded with 0, joined, or averaged
FLOAT_WEIGHT_WIDTH = 48  # the widest type a float layer's weights are stored in exactly (float32: 24 significant bits each)
SETTINGS = "CodesignRepairs"  # the key of HLSConfig.Model the passes read: {repairs, exact_accumulators, layers}
FLOW = "repairs"  # registered as 'codesign:repairs'
FIRST_FLOW = "before_convert"  # registered as 'codesign:before_convert': passes that must run before hls4ml's 'convert' flow


def settings(repairs: bool, exact_accumulators: bool, layers: dict[str, dict[str, str | None]], own_reuse: list[str] | None = None,
             own_strategy: list[str] | None = None) -> dict:
    """What the passes of one conversion do: the candidate's repairs and exact accumulators, the spec's per-layer
    accum/result types ({layer: {accum, result}}), and the layers whose reuse factor (`own_reuse`) or strategy
    (`own_strategy`) the user set for that layer (None: every layer's, an authored hls4ml config)."""
    return {"repairs": repairs, "exact_accumulators": exact_accumulators, "layers": layers, "own_reuse": own_reuse, "own_strategy": own_strategy}


def flow_for(backend: str) -> str:
    """The flow a conversion runs: hls4ml's '<backend>:ip' with codesign's repairs before its first template flow,
    and the passes that must see the graph before hls4ml's 'convert' flow first (registered once per backend)."""
    from hls4ml.backends import get_backend
    from hls4ml.model.flow import get_available_flows, get_flow, register_flow

    _register_passes()
    name = f"codesign:{backend.lower()}_ip"
    if name not in get_available_flows():
        requires = list(get_flow(get_backend(backend).get_default_flow()).requires)
        first_template = next(index for index, flow in enumerate(requires) if flow.endswith(":apply_templates"))
        requires.insert(first_template, f"codesign:{FLOW}")
        requires.insert(0, f"codesign:{FIRST_FLOW}")
        register_flow(f"{backend.lower()}_ip", None, requires=requires, backend="codesign")
    return name


def _register_passes() -> None:
    """codesign's passes and their flow, in the order they run; each does its work when its setting asks for it."""
    from hls4ml.model.flow import get_available_flows, register_flow
    from hls4ml.model.optimizer import ModelOptimizerPass, register_pass

    if f"codesign:{FLOW}" in get_available_flows():
        return

    def switched(setting: str | None, repair):
        def transform(graph) -> bool:
            chosen = graph.config.config["HLSConfig"]["Model"].get(SETTINGS, {})
            if setting is None or chosen.get(setting):
                repair(graph, chosen)
            return False  # nothing for hls4ml to re-run

        return transform

    names = [register_pass(name, ModelOptimizerPass(f"codesign:{name}", switched(setting, repair)), backend="codesign")
             for name, setting, repair in PASSES]
    register_flow(FLOW, names, requires=None, backend="codesign")
    first = [register_pass(name, ModelOptimizerPass(f"codesign:{name}", switched(None, repair)), backend="codesign")
             for name, repair in FIRST_PASSES]
    register_flow(FIRST_FLOW, first, requires=["parse_qonnx"], backend="codesign")  # 'convert' requires it too: it runs once


# --- the repairs --------------------------------------------------------------------------------------------------


def repacked_stream_flattens(graph, _settings: dict) -> None:
    """hls4ml's io_stream Flatten passes its input's stream on as it is, packs of the channels (InplaceStreamFlatten:
    "layers that require flatten data can gather it from the stream"), which a Dense does; an activation, a batch
    normalization or a binary or ternary compare after it writes packs as wide as the whole flattened vector, one per
    pack read, mostly unset (a ternary after a Flatten: 200 of 200 samples off, said proven; a quantized_relu: the
    emulation crashed). A Flatten read by any layer but a Dense (or a Clone of its stream for Dense layers only: fuzz seed
    1405 model 0) becomes the Repack hls4ml makes of every other reshape (ReshapeStream), its result in its input's type."""
    from hls4ml.backends.fpga.passes.repack_stream import Repack
    from hls4ml.model.types import InplaceTensorVariable

    if graph.config.get_config_value("IOType") != "io_stream":
        return
    for layer in list(graph.get_layers()):
        if kind_of(layer) is not RESHAPE or not isinstance(layer.get_output_variable(), InplaceTensorVariable) or _gathers_packs(graph, layer):
            continue
        repack = _typed_node(graph, Repack, f"repack_{layer.name}", {"target_shape": list(layer.get_output_variable().shape)}, layer.inputs.copy(),
                             layer.get_input_variable().type.precision)
        graph.replace_node(layer, repack)
        for reader in _readers(graph, repack):
            if kind_of(reader) is CLONE:
                _own_copy_types(reader)


def _readers(graph, layer) -> list:
    """The layers reading one of this layer's outputs."""
    return [other for other in graph.get_layers() if any(output in other.inputs for output in layer.outputs)]


def _own_copy_types(clone) -> None:
    """A Clone made of a Flatten's stream names its copies' type as the Flatten's input's (an InplaceTensorVariable
    shares its input's type), a pack of the channels, which the firmware declares once: after a Repack the copies
    are whole vectors under that name, and clone_stream wrote packs of one where it read packs of all (a Flatten copied
    for a Dense and an activation: the emulation crashed, or 16 inputs of the domain differed). The copies get a name of
    their own, one for all (the firmware declares a Clone's last copy's type, its `result_t`)."""
    for name in clone.outputs:
        clone.get_output_variable(name).type.name = f"{clone.name}_t"


def _gathers_packs(graph, layer) -> bool:
    """Whether every layer reading this one's stream reads it in whatever packs it comes: a Dense, or a Clone whose
    copies only such layers read (hls4ml's clone_stream copies the packs as they come)."""
    return all(kind_of(reader) is DENSE or (kind_of(reader) is CLONE and _gathers_packs(graph, reader)) for reader in _readers(graph, layer))


def widen_average_pooling(graph, _settings: dict) -> None:
    """Without bit_exact=True, hls4ml keeps an average pool in its input type and loses the divided-out bits."""
    for layer in graph.get_layers():
        if _is_average_pooling(layer):
            _widen_pool(layer, of_precision(layer.get_input_variable().type.precision))


def true_alpha_scales(graph, _settings: dict) -> None:
    """hls4ml applies an alpha='auto_po2' quantizer's per-channel scale in an ApplyAlpha layer, but stores the scale
    through a quantized_po2 that cannot hold scales above 1 (a scale of 2 becomes 1): store QKeras's own scales, in
    the narrowest fixed-point type that holds them exactly."""
    for layer in graph.get_layers():
        if kind_of(layer) is APPLY_ALPHA and layer.get_attr("scale_data") is not None:
            scale = np.asarray(layer.get_attr("scale_data"), dtype=np.float64).reshape(layer.weights["scale"].data.shape)
            fixed, exact = exact_type_of(scale)
            if exact:
                _replace_weights(layer, "scale", scale, fixed)
            _cast_after_the_scale(layer)


def exact_float_weights(graph, _settings: dict) -> None:
    """hls4ml types the weights of a float layer (a Keras Dense, a QDense's bias without a quantizer) with the model's
    default, fixed<16,6>, and rounds them, where Keras multiplies by the float32 weights themselves (a QKeras model
    ending in a float Dense: 100 of 100 samples off, with no reason given). Each float32 weight is a binary fraction:
    stored in the narrowest type holding them all (up to FLOAT_WEIGHT_WIDTH bits, else left as hls4ml typed them,
    and typesearch.why_not_exact names them), the products are Keras's, exactly."""
    for layer, key, weight in _weights_of_weighted_layers(graph):
        if weight.quantizer is not None or of_precision(weight.type.precision) is None:
            continue
        values = np.asarray(weight.data, dtype=np.float64)
        fixed, exact = exact_type_of(values, max_width=FLOAT_WEIGHT_WIDTH)
        if exact and fixed != of_precision(weight.type.precision):
            _replace_weights(layer, key, values, fixed)


def quantized_weights_in_a_type_that_holds_them(graph, _settings: dict) -> None:
    """hls4ml types a quantized_bits weight or bias whose integer bits reach its width (quantized_bits(2,2): the
    values -4, -2, 0, 2) as an ap_int of that width, which wraps them (2 became -2 in int<2>: fuzz seed 1472 model 9,
    100 of 100 samples off by 4). Quantized values its type cannot hold are stored in the narrowest type that holds
    them: the values QKeras multiplies and adds."""
    for layer, key, weight in _weights_of_weighted_layers(graph):
        stored = of_precision(weight.type.precision)
        if weight.quantizer is None or stored is None or is_xnor(weight.type.precision):
            continue
        values = np.asarray(weight.data, dtype=np.float64)
        if holds(stored, values):
            continue
        fixed, exact = exact_type_of(values)
        if exact:
            _replace_weights(layer, key, values, fixed)


def fixed_power_of_two_biases(graph, _settings: dict) -> None:
    """hls4ml stores a bias of a `quantized_po2` quantizer in its power-of-two struct (sign and exponent), which the
    kernels add as a number: the firmware did not compile (no conversion of `bias_t` to the accumulator). Its values
    are QKeras's quantized ones, powers of two: stored in the narrowest fixed-point type holding them, the sum is the
    same."""
    from hls4ml.model.types import ExponentPrecisionType

    for layer, key, bias in _weights_of_weighted_layers(graph):
        if key == "bias" and isinstance(bias.type.precision, ExponentPrecisionType):
            values = np.asarray(bias.data, dtype=np.float64)
            fixed, exact = exact_type_of(values)
            if exact:
                _replace_weights(layer, "bias", values, fixed)


def power_of_two_kernels_whose_shifts_lose_bits(graph, _settings: dict) -> None:
    """hls4ml multiplies by a `quantized_po2` kernel's weights with a shift of the input inside ap_fixed<2(E + W), E + W>
    (nnet::product::weight_exponential: E the exponent's bits, W the input's width), which drops the bits of a right
    shift past its E + W fraction bits and wraps a left shift past its E + W integer bits (`vectorized.shifts_lost`, which the proof checks too;
    fuzz seed 101 model 12: every sample off). Where the kernel makes such a shift, its
    weights (QKeras's powers of two) are stored in the narrowest fixed-point type holding them, as the accumulator's
    exact type already counted them (`_weight_type`): the products are exact, and a constant power of two is still a
    shift in the synthesized kernel. Runs after the exact types, which set the input's."""
    from hls4ml.model.types import ExponentPrecisionType

    for layer, key, weight in _weights_of_weighted_layers(graph):
        data = of_precision(layer.get_input_variable().type.precision)
        values = np.asarray(weight.data, dtype=np.float64)
        if key != "weight" or not isinstance(weight.type.precision, ExponentPrecisionType) or data is None or not values.any():
            continue
        if shifts_lost(data, weight.type.precision.width, np.log2(np.abs(values[values != 0])).astype(np.int64)):
            fixed, exact = exact_type_of(values)
            if exact:
                _replace_weights(layer, key, values, fixed)


def _weights_of_weighted_layers(graph):
    """(layer, name, weight) of every weight of every layer that multiplies by weights (a kernel, a bias, a scale)."""
    for layer in graph.get_layers():
        kind = kind_of(layer)
        if kind is not None and kind.role == "weighted":
            for key, weight in list(layer.weights.items()):
                yield layer, key, weight


def _cast_after_the_scale(alpha) -> None:
    """hls4ml merges the QActivation after a scaled (auto_po2) layer into that layer's result type, then puts the
    ApplyAlpha after it: the quantizer then rounds the sum before the scale, where QKeras rounds the scaled value.
    The layer's result becomes its accumulator (a value QKeras never shows), and the quantizer's cast (RND_CONV or
    SAT: a quantizer's type) moves to the ApplyAlpha's result."""
    source = alpha.get_input_node(alpha.inputs[0])
    if source is None or "accum_t" not in source.types or "result_t" not in source.types:
        return
    result = of_precision(source.types["result_t"].precision)
    source.types["result_t"].precision = source.types["accum_t"].precision
    if result is not None and (result.rounding != "TRN" or result.saturation != "WRAP"):
        alpha.types["result_t"].precision = to_hls4ml(result)


def signed_max_pool_inputs(graph, _settings: dict) -> None:
    """hls4ml pads a max pooling's border windows with its input type's top bit set (nnet::pad_val): the most negative
    value of a signed type, but half the range of an unsigned one, which then wins over the values Keras compares.
    A relu's unsigned result (or an unsigned quantizer's) before a padded max pooling becomes the signed type one bit
    wider (`_signed_one_wider`): the same values, and a padding that never wins. Where the producer cannot be retyped
    (a convolution into which hls4ml merged an unsigned quantizer: fuzz seed 1472 model 1, its ufixed<7,3> padded with
    4.0, 50 of 100 samples off), a relu into the signed type is inserted before the pooling (`_signed_relu_before`)."""
    for layer in list(graph.get_layers()):
        if kind_of(layer) in (POOLING1D, POOLING2D) and layer.get_attr("pool_op") == "Max" and padded(layer.attributes):
            if not _signed_one_wider(layer.get_input_node(layer.inputs[0]), (ACTIVATION,)):
                _signed_relu_before(graph, layer)


def signed_ternary_inputs(graph, _settings: dict) -> None:
    """hls4ml's ternary compare (normalize_ternary_tanh: -1 at or below threshold_lo) holds its thresholds in its
    input's type, where an unsigned one cannot hold the lower threshold below 0, so a 0 came out -1 where QKeras gives
    0 (198 of 200 samples off after a quantized_relu; after a max pooling of one, 70 of 200, unnamed). The unsigned
    result before it becomes the signed type one bit wider (`_signed_one_wider`), the same values, and the thresholds
    that type (step_thresholds_in_their_input_type writes them again on its grid); check_ternary_inputs names what
    stays unsigned."""
    for layer in list(graph.get_layers()):
        if kind_of(layer) is BATCHNORM_QUANTIZED_TANH and layer.get_attr("quantize") == 3:
            source = layer.get_input_node(layer.inputs[0])
            if not _signed_one_wider(source, (ACTIVATION,) + VALUES_PASSED_ON):
                source = _signed_relu_before(graph, layer)
            if source is not None:
                for key in ("threshold_hi", "threshold_lo"):
                    layer.weights[key].update_precision(source.get_output_variable().type.precision)


def _signed_relu_before(graph, layer):
    """A relu into the signed type one bit wider inserted before `layer`, where what it reads is unsigned and its producer
    cannot be retyped (a Dense into which hls4ml merged an unsigned linear quantizer, whose cast clips negative sums):
    the same values (a relu of values at or above 0). The relu, or None where the input is not unsigned."""
    from hls4ml.model.layers import Activation

    data = of_precision(layer.get_input_variable().type.precision)
    if data is None or data.signed:
        return None
    relu = _typed_node(graph, Activation, f"{layer.get_input_node(layer.inputs[0]).name}_signed", {"activation": "relu"}, [layer.inputs[0]],
                       _signed_one_bit_wider(data))
    graph.insert_node(relu, before=layer)
    return relu


def _typed_node(graph, kind, name: str, attributes: dict, inputs: list, precision):
    """A new hls4ml node of this kind whose result has this precision, its types converted for the backend as hls4ml's
    transform_types converted the others' (codesign's passes run after it); not yet in the graph."""
    from hls4ml.model.optimizer import get_optimizer

    node = graph.make_node(kind, name, attributes, inputs)
    node.get_output_variable().type.precision = precision
    get_optimizer(f"{graph.config.backend.name.lower()}:transform_types").transform(graph, node)
    return node


def _signed_one_bit_wider(data: Fixed):
    """The hls4ml precision of the signed type one bit wider than an unsigned one: the same values, the same top."""
    return to_hls4ml(Fixed(data.width + 1, data.integer + 1, True, data.rounding, data.saturation))


def _signed_one_wider(source, kinds: tuple) -> bool:
    """Retype a layer's unsigned result as the signed type one bit wider where its values stay the same, and say
    whether it did: a relu's (it clips negatives itself, and both types saturate at the same top); an unsigned
    quantizer's linear cast (round, then clip to [0, top]) made a relu into that type, the same values (a negative
    input rounds to at most zero either way); a pooling's, a reshape's, a padding's or a concatenation's of unsigned values (never negative)."""
    data = of_precision(source.types["result_t"].precision) if source is not None and "result_t" in source.types else None
    if data is None or data.signed or kind_of(source) not in kinds:
        return False
    if kind_of(source) is ACTIVATION:
        clipping = source.get_attr("activation") == "linear" and data.saturation in ("SAT", "SAT_SYM")
        if source.get_attr("activation") != "relu" and not clipping:
            return False
        source.set_attr("activation", "relu")
    else:
        inputs = [of_precision(source.get_input_variable(name).type.precision) for name in source.inputs]
        if any(read is None or read.signed for read in inputs):
            return False
        if kind_of(source) is RESIZE and not _signed_one_wider(source.get_input_node(source.inputs[0]), kinds):
            return False  # it reads and writes one type (resize_in_its_input_type): its input is retyped with it
    source.types["result_t"].precision = _signed_one_bit_wider(data)
    return True


def qkeras_batchnorm(graph, _settings: dict) -> None:
    """hls4ml builds a QBatchNormalization's scale and shift from its raw parameters, but QKeras first quantizes
    them (by default gamma to quantized_relu_po2, beta and the mean to quantized_po2, the variance too) and then
    computes x * inv + (beta - mean * inv), inv = rsqrt(variance + epsilon) * gamma, in float32, as Keras does for a
    BatchNormalization after a Dense: store that float32 inv and shift, exactly, in fixed point."""
    for layer in graph.get_layers():
        if kind_of(layer) is not BATCH_NORMALIZATION or _fused(layer):
            continue
        parameters = {}
        for key in ("gamma", "beta", "mean", "variance"):
            data = np.asarray(layer.get_attr(f"{key}_data", 0.0), dtype=np.float32)
            quantizer = layer.get_attr(f"{key}_quantizer")
            parameters[key] = np.asarray(quantizer(data), dtype=np.float32) if quantizer is not None else data
        inv, shift = batchnorm_scale_shift(parameters["gamma"], parameters["beta"], parameters["mean"], parameters["variance"],
                                           layer.get_attr("epsilon", 1e-3))
        for key, values in (("scale", inv), ("bias", shift)):
            values = np.broadcast_to(values, layer.weights[key].data.shape).astype(np.float64)
            _replace_weights(layer, key, values, exact_type_of(values, max_width=48)[0])


def _fused(layer) -> bool:
    """Whether hls4ml fused the batch normalization or ApplyAlpha before this one into it (its scale is no longer its
    own gamma / sqrt(variance + epsilon)): its own parameters would drop the other's, so hls4ml's fused ones stay
    (typesearch.why_not_exact names it)."""
    gamma, variance = (layer.get_attr(f"{key}_data") for key in ("gamma", "variance"))
    if gamma is None or variance is None:
        return False
    scale = np.asarray(layer.weights["scale"].data_unquantized, dtype=np.float64)
    own = np.broadcast_to(np.asarray(gamma) / np.sqrt(np.asarray(variance) + layer.get_attr("epsilon", 1e-3)), scale.shape)
    return not np.allclose(scale, own, rtol=1e-5, atol=0)  # hls4ml's own formula in its dtypes; a fused scale is another


def exact_types(graph, _settings: dict) -> None:
    """In graph order, every accumulator as wide as its exact sum (hls4ml infers them before codesign's repairs and
    can drop product bits) and every result hls4ml inferred from its inputs (equal to the accumulator, or to the
    input for pass-through layers) widened with them, by each kind's rule (its `exact_type` in codesign/layers.py);
    quantizer outputs keep their types. A Dense or convolution reads xnor bits as -1 and +1 (its product decodes
    them); any other layer passes them on as bits and keeps its types."""
    for layer in graph.get_layers():
        kind = kind_of(layer)
        variables = [layer.get_input_variable(name) for name in layer.inputs]
        inputs = [_read_as(variable.type.precision, kind) for variable in variables if variable is not None]
        if not inputs or len(inputs) < len(variables) or any(source is None for source in inputs):
            continue
        rule = kind.handler("exact_type") if kind is not None else None
        if rule is not None:
            result = of_precision(layer.types["result_t"].precision) if "result_t" in layer.types else None
            rule(layer, inputs, result)


def _read_as(precision, kind) -> Fixed | None:
    """The type of the values a layer of `kind` reads from a variable of `precision`: plain fixed point as it is, xnor
    bits as -1 and +1 where a weighted layer's product decodes them; None otherwise."""
    fixed = of_precision(precision)
    if fixed is None and is_xnor(precision) and kind is not None and kind.role == "weighted":
        return XNOR_VALUES
    return fixed


def type_overrides(graph, chosen: dict) -> None:
    """Per-layer accum/result types from the spec, after every other repair so that they win over inferred types."""
    layers = {layer.name: layer for layer in graph.get_layers()}
    for name, override in chosen["layers"].items():
        if name not in layers:
            raise SpecError(f"hls.layers.{name}: no layer of that name in the converted model (has: {', '.join(layers)})")
        for key, text in (("accum_t", override.get("accum")), ("result_t", override.get("result"))):
            if text is None:
                continue
            if key == "result_t" and kind_of(layers[name]) is RESIZE:
                raise SpecError(f"hls.layers.{name}.result: a Resize (UpSampling) keeps its input's type (hls4ml's resize_nearest "
                                "takes one type); set the result of the layer before it")
            if key not in layers[name].types:
                raise SpecError(f"hls.layers.{name}: layer type '{layers[name].class_name}' has no {key[:-2]} type")
            layers[name].types[key].precision = to_hls4ml(parse_ap_fixed(text))


def resize_in_its_input_type(graph, _settings: dict) -> None:
    """hls4ml's resize_nearest<data_T, CONFIG_T> reads and writes one type (io_parallel and io_stream), and hls4ml
    gives a Resize its input's type when it creates it: a repair or a spec that retypes the layer before it left a
    project g++ refused ("no matching function for call to resize_nearest"). The Resize follows its input again."""
    for layer in graph.get_layers():
        if kind_of(layer) is RESIZE:
            _in_its_input_type(layer)


def softmax_config_name(graph, _settings: dict) -> None:
    """hls4ml names a Keras `Softmax` layer's config struct after its class ('Softmax_config4') and calls the function
    with 'softmax_config4': g++ refused every model with one. The activation is named as `Activation('softmax')`'s."""
    for layer in graph.get_layers():
        if kind_of(layer) is SOFTMAX and layer.get_attr("activation") == layer.class_name:
            layer.set_attr("activation", "softmax")


def keep_user_transposes(graph, _settings: dict) -> None:
    """hls4ml's remove_transpose_before_flatten removes a Transpose before a Flatten into a Dense and reorders the
    Dense's weights as if it were the one its channels-last conversion inserts (a 2D tensor's (1, 0), a 3D one's
    (2, 0, 1)): a Keras Permute((2, 1, 3)) there left 100 of 100 samples off. After a Keras Permute of any other
    order the Flatten keeps its transpose (hls4ml's own flag for it, on the Flatten)."""
    for layer in graph.get_layers():
        if kind_of(layer) is TRANSPOSE and list(layer.get_attr("perm", [])) not in ([1, 0], [2, 0, 1]):
            for flatten in layer.get_output_nodes():
                flatten._channels_last_keep_transpose = True


def valid_pointwise_reuse_factors(graph, _settings: dict) -> None:
    """A Resource pointwise convolution at the reuse factor hls4ml chose for the 1x1 convolution it was made from
    (layers.valid_reuse_factor): hls4ml's optimize_pointwise_conv had put back the one the config asked for."""
    for layer in graph.get_layers():
        factor = valid_reuse_factor(layer)
        if factor is not None:
            layer.set_attr("reuse_factor", factor)


def resource_convolutions_within_their_kernels(graph, chosen: dict) -> None:
    """An io_parallel Resource convolution whose reuse factor came from the model's (hls.reuse_factor) and exceeds its
    kernel's inputs, where hls4ml's kernel computes wrong values (layers.resource_reuse_limit), takes the largest factor
    hls4ml accepts up to there, as hls4ml itself moves an invalid factor to a valid one, and says so in the conversion
    log; one the user set for that layer stays, and the conversion refuses it (convert.check_resource_convolutions)."""
    own = chosen.get("own_reuse")
    for layer, factor, limit in resource_convolutions_past_their_limit(graph):
        if own is None or layer.name in own:
            continue
        backend = layer.model.config.backend
        fitting = max(rf for rf in valid_reuse_factors(backend, *backend.get_layer_mult_size(layer)) if rf <= limit)
        layer.set_attr("reuse_factor", fitting)
        print(f"codesign: layer '{layer.name}' reuse factor {factor} -> {fitting}: hls4ml's io_parallel Resource convolution is "
              f"correct only up to its kernel's {limit} inputs")


def depthwise_convolutions_in_latency(graph, chosen: dict) -> None:
    """A layer hls4ml writes no Resource kernel for (layers.has_resource_kernel: an io_parallel depthwise convolution, a
    separable one's depthwise half too) whose Resource strategy came from the model's (hls.strategy) takes Latency, the
    only one hls4ml writes for it, and says so in the conversion log. One the user set for that layer stays, and its
    emulation's abort names it."""
    own, io_type = chosen.get("own_strategy"), graph.config.get_config_value("IOType")
    if own is None:
        return
    for layer in graph.get_layers():
        if not has_resource_kernel(layer, io_type) and str(layer.get_attr("strategy", "")).lower() == "resource" and layer.name not in own:
            layer.set_attr("strategy", "latency")
            print(f"codesign: layer '{layer.name}' strategy Resource -> Latency: hls4ml writes no io_parallel Resource depthwise convolution")


def step_thresholds_in_their_input_type(graph, _settings: dict) -> None:
    """hls4ml merges a scale with the binary or ternary activation after it into one compare per input value
    (BatchNormalizationQuantizedTanh.set_thresholds): the ternary's own threshold scale, a Keras batch normalization,
    or an alpha kernel's scale and bias. It floors each threshold, -bias / scale and beside it, onto its input's grid,
    typed as that input: a pass that retypes the input after (exact accumulators, a spec's override) left them in the
    old type (g++: no matching normalize_ternary_tanh or normalize_binary_tanh; fuzz seed 1397 model 6), streamed after
    a convolution their count was of values, not channels (seed 1397 model 5), and on the grid the floor is off by one
    step wherever the threshold is not a grid value: binary gives +1 from floor(t) on where QKeras gives it from t (a
    ternary threshold of 0.25 gave +1 one value late). The thresholds are computed again on the input's final grid, in
    its type, one per channel (n_filt), where QKeras's own arithmetic steps (thresholds.grid_thresholds: the batch
    normalization in float32 as Keras computes it); a binary one made a ternary compare (xnor_read_as_numbers) gets
    both thresholds one step below its own."""
    from codesign.thresholds import grid_thresholds, step_of

    keras_model = graph.config.config.get("KerasModel")
    for layer in list(graph.get_layers()):
        if kind_of(layer) is not BATCHNORM_QUANTIZED_TANH or keras_model is None:
            continue
        source = layer.get_input_variable()
        fixed, channels = of_precision(source.type.precision), int(source.shape[-1])
        step = step_of(keras_model, layer.name, layer.get_input_node().name, [other.name for other in graph.get_layers()])
        thresholds = None if fixed is None or step is None else grid_thresholds(step, fixed, channels)
        if thresholds is None:
            continue
        if "threshold" in thresholds and "threshold" not in layer.weights:  # made a ternary compare (xnor_read_as_numbers)
            below = thresholds.pop("threshold") - fixed.lsb
            thresholds = {"threshold_hi": below, "threshold_lo": below}
        for key, values in thresholds.items():  # in the input's own precision: an ap_int<2> input takes no ap_fixed<2,2> thresholds
            _replace_weights(layer, key, values, fixed, copy.deepcopy(source.type.precision))
        layer.set_attr("n_filt", channels)


def xnor_read_as_numbers(graph, _settings: dict) -> None:
    """hls4ml's merged binary activation writes xnor bits, 0 for -1 (normalize_binary_tanh), which only a Dense's or a
    convolution's product decodes: an average pooling, a merge, a padding or the model's output read 0 (fuzz seed 1402
    model 5: a Dense's activation='binary' as the output, 99 of 100 samples off). Such a compare becomes hls4ml's
    ternary one with both thresholds one step below the binary's (+1 from it on, -1 below, never 0), whose output is
    the numbers -1 and +1 (ap_int<2>); first among the repairs, so the types after it are inferred from those numbers."""
    for layer in list(graph.get_layers()):
        if kind_of(layer) is BATCHNORM_QUANTIZED_TANH and "threshold" in layer.weights and _xnor_read_as_numbers(graph, layer):
            _binary_as_ternary(layer)


def _xnor_read_as_numbers(graph, layer) -> bool:
    """Whether a layer reads this binary activation's xnor bits as the numbers 0 and 1: any but a Dense or a
    convolution, a reshape passing them on to one only, or the model's output; or a Dense or convolution of binary
    weights with a bias, which hls4ml's cast for xnor times xnor (2 * acc - n_in, an integer) doubles and truncates
    (fuzz seed 1411 model 0: 100 of 100 samples off by 2 * bias); or a convolution that pads them, whose 0 bits its
    binary product reads as -1 where Keras pads with 0 (fuzz seed 1479 model 4: proven, yet 72 of 100 samples off)."""
    readers = [other for other in graph.get_layers() if layer.outputs[0] in other.inputs]
    if layer.outputs[0] in graph.outputs or not readers:
        return True
    return any(_xnor_read_as_numbers(graph, reader) if kind_of(reader) is RESHAPE
               else kind_of(reader) not in (DENSE, CONV1D, CONV2D, POINTWISE_CONV1D, POINTWISE_CONV2D) or _binary_with_a_bias(reader)
               or padded(reader.attributes) for reader in readers)


def _binary_with_a_bias(layer) -> bool:
    """A layer of binary (xnor) weights and a nonzero bias."""
    weight, bias = layer.weights.get("weight"), layer.weights.get("bias")
    return (weight is not None and is_xnor(weight.type.precision) and bias is not None
            and bool(np.any(np.asarray(bias.data) != 0)))


def _binary_as_ternary(layer) -> None:
    """The binary compare as hls4ml's ternary one, its output ap_int<2>, both thresholds hls4ml's binary one less a
    step of its type (step_thresholds_in_their_input_type writes them again in the input's final type)."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.model.types import IntegerPrecisionType

    layer.set_attr("quantize", 3)
    layer.get_output_variable().type.precision = APTypeConverter().convert(IntegerPrecisionType(width=2))
    threshold = layer.weights.pop("threshold")
    layer.attributes.pop("threshold", None)
    layer.types.pop("threshold_t", None)
    fixed = of_precision(threshold.type.precision)
    below = np.asarray(threshold.data, dtype=np.float64) - (fixed.lsb if fixed else 0)
    for key, prefix in (("threshold_hi", "th"), ("threshold_lo", "tl")):  # named as hls4ml names a ternary's
        layer.add_weights_variable(name=key, var_name=f"{prefix}{layer.index}", type_name=f"{key}_{layer.index}_t",
                                   precision=threshold.type.precision, data=below)


FIRST_PASSES = (("keep_user_transposes", keep_user_transposes),)  # (pass, what it does): before hls4ml's 'convert' flow

PASSES = (  # (pass, the setting that switches it on (None: every conversion), what it does), in the order they run
    ("repacked_stream_flattens", None, repacked_stream_flattens),
    ("xnor_read_as_numbers", "repairs", xnor_read_as_numbers),
    ("widen_average_pooling", "repairs", widen_average_pooling),
    ("true_alpha_scales", "repairs", true_alpha_scales),
    ("exact_float_weights", "repairs", exact_float_weights),
    ("fixed_power_of_two_biases", "repairs", fixed_power_of_two_biases),
    ("quantized_weights_in_a_type_that_holds_them", "repairs", quantized_weights_in_a_type_that_holds_them),
    ("qkeras_batchnorm", "repairs", qkeras_batchnorm),
    ("signed_ternary_inputs", "repairs", signed_ternary_inputs),
    ("signed_max_pool_inputs", "repairs", signed_max_pool_inputs),
    ("exact_types", "exact_accumulators", exact_types),
    ("power_of_two_kernels_whose_shifts_lose_bits", "repairs", power_of_two_kernels_whose_shifts_lose_bits),
    ("type_overrides", "layers", type_overrides),
    ("step_thresholds_in_their_input_type", "repairs", step_thresholds_in_their_input_type),
    ("resize_in_its_input_type", None, resize_in_its_input_type),
    ("valid_pointwise_reuse_factors", None, valid_pointwise_reuse_factors),
    ("resource_convolutions_within_their_kernels", None, resource_convolutions_within_their_kernels),
    ("depthwise_convolutions_in_latency", None, depthwise_convolutions_in_latency),
    ("softmax_config_name", None, softmax_config_name),
)


# --- each kind's exact-type rule (codesign/layers.py's `exact_type`) -----------------------------------------------


@implements("exact_type", *(kind for kind in KINDS if kind.role == "weighted"))
def _exact_accumulator(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """The accumulator holds the exact sum; a result hls4ml made equal to it follows."""
    if "weight" not in layer.weights:  # distributed arithmetic: the weights are compiled into the kernel
        return
    outputs = layer.get_attr("n_filt") or layer.get_attr("n_out") or 1
    terms = max(1, int(np.asarray(layer.weights["weight"].data).size) // int(outputs))
    bias = _weight_type(layer, "bias") if "bias" in layer.weights else None
    exact = exact_sum(inputs[0], _weight_type(layer, "weight"), terms, bias)
    if result == of_precision(layer.types["accum_t"].precision):
        layer.types["result_t"].precision = to_hls4ml(exact)
    layer.types["accum_t"].precision = to_hls4ml(exact)


@implements("exact_type", BATCH_NORMALIZATION, APPLY_ALPHA)
def _exact_scale_result(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    if result is not None and result.rounding == "TRN":
        bias = _weight_type(layer, "bias") if "bias" in layer.weights else None
        layer.types["result_t"].precision = to_hls4ml(exact_scale(inputs[0], _weight_type(layer, "scale"), bias))


@implements("exact_type", POOLING1D, POOLING2D, GLOBAL_POOLING1D, GLOBAL_POOLING2D)
def _exact_pooling(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    if _is_average_pooling(layer):
        _widen_pool(layer, inputs[0])
        return
    _exact_pass_through(layer, inputs, result)
    if "accum_t" in layer.types:  # nnet::pool_op keeps the running maximum in accum_t, which hls4ml inferred before the widening
        held = of_precision(layer.types["accum_t"].precision)
        widened = _also_holding(covering(inputs), held)
        if widened is not None:
            layer.types["accum_t"].precision = to_hls4ml(widened)


@implements("exact_type", RESHAPE, REPACK, ZERO_PADDING1D, ZERO_PADDING2D, CROPPING1D, CROPPING2D, MERGE, CONCATENATE, DOT)
def _exact_pass_through(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """A result hls4ml inferred from the inputs covers them all, one more integer bit for a sum, whatever rounding and
    saturation hls4ml copied from an input type inferred before codesign widened it (a pooling, reshape or padding
    copies its input's type, quantizer modes included; hls4ml merges no quantizer into these kinds: Keras computes
    them exactly)."""
    if result is None:
        return
    op = layer.get_attr("op", "add") if kind_of(layer) in (MERGE, DOT) else None
    cover = covering(inputs, 1 if op in ("add", "subtract") else 0, signed=op == "subtract")  # two unsigned inputs' difference is signed
    if op == "average":  # (a + b) * 0.5 lies between the inputs, with one more fraction bit (Keras's Average: 93 of 100 off)
        cover = Fixed(cover.width + 1, cover.integer, cover.signed)
    widened = cover if result.rounding == "TRN" and cover.width >= result.width and cover.frac >= result.frac else _also_holding(cover, result)
    if widened is not None and widened != result:  # the same type kept as it is: an io_parallel Flatten shares its input's
        layer.types["result_t"].precision = to_hls4ml(widened)  # type object, and a ternary compare's ap_int<2> must stay one


@implements("exact_type", CLONE)
def _exact_clone(layer, *_unused) -> None:
    """A stream's copies for two branches are its input, in its type (clone_stream<data_T, res_T>): each copy's type
    follows the input's after a repair widened it, so that the layers reading them are widened for what they read (a
    Dense after the copy kept an accumulator for hls4ml's fixed<16,6> where the copy held fixed<36,5>: fuzz seed 1405
    model 0, 68 of 100 samples off)."""
    source = layer.get_input_variable(layer.inputs[0])
    for name in layer.outputs:
        copy = layer.get_output_variable(name)
        if source is not None and copy is not None:
            copy.type.precision = source.type.precision


@implements("exact_type", RESIZE)
def _in_its_input_type(layer, *_unused) -> None:
    """A Resize reads and writes one type (see resize_in_its_input_type): in graph order, so that the layers after it
    are widened for the type it passes on."""
    source = layer.get_input_variable(layer.inputs[0])
    if source is not None and "result_t" in layer.types:
        layer.types["result_t"].precision = source.type.precision


@implements("exact_type", ACTIVATION)
def _exact_relu(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """A relu or linear activation in a type hls4ml inferred or defaulted (truncating, wrapping: no quantizer's) passes
    its input's values on exactly: its result covers the input (a float Keras relu after a batch normalization kept
    hls4ml's fixed<16,6> and rounded the exact values, fuzz seed 1314). A quantizer's type and a table's are kept."""
    if result is not None and result.rounding == "TRN" and result.saturation == "WRAP" and layer.get_attr("activation") in ("relu", "linear"):
        _exact_pass_through(layer, inputs, result)


@implements("exact_type", PARAMETRIZED_ACTIVATION)
def _exact_leaky_relu(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """A leaky relu computes `alpha * x` with alpha in the narrowest type holding Keras's float32 alpha (hls4ml's
    ufixed<8,-1> truncated 0.3 to 0.298828125 under a QActivation's cast: 17 of 200 samples off, found by the proof);
    in a type hls4ml inferred or defaulted, its result covers the input and that product (a Keras LeakyReLU(0.25)
    after a 10-integer-bit convolution kept hls4ml's fixed<16,6>, wrapping and dropping alpha's two fraction bits: fuzz
    seed 1361 model 2). An alpha no type of up to 32 bits holds (float32's 0.3 holds in 24) keeps hls4ml's types. A
    ThresholdedReLU's theta likewise (hls4ml held 0.3 in its input's type as 0.300048828125, and that input came out 0
    where Keras passes it), its result covering its input (hls4ml's fixed<16,6> truncated it)."""
    alpha, function = layer.get_attr("activ_param"), str(layer.get_attr("activation")).lower()
    if function not in ("leakyrelu", "thresholdedrelu") or alpha is None or "param_t" not in layer.types:
        return
    scale, exact = exact_type_of(np.float32([alpha]))
    if not exact:
        return
    layer.types["param_t"].precision = to_hls4ml(scale)
    if function == "thresholdedrelu":  # x where x > theta, else 0: theta as Keras compares it, the values passed on
        if result is not None and result.rounding == "TRN" and result.saturation == "WRAP":
            _exact_pass_through(layer, inputs, result)
        return
    _holding_the_products(layer, inputs[0], scale, result)


@implements("exact_type", PRELU)
def _exact_prelu(layer, inputs: list[Fixed], result: Fixed | None) -> None:
    """A PReLU multiplies by its float32 alphas, one per value, which hls4ml stores in the model's default type and
    rounds (random alphas under a QActivation's cast: 4 of 1,024 inputs off, found by the proof's search): stored in
    the narrowest type holding them all (up to FLOAT_WEIGHT_WIDTH bits), and a result as for the leaky relu."""
    if "param" not in layer.weights:
        return
    values = np.asarray(layer.weights["param"].data, dtype=np.float64)
    scale, exact = exact_type_of(values, max_width=FLOAT_WEIGHT_WIDTH)
    if not exact:
        return
    _replace_weights(layer, "param", values, scale)
    _holding_the_products(layer, inputs[0], scale, result)


def _holding_the_products(layer, source: Fixed, scale: Fixed, result: Fixed | None) -> None:
    """A leaky relu's result, in a type hls4ml inferred or defaulted, covers its input and `alpha * x`; a quantizer's
    cast (hls4ml moved the next QActivation here) keeps its own type."""
    if result is None or result.rounding != "TRN" or result.saturation != "WRAP":
        return
    product = Fixed(source.width + scale.width, source.integer + scale.integer, True)  # alpha * x, whatever the signs
    widened = _also_holding(covering([source, product]), result)
    if widened is not None:
        layer.types["result_t"].precision = to_hls4ml(widened)


# --- helpers ------------------------------------------------------------------------------------------------------


def _also_holding(cover: Fixed, held: Fixed | None) -> Fixed | None:
    """A type holding both `cover` and the type already `held`, where `held` alone misses some of `cover`'s values;
    None where it holds them all."""
    if held is None:
        return cover
    if cover.integer > held.integer or cover.frac > held.frac or cover.signed != held.signed:
        return covering([cover, held])
    return None


def _is_average_pooling(layer) -> bool:
    kind = kind_of(layer)
    return kind is not None and kind.role == "pooling" and layer.get_attr("pool_op") == "Average"


def _widen_pool(layer, source: Fixed | None) -> None:
    """An average pool's accumulator and result widened so that its sum and its division are exact."""
    if source is None:
        return
    window = int(np.prod([layer.get_attr(key, 1) for key in ("pool_height", "pool_width")]))
    if kind_of(layer) is GLOBAL_POOLING2D:
        window = int(np.prod([layer.get_attr(key, 1) for key in ("in_height", "in_width")]))
    elif kind_of(layer) is GLOBAL_POOLING1D:  # hls4ml names a sequence's length n_in
        window = int(layer.get_attr("n_in", 1))
    widened = to_hls4ml(averaged(source, window))
    for key in ("accum_t", "result_t"):
        if key in layer.types:
            layer.types[key].precision = widened


def _weight_type(layer, key: str) -> Fixed:
    """A weight's type as a Fixed: its own when plain fixed point; +-1 for binary (xnor) weights, which hls4ml stores
    as 0/1 and multiplies by negating; otherwise (power-of-two, ternary) the narrowest type holding its values."""
    precision = layer.types[f"{key}_t"].precision
    fixed = of_precision(precision)
    if fixed is not None:
        return fixed
    if is_xnor(precision):
        return XNOR_VALUES
    values, _ = exact_type_of(np.asarray(layer.weights[key].data))
    return Fixed(values.width + 1, values.integer + 1, True) if not values.signed else values


def _replace_weights(layer, key: str, data: np.ndarray, fixed: Fixed, precision=None) -> None:
    """A layer's weight variable replaced by plain fixed-point data, typed for the writer as hls4ml's backend does (in
    `precision` where given: hls4ml's own precision object of those values)."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter, HLSTypeConverter, StaticWeightVariableConverter

    old = layer.weights[key]
    type_name = old.type.name.removeprefix("exponent_")  # a power-of-two weight's type (hls4ml's ExponentType) no more
    layer.add_weights_variable(name=key, var_name=old.name, type_name=type_name, precision=precision or to_hls4ml(fixed), data=data)
    converter = StaticWeightVariableConverter(type_converter=HLSTypeConverter(precision_converter=APTypeConverter()))
    layer.set_attr(key, converter.convert(layer.weights[key]))
    layer.types[f"{key}_t"] = layer.weights[key].type
