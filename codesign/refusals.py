"""What hls4ml 1.3 cannot convert, or converts into another function: each named in one line, the layer and the fix,
before any work (a build refuses them; `codesign estimate MODEL` refuses the first kind and notes the second)."""

from __future__ import annotations

import numpy as np

from codesign.kernel_scales import KERNEL, foldable, kernel_scale, merged_into_a_scale
from codesign.layers import HARD_ACTIVATION, inputs_of, is_batch_normalization, is_quantizer_layer, is_relu_layer, producer_past_identities
from codesign.model import TRAINING_ONLY_LAYERS
from codesign.quantizers import activation_function, activation_quantizer, is_quantized_bits, is_step_quantizer, ternary_threshold
from codesign.thresholds import factorized


def refusal(keras_model) -> str | None:
    """Why a build refuses the model, or None: what hls4ml cannot convert, or would lose."""
    return (unconvertible(keras_model) or scaled_separable_kernels(keras_model) or quantizer_merged_away(keras_model)
            or batch_scaled_activation(keras_model) or converted_otherwise(keras_model))


def batch_scaled_activation(keras_model) -> str | None:
    """An activation quantizer with alpha='auto' or 'auto_po2': QKeras computes that scale from each batch it is called
    on, so one sample's output depends on the others beside it, which no firmware can reproduce (12 of 200 samples off,
    found by hand), or None."""
    for layer in keras_model.layers:
        quantizer = activation_quantizer(layer)
        if is_quantized_bits(quantizer) and isinstance(quantizer.alpha, str):
            return (f"layer '{layer.name}' ({type(layer).__name__} of {quantizer}): QKeras computes alpha='{quantizer.alpha}' "
                    "from each batch it quantizes, so one sample's output depends on the other samples beside it, which no "
                    "firmware reproduces: use alpha=1 on activations (a scale belongs on a kernel)")
    return None


def converted_otherwise(keras_model) -> str | None:
    """A setting hls4ml converts into another function (the design it builds computes something else), or None."""
    return ignored_settings(keras_model) or inverted_step_thresholds(keras_model)


def inverted_step_thresholds(keras_model) -> str | None:
    """A batch normalization with a negative scale (gamma) right before a binary or ternary activation, or None: hls4ml
    merges the two into compares per channel, x >= -bias / scale (BatchNormalizationQuantizedTanh), which hold for a
    positive scale only: a channel of negative scale comes out inverted (200 of 200 samples off for a binary and for a
    ternary, found by hand; the float32 normalization was the reason given)."""
    for layer in keras_model.layers:
        quantizer = activation_quantizer(layer) if is_quantizer_layer(layer) else None
        producer = producer_past_identities(layer)
        if not is_step_quantizer(quantizer) or producer is None or not is_batch_normalization(producer) or not producer.scale:
            continue
        negative = np.flatnonzero(np.asarray(producer.gamma.numpy()) < 0)
        if len(negative):
            shown = ", ".join(map(str, negative[:8])) + (", ..." if len(negative) > 8 else "")
            return (f"layer '{producer.name}' ({type(producer).__name__} before the {type(quantizer).__name__} activation '{layer.name}'): hls4ml "
                    f"1.3 merges them into compares per channel, x >= -bias / scale, right for a positive scale only: channel{'s' if len(negative) > 1 else ''} "
                    f"{shown} (gamma < 0) would come out inverted. Fold the normalization into the layer before it (QDenseBatchnorm, "
                    "QConv2DBatchnorm), or keep gamma positive")
    return None


def unsupported_layers(keras_model) -> list[tuple[str, str]]:
    """(name, class) of every layer hls4ml cannot convert, so a user's model is refused before any work."""
    from hls4ml.converters import get_supported_keras_layers

    supported = set(get_supported_keras_layers()) | {"Dropout"}  # hls4ml skips Dropout itself
    return [(layer.name, type(layer).__name__) for layer in keras_model.layers if type(layer).__name__ not in supported]


ALTERNATIVES = {  # what hls4ml 1.3 converts in place of a (Q)Keras layer it has no converter for; not the same function
    "QAveragePooling2D": "an AveragePooling2D, a QActivation after it to quantize its output",
    "QGlobalAveragePooling2D": "a GlobalAveragePooling2D, a QActivation after it to quantize its output",
    "QDepthwiseConv2DBatchnorm": "a QDepthwiseConv2D, then a QBatchNormalization",
    "QAdaptiveActivation": "a QActivation of the quantizer it settled on",
    "QConv2DTranspose": "an UpSampling2D, then a QConv2D",
    "Conv2DTranspose": "an UpSampling2D, then a Conv2D",
    "Conv1DTranspose": "an UpSampling1D, then a Conv1D",
    "QMobileNetSeparableConv2D": "a QSeparableConv2D",
    # one called on several tensors or shared (model.without_training_only_layers takes out the others at load)
    **dict.fromkeys(TRAINING_ONLY_LAYERS, "nothing: it only acts in training"),
}


def unconvertible(keras_model) -> str | None:
    """Why hls4ml 1.3 cannot convert the model (or its C++ does not compile), the layer named, or None: a class it has no
    converter for, a separable convolution whose kernel carries a scale ('NoneType' + 'str'), a QActivation of a function
    it does not convert, a QLSTM's state quantizer, a batch normalization over another axis than the last, a layer
    normalization of other than (steps, features) inputs, a merge of more than two tensors, a Keras activation its C++
    library lacks, a depthwise convolution of depth multiplier > 1, a batch normalization between two binary steps, a
    channels_first layer. hls4ml's own errors name no layer."""
    refused = unsupported_layers(keras_model)
    if refused:
        shown = ", ".join(f"'{name}' ({kind})" for name, kind in refused)
        instead = "; ".join(dict.fromkeys(f"{kind}: {ALTERNATIVES[kind]}" for _, kind in refused if kind in ALTERNATIVES))
        return f"layer {shown} is not supported by hls4ml; replace or remove it" + (f" ({instead})" if instead else "")
    return (scaled_separable_kernels(keras_model, kinds=("Separable",)) or _unconverted_activation(keras_model) or _typed_lstm_state(keras_model)
            or _hard_recurrent_activation(keras_model) or _normalized_axis(keras_model) or _layer_normalized_shape(keras_model)
            or _merge_of_many(keras_model) or _activation_without_cpp(keras_model) or _depth_multiplied(keras_model)
            or _normalized_binary_steps(keras_model) or _channels_first(keras_model))


def _normalized_binary_steps(keras_model) -> str | None:
    """A batch normalization between a binary activation hls4ml merges into a compare (one after a batch normalization
    or a kernel scale it factorizes: its output is xnor bits) and a binary or ternary activation: hls4ml 1.3's
    merge_batch_norm_quantized_tanh pass fails reading the xnor type ('XnorPrecisionType' object has no attribute
    'fractional'; fuzz seed 1459 model 3, and by hand after an auto_po2 kernel)."""
    for layer in keras_model.layers:
        normalization = producer_past_identities(layer) if is_quantizer_layer(layer) and is_step_quantizer(activation_quantizer(layer)) else None
        step = producer_past_identities(normalization) if normalization is not None and is_batch_normalization(normalization) else None
        before = producer_past_identities(step) if step is not None and is_quantizer_layer(step) else None
        if before is not None and type(activation_quantizer(step)).__name__ == "binary" and (is_batch_normalization(before) or factorized(before)):
            return (f"layer '{normalization.name}' ({type(normalization).__name__} between the binary activation '{step.name}', which hls4ml "
                    f"merges with '{before.name}' into a compare, and the {type(activation_quantizer(layer)).__name__} activation '{layer.name}'): hls4ml 1.3 cannot "
                    "convert it (its merge_batch_norm_quantized_tanh pass fails on the binary compare's xnor output): use a ternary "
                    f"activation for '{step.name}', or put a Dense or a convolution between them")
    return None


def _channels_first(keras_model) -> str | None:
    """A layer of data_format='channels_first': hls4ml 1.3 converts Keras layers as channels_last (in io_parallel its
    im2col pass fails on the convolution, in io_stream the firmware does not compile; a Flatten's permutation would be
    lost)."""
    for layer in keras_model.layers:
        if layer.get_config().get("data_format") == "channels_first":
            return (f"layer '{layer.name}' ({type(layer).__name__} with data_format='channels_first'): hls4ml 1.3 converts Keras layers "
                    "with the channels last only: use data_format='channels_last' (the model's input transposed, or a Permute before the layer)")
    return None


def _depth_multiplied(keras_model) -> str | None:
    """A depthwise or separable convolution of depth multiplier > 1: hls4ml 1.3 converts it, and every depthwise template
    asserts a multiplier of 1 (n_filt == n_chan), so its C simulation aborts (SIGABRT), naming no layer."""
    for layer in keras_model.layers:
        multiplier = int(getattr(layer, "depth_multiplier", 1))
        if multiplier > 1:
            return (f"layer '{layer.name}' ({type(layer).__name__} with depth_multiplier={multiplier}): hls4ml 1.3's depthwise "
                    "templates take a depth multiplier of 1 only: use depth_multiplier=1 (a 1x1 convolution after it can widen the channels)")
    return None


def _merge_of_many(keras_model) -> str | None:
    """A merge of more than two tensors: hls4ml 1.3's converter takes two ('Merging more than two tensors is not yet
    supported')."""
    for layer in keras_model.layers:
        if len(inputs_of(layer)) > 2:
            return (f"layer '{layer.name}' ({type(layer).__name__} of {len(inputs_of(layer))} inputs): hls4ml 1.3 merges two tensors at "
                    "a time: chain two-input merges (Add()([Add()([a, b]), c]))")
    return None


def _normalized_axis(keras_model) -> str | None:
    """A batch normalization over an axis other than the last: hls4ml 1.3 takes its parameters as the last axis's
    ('operands could not be broadcast together')."""
    for layer in keras_model.layers:
        if not is_batch_normalization(layer):
            continue
        axes = [int(axis) % len(layer.input_shape) for axis in np.atleast_1d(layer.get_config().get("axis", -1))]
        if axes != [len(layer.input_shape) - 1]:
            return (f"layer '{layer.name}' ({type(layer).__name__} over axis {', '.join(map(str, axes))}): hls4ml 1.3 normalizes "
                    "the last axis only: normalize the last axis (move the channels there with a Permute)")
    return None


def _layer_normalized_shape(keras_model) -> str | None:
    """A LayerNormalization other than over the features of (steps, features) inputs: hls4ml 1.3's converter takes
    no other ('only three-dimensional input (including batch dimension) is supported', 'only axis 2 is supported')."""
    for layer in keras_model.layers:
        if type(layer).__name__ != "LayerNormalization":
            continue
        shape = tuple(layer.input_shape[1:])
        axes = [int(axis) % (len(shape) + 1) for axis in np.atleast_1d(layer.get_config().get("axis", -1))]
        if len(shape) != 2 or axes != [2]:
            return (f"layer '{layer.name}' (LayerNormalization over axis {', '.join(map(str, axes))} of inputs of shape {shape}): "
                    "hls4ml 1.3 normalizes the features of (steps, features) inputs only: Reshape to (1, features) before it")
    return None


def _activation_without_cpp(keras_model) -> str | None:
    """A Keras activation that hls4ml 1.3 converts to an nnet:: function its C++ library does not have (swish, gelu,
    mish, exponential): g++ then fails on the project, naming no layer. Read from the installed library's headers."""
    from pathlib import Path

    import hls4ml
    from tensorflow import keras

    headers = Path(hls4ml.__file__).parent / "templates" / "vivado" / "nnet_utils"
    text = "".join((headers / name).read_text() for name in ("nnet_activation.h", "nnet_activation_stream.h"))
    for layer in keras_model.layers:
        function = activation_function(layer)
        if function and not is_quantizer_layer(layer) and callable(getattr(keras.activations, function, None)) and f" {function}(" not in text:
            shown = f"Activation('{function}')" if isinstance(layer, keras.layers.Activation) else f"{type(layer).__name__} with activation='{function}'"
            return (f"layer '{layer.name}' ({shown}): hls4ml 1.3 writes nnet::{function}, "
                    "which its C++ library does not have (the project does not compile): use relu, or a QActivation")
    return None


def _unconverted_activation(keras_model) -> str | None:
    """A QActivation whose function hls4ml's QKeras reader refuses (a float one, QActivation('relu'): 'Unsupported
    QKeras activation: unknown'), asked of that reader itself."""
    from hls4ml.converters.keras.qkeras import get_activation_quantizer

    for layer in keras_model.layers:
        if not is_quantizer_layer(layer):
            continue
        config = layer.get_config()
        try:
            get_activation_quantizer({"class_name": type(layer).__name__, "config": config}, ["input"])
        except Exception as error:  # noqa: BLE001 - hls4ml raises Exception and AssertionError with its reason
            activation = config["activation"]  # as written: str() of some QKeras quantizers asserts (quantized_hswish)
            shown = activation if isinstance(activation, str) else activation.get("class_name", "?")
            return (f"layer '{layer.name}' (QActivation({shown!r})): hls4ml 1.3 does not convert it ({error}): it converts a "
                    "QActivation of quantized_bits, quantized_relu, quantized_tanh, quantized_sigmoid, binary or ternary; a float "
                    "function goes in a Keras Activation layer (Activation('relu'))")
    return None


def _hard_recurrent_activation(keras_model) -> str | None:
    """A QSimpleRNN, QLSTM or QGRU whose activation or recurrent activation hls4ml's QKeras reader makes a hard one
    (quantized_tanh or quantized_sigmoid, QLSTM's default activation among them): its recurrent converter asserts
    'Hard activation not supported'. Asked of that reader itself."""
    from hls4ml.converters.keras.qkeras import get_activation_quantizer

    for layer in keras_model.layers:
        if type(layer).__name__ not in ("QSimpleRNN", "QLSTM", "QGRU"):
            continue
        config = layer.get_config()
        for key in ("activation", "recurrent_activation"):
            if key not in config or isinstance(config[key], str):
                continue
            converted = get_activation_quantizer({"class_name": type(layer).__name__, "config": config}, ["input"], activation_name=key)
            if converted["class_name"] == HARD_ACTIVATION.name:
                return (f"layer '{layer.name}' ({type(layer).__name__} with {key} {getattr(layer, key)}): hls4ml 1.3 converts no hard "
                        f"activation inside a recurrent layer: give {key} as a float function ('tanh', 'sigmoid'), or the quantizer with "
                        "use_real_tanh=True / use_real_sigmoid=True")
    return None


def _typed_lstm_state(keras_model) -> str | None:
    """A QLSTM with a state_quantizer: hls4ml 1.3 types the gates' accumulator with it, which its lstm template then
    passes where it expects the layer's result type (g++: no matching function for call to 'dense<...>')."""
    for layer in keras_model.layers:
        if type(layer).__name__ == "QLSTM" and layer.get_config().get("state_quantizer"):
            return (f"layer '{layer.name}' (QLSTM with state_quantizer {layer.state_quantizer_internal}): hls4ml 1.3 types the "
                    "gates' accumulator with it and its LSTM template then does not compile: remove the state_quantizer")
    return None


def ignored_settings(keras_model) -> str | None:
    """A layer setting hls4ml 1.3 converts without, the layer named (the firmware then computes another function):
    a Keras ReLU's max_value, negative_slope or threshold (converted to a plain relu: a ReLU(max_value=1.5), 42 of 100
    samples off), a convolution's dilation_rate or groups (a dilated or grouped kernel computed as a plain one: 100 of
    100 off), an UpSampling's bilinear interpolation (written as resize_nearest), an activation quantizer's settings
    hls4ml drops (_binary_or_ternary_setting, _dropped_quantizer_setting)."""
    for layer in keras_model.layers:
        if is_relu_layer(layer):
            settings = {"max_value": layer.max_value, "negative_slope": float(layer.negative_slope), "threshold": float(layer.threshold)}
            ignored = {key: value for key, value in settings.items() if value not in (None, 0.0)}
            if ignored:
                shown = ", ".join(f"{key}={float(value):g}" for key, value in ignored.items())
                return (f"layer '{layer.name}' (ReLU with {shown}): hls4ml 1.3 converts it to a plain relu and drops {', '.join(ignored)}: "
                        "use a QActivation(quantized_relu(bits, integer)) to clip, quantized_relu(..., negative_slope=...) for a leak, "
                        "or a ReLU without them")
        config = layer.get_config()
        dilation = config.get("dilation_rate")
        if dilation is not None and any(step != 1 for step in np.atleast_1d(dilation)):
            return (f"layer '{layer.name}' ({type(layer).__name__} with dilation_rate={tuple(np.atleast_1d(dilation).tolist())}): hls4ml 1.3 "
                    "converts it as an undilated kernel (a different function): use dilation_rate=1")
        if config.get("interpolation", "nearest") != "nearest":
            return (f"layer '{layer.name}' ({type(layer).__name__} with interpolation='{config['interpolation']}'): hls4ml 1.3 writes "
                    "it as resize_nearest (a different function): use interpolation='nearest'")
        if config.get("groups", 1) != 1:
            return (f"layer '{layer.name}' ({type(layer).__name__} with groups={config['groups']}): hls4ml 1.3 converts it as one "
                    "ungrouped kernel (a different function): use groups=1, or one convolution per group and a Concatenate")
        for key in ("kernel_quantizer", "depthwise_quantizer", "pointwise_quantizer"):
            kernel = getattr(layer, f"{key}_internal", None)
            if type(kernel).__name__ == "binary" and getattr(kernel, "use_01", False):  # 166 of 200 samples off, no reason given
                return (f"layer '{layer.name}' ({type(layer).__name__} with {key} {kernel}): hls4ml 1.3 writes the kernel as -1 and +1 and "
                        "drops use_01 (a different function): use binary(alpha=1), or a quantized_bits kernel")
        quantizer = activation_quantizer(layer)
        dropped = _binary_or_ternary_setting(quantizer) or _dropped_quantizer_setting(quantizer)
        if dropped:
            return f"layer '{layer.name}' ({type(layer).__name__} of {quantizer}): {dropped}"
    return None


def _binary_or_ternary_setting(quantizer) -> str | None:
    """What hls4ml 1.3 does not build of a binary or ternary activation, or None. Its binary_tanh and ternary_tanh
    write -1, 0 and +1 whatever the quantizer's alpha or binary's use_01 (QKeras's values: -2/+2, 0/1; 100 of 100
    samples off, found by hand); a ternary threshold of exactly 0.5 leaves a TernaryTanh layer that no template writes
    (ExtractTernaryThreshold takes every other threshold into a thresholded batch normalization), so the firmware
    never computes its output (200 of 200 off)."""
    if not is_step_quantizer(quantizer):
        return None
    name, alpha = type(quantizer).__name__, quantizer.alpha
    if alpha is not None and (isinstance(alpha, str) or np.any(np.asarray(alpha, dtype=float) != 1.0)):
        return f"hls4ml 1.3 writes -1, 0 and +1 and drops alpha={alpha!r} (a different function): use alpha=1 (scale the next layer's kernel)"
    if name == "binary" and quantizer.use_01:
        return "hls4ml 1.3 writes -1 and +1 and drops use_01 (a different function): use binary(alpha=1)"
    if ternary_threshold(quantizer) == 0.5:
        return ("hls4ml 1.3 writes no C++ for a ternary activation of threshold 0.5, so the firmware never computes it: use another "
                "threshold (QKeras's default is 0.33)")
    return None


def _dropped_quantizer_setting(quantizer) -> str | None:
    """What hls4ml 1.3 drops of an activation quantizer, or None: quantized_relu's use_sigmoid (it computes the plain
    quantized relu: 163 of 200 samples off, no reason given, found by hand), quantized_sigmoid's symmetric (QKeras's
    lowest value is one step, hls4ml's 0: 173 of 200 off), and a qnoise_factor below 1 (QKeras then passes that share
    of the unquantized value through, which no fixed-point type holds: 200 of 200 off)."""
    if quantizer is None:
        return None
    if type(quantizer).__name__ == "quantized_relu" and getattr(quantizer, "use_sigmoid", 0):
        return "hls4ml 1.3 computes the plain quantized relu and drops use_sigmoid (a different function): use quantized_relu without it"
    if type(quantizer).__name__ == "quantized_sigmoid" and getattr(quantizer, "symmetric", False) and not getattr(quantizer, "use_real_sigmoid", False):
        return (f"QKeras clips it below at 2^-{quantizer.bits}, where hls4ml 1.3's hard sigmoid writes 0 and drops symmetric (a different "
                "function): use quantized_sigmoid without symmetric")
    noise = getattr(quantizer, "qnoise_factor", 1.0)
    noise = float(noise.numpy() if hasattr(noise, "numpy") else noise)
    if noise != 1.0:
        return (f"QKeras passes {1 - noise:g} of the unquantized value through (qnoise_factor={noise:g}), which no fixed-point type "
                "holds: set qnoise_factor=1.0 (where a training schedule of quantization noise ends)")
    return None


def scaled_separable_kernels(keras_model, kinds: tuple[str, ...] = ("Separable", "Depthwise")) -> str | None:
    """What hls4ml 1.3 does not take from a separable or depthwise convolution whose kernel carries a scale (alpha
    other than 1; QKeras 0.9 gives a quantized_bits written without alpha 'auto_po2'), the layer named, before any
    conversion: it splits a separable one into halves with no name, then fails to name the ApplyAlpha ('NoneType' +
    'str'); it writes a depthwise one's float kernel where QKeras computes with its quantized kernel (found by
    codesign fuzz: -0.47 written where QKeras uses -0.46875). An 'auto_po2' scale is folded into the kernel instead
    (kernel_scales.py): what stays refused is another scale."""
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if not any(part in kind for part in kinds):
            continue
        for attribute in ("depthwise_quantizer_internal", "pointwise_quantizer_internal"):
            alpha = kernel_scale(layer, attribute)
            if alpha is not None and not foldable(layer, attribute.removesuffix("_internal")):  # auto_po2: kernel_scales.py
                what = ("cannot convert a separable convolution" if "Separable" in kind
                        else "writes the float kernel, not QKeras's quantized one, of a depthwise convolution")
                return (f"layer '{layer.name}' ({kind}): hls4ml 1.3 {what} whose {attribute.split('_')[0]} kernel carries a scale "
                        f"(alpha={alpha!r}; QKeras 0.9 gives a quantized_bits written without alpha the scale 'auto_po2'): give its "
                        "quantizers alpha=1")
    return None


def quantizer_merged_away(keras_model) -> str | None:
    """A QActivation of quantized_bits after another, both after a layer whose kernel carries a scale other than a
    power of two, the layer named, before any conversion: hls4ml merges both into the ApplyAlpha it puts after that
    layer, typed 'auto' whatever the config says, and since a QKeras activation carries no quantizer there, the merge
    only removes the node: the second's cast is in no layer (codesign's repair restores the first's; after an unscaled
    layer, _pin_linear_quantizers types the node they would merge into; a power-of-two scale, QKeras 0.9's default
    'auto_po2', is folded into the kernel: kernel_scales.py). Fuzz seed 1353 model 8: 99 of 100 samples off. The same
    after the layer's own linear activation quantizer (fuzz seed 1360 model 14: 100 of 100 off), and for one quantizer
    followed by a batch normalization, into which hls4ml fuses that ApplyAlpha (seed 1441 model 13)."""
    for layer, owner, how, _alpha in merged_into_a_scale(keras_model):
        if not foldable(owner, KERNEL[0]):
            return (f"layer '{layer.name}' ({activation_quantizer(layer)}): hls4ml 1.3 drops this quantizer's cast: {how}: give "
                    f"'{owner.name}''s kernel quantizer alpha=1, or keep one quantizer there")
    return None
