"""The one table of hls4ml layer kinds: what each kind is, and which codesign implementation handles it or why not.

A kind is an hls4ml layer class (`hls4ml.model.layers`); a converted layer is matched to the most derived class of
its Python class that the table holds (isinstance, so hls4ml's backend subclasses such as VitisDense are found).
Each implementation files its function under the kinds it handles (`@implements("vectorized", DENSE)`); a kind an
implementation does not handle says why in `declines`, and that reason is what users read. tests/test_layers.py
checks that every kind has, per implementation, a function or a reason, never both and never neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

IMPLEMENTATIONS = {
    "exact_type": "repairs.py: the type that holds the layer's exact result (the exact-accumulator candidates)",
    "vectorized": "vectorized.py: the numpy emulation",
    "compiled": "compiled.py: the TensorFlow-graph emulation",
    "proof": "proof.py: the bound analysis over a domain",
    "estimate": "estimate/features.py: the cost features",
    "rtl": "rtl.py: a da4ml distributed-arithmetic kernel, or passed through",
}
ROLES = ("input", "weighted", "scale", "activation", "softmax", "pooling", "reshape", "padding", "resize", "merge", "recurrent")


@dataclass(eq=False)
class Kind:
    """One hls4ml layer class: its role in the graph, the implementations that handle it, and why the others do not."""

    name: str  # the hls4ml class (hls4ml.model.layers)
    role: str
    declines: dict[str, str] = field(default_factory=dict)  # implementation -> why it does not handle this kind
    aliases: tuple[str, ...] = ()  # other class_name values hls4ml writes for it (graphs without a `kind`)
    handlers: dict[str, Callable] = field(default_factory=dict)
    kernel: str = ""  # the function hls4ml's templates name it after: the prefix of its instance in a C-synthesis report
    parallel_resource: bool = True  # hls4ml writes an io_parallel Resource kernel for it (its depthwise templates assert)

    @property
    def convolution(self) -> bool:
        return self.role == "weighted" and self.name != "Dense"

    @property
    def outputs_attribute(self) -> str:
        """The hls4ml attribute that counts a weighted layer's outputs per position."""
        return "n_filt" if self.convolution else "n_out"

    def handler(self, implementation: str) -> Callable | None:
        return self.handlers.get(implementation)

    def why_not(self, implementation: str) -> str:
        """Why `implementation` does not handle this kind, in words a user can act on."""
        return self.declines.get(implementation, f"{self.name} layers are not handled by {IMPLEMENTATIONS[implementation]}")


EMULATED_ELSEWHERE = "the C++ emulation of the compiled project runs instead"
NO_PROOF = "no bound analysis for it: runs that have it stay 'unproven'"
NOT_A_KERNEL = "not a multiply-accumulate kernel: only Dense and convolution layers become da4ml kernels"
KEEPS_ITS_TYPE = "its result type is its quantizer's or the spec's, kept as it is"
INPUT_CAST = "the input cast, done where the batch enters the emulation"

INPUT = Kind("Input", "input", {"exact_type": "its type is the input type the type search chose",
                                "vectorized": INPUT_CAST, "compiled": INPUT_CAST, "proof": "the domain's cast, done where the bounds start",
                                "rtl": "the kernel's input port"})
DENSE = Kind("Dense", "weighted", kernel="dense")
CONV1D = Kind("Conv1D", "weighted", kernel="conv_1d")
CONV2D = Kind("Conv2D", "weighted", kernel="conv_2d")
CONV2D_BATCHNORM = Kind("Conv2DBatchnorm", "weighted", {"rtl": "a convolution with folded batch normalization: da4ml kernels take plain Conv2D"},
                        kernel="conv_2d")
DEPTHWISE_CONV1D = Kind("DepthwiseConv1D", "weighted", {
    "vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE,
    "rtl": "each channel its own kernel: not implemented by hls4ml's distributed_arithmetic strategy"}, kernel="depthwise_conv_1d",
    parallel_resource=False)
DEPTHWISE_CONV2D = Kind("DepthwiseConv2D", "weighted", {"rtl": "each channel its own kernel: not implemented by hls4ml's distributed_arithmetic strategy"},
                        kernel="depthwise_conv_2d", parallel_resource=False)
POINTWISE_CONV1D = Kind("PointwiseConv1D", "weighted", {"rtl": "hls4ml's pointwise implementation is not a da4ml kernel"}, kernel="pointwise_conv_1d")
POINTWISE_CONV2D = Kind("PointwiseConv2D", "weighted", {"rtl": "hls4ml's pointwise implementation is not a da4ml kernel"}, kernel="pointwise_conv_2d")
BATCH_NORMALIZATION = Kind("BatchNormalization", "scale", {
    "vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE, "rtl": NOT_A_KERNEL}, kernel="normalize")
APPLY_ALPHA = Kind("ApplyAlpha", "scale", {
    "vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE, "rtl": NOT_A_KERNEL})
ACTIVATION = Kind("Activation", "activation", {"rtl": NOT_A_KERNEL}, aliases=("ReLU",))
_TABLE_ACTIVATION = {"exact_type": KEEPS_ITS_TYPE, "vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE,
                     "proof": NO_PROOF, "rtl": NOT_A_KERNEL}
PARAMETRIZED_ACTIVATION = Kind("ParametrizedActivation", "activation",  # a leaky relu: exact type and proof; ELU (a table): not proven
                               {key: why for key, why in _TABLE_ACTIVATION.items() if key not in ("exact_type", "proof")})
HARD_ACTIVATION = Kind("HardActivation", "activation", {key: why for key, why in _TABLE_ACTIVATION.items() if key != "proof"})
PRELU = Kind("PReLU", "activation", {key: why for key, why in _TABLE_ACTIVATION.items() if key not in ("exact_type", "proof")})  # an alpha per value
TERNARY_TANH = Kind("TernaryTanh", "activation", dict(_TABLE_ACTIVATION))
BATCHNORM_QUANTIZED_TANH = Kind("BatchNormalizationQuantizedTanh", "activation",  # a ternary (or binary) activation and the scale before it
                                {key: why for key, why in _TABLE_ACTIVATION.items() if key != "proof"})
SOFTMAX = Kind("Softmax", "softmax", {**_TABLE_ACTIVATION, "exact_type": "a lookup table: no exact type exists"}, kernel="softmax")
POOLING1D = Kind("Pooling1D", "pooling", {"rtl": NOT_A_KERNEL}, kernel="pooling1d")
POOLING2D = Kind("Pooling2D", "pooling", {"rtl": NOT_A_KERNEL}, kernel="pooling2d")
_GLOBAL_POOLING = {"vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE, "rtl": NOT_A_KERNEL}
GLOBAL_POOLING1D = Kind("GlobalPooling1D", "pooling", dict(_GLOBAL_POOLING), kernel="global_pooling1d")
GLOBAL_POOLING2D = Kind("GlobalPooling2D", "pooling", dict(_GLOBAL_POOLING), kernel="global_pooling2d")
RESHAPE = Kind("Reshape", "reshape", aliases=("Flatten",))
TRANSPOSE = Kind("Transpose", "reshape", {"exact_type": KEEPS_ITS_TYPE, "vectorized": EMULATED_ELSEWHERE,
                                          "compiled": EMULATED_ELSEWHERE})
CLONE = Kind("Clone", "reshape", {"vectorized": "a stream's copy for two branches: " + EMULATED_ELSEWHERE,
                                  "compiled": "a stream's copy for two branches: " + EMULATED_ELSEWHERE, "rtl": NOT_A_KERNEL})
REPACK = Kind("Repack", "reshape", {"compiled": "a stream's repacking (io_stream): the numpy emulator runs instead", "rtl": NOT_A_KERNEL})
ZERO_PADDING1D = Kind("ZeroPadding1D", "padding", {"vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE,
                                                   "rtl": NOT_A_KERNEL}, kernel="zeropad1d")
ZERO_PADDING2D = Kind("ZeroPadding2D", "padding", {"rtl": NOT_A_KERNEL}, kernel="zeropad2d")
_CROPPING = {"vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE, "rtl": NOT_A_KERNEL}
CROPPING1D = Kind("Cropping1D", "padding", dict(_CROPPING), kernel="cropping1d")
CROPPING2D = Kind("Cropping2D", "padding", dict(_CROPPING), kernel="cropping2d")
RESIZE = Kind("Resize", "resize", {"vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE, "rtl": NOT_A_KERNEL})
_MERGE = {"vectorized": "a layer with two inputs: " + EMULATED_ELSEWHERE, "compiled": "a layer with two inputs: " + EMULATED_ELSEWHERE,
          "rtl": NOT_A_KERNEL}
MERGE = Kind("Merge", "merge", dict(_MERGE))
CONCATENATE = Kind("Concatenate", "merge", dict(_MERGE))
DOT = Kind("Dot", "merge", dict(_MERGE))  # its own kind: hls4ml 1.3 has no io_stream template for it (convert.check_stream_kernels)

_RECURRENT = {"exact_type": "its state is fed back at every time step: no exact accumulator without bounding the sequence",
              "vectorized": EMULATED_ELSEWHERE, "compiled": EMULATED_ELSEWHERE, "proof": NO_PROOF,
              "rtl": "a time-step loop around two kernels and tables: not one da4ml kernel"}
LSTM = Kind("LSTM", "recurrent", dict(_RECURRENT), kernel="lstm")
GRU = Kind("GRU", "recurrent", dict(_RECURRENT), kernel="gru")
BIDIRECTIONAL = Kind("Bidirectional", "recurrent", dict(_RECURRENT), kernel="bidirectional")
_TIME_STEPS = "the start or end of a time-step loop around the layers it wraps: "
TIME_DISTRIBUTED = Kind("TimeDistributed", "reshape", {"exact_type": KEEPS_ITS_TYPE, "vectorized": _TIME_STEPS + EMULATED_ELSEWHERE,
                                                      "compiled": _TIME_STEPS + EMULATED_ELSEWHERE, "proof": NO_PROOF,
                                                      "rtl": _TIME_STEPS + "not a da4ml kernel"})

KINDS = (INPUT, DENSE, CONV1D, CONV2D, CONV2D_BATCHNORM, DEPTHWISE_CONV1D, DEPTHWISE_CONV2D, POINTWISE_CONV1D,
         POINTWISE_CONV2D, BATCH_NORMALIZATION, APPLY_ALPHA, ACTIVATION, PARAMETRIZED_ACTIVATION, HARD_ACTIVATION, PRELU,
         TERNARY_TANH, BATCHNORM_QUANTIZED_TANH, SOFTMAX, POOLING1D, POOLING2D, GLOBAL_POOLING1D, GLOBAL_POOLING2D, RESHAPE, TRANSPOSE, REPACK, CLONE,
         ZERO_PADDING1D, ZERO_PADDING2D, CROPPING1D, CROPPING2D, RESIZE, MERGE, CONCATENATE, DOT, LSTM, GRU, BIDIRECTIONAL, TIME_DISTRIBUTED)
_BY_NAME = {name: kind for kind in KINDS for name in (kind.name, *kind.aliases)}


def kind_of(layer) -> Kind | None:
    """The table's kind of an hls4ml layer object: the most derived of its classes the table holds, or None."""
    return next((_BY_NAME[cls.__name__] for cls in type(layer).__mro__ if cls.__name__ in _BY_NAME), None)


def resource_reuse_limit(layer, io_type: str) -> int | None:
    """The largest reuse factor at which the layer computes right under the Resource strategy: an io_parallel
    convolution's kernel inputs, filter size times channels (past it hls4ml's conv_1d/conv_2d_resource_cl pairs inputs
    with the wrong weights); None where no such limit holds (another kind or io type)."""
    if io_type != "io_parallel" or kind_of(layer) not in (CONV1D, CONV2D, CONV2D_BATCHNORM, POINTWISE_CONV1D, POINTWISE_CONV2D):
        return None
    return int(layer.get_attr("filt_height", 1)) * int(layer.get_attr("filt_width", 1)) * int(layer.get_attr("n_chan"))


def has_resource_kernel(layer, io_type: str) -> bool:
    """Whether hls4ml writes a Resource-strategy kernel for the layer in this io type: not for an io_parallel depthwise
    convolution (its depthwise_conv_1d/2d_cl asserts "Resource strategy ... is not supported"; under synthesis, with
    asserts off, the function computes nothing)."""
    kind = kind_of(layer)
    return io_type != "io_parallel" or kind is None or kind.parallel_resource


def valid_reuse_factors(backend, n_in: int, n_out: int) -> list[int]:
    """The reuse factors hls4ml accepts for n_in x n_out products: its _validate_reuse_factor over the divisors of their
    count (every valid factor divides it; hls4ml itself tries every integer up to it)."""
    total = n_in * n_out
    divisors = sorted({d for i in range(1, int(total**0.5) + 1) if total % i == 0 for d in (i, total // i)})
    return [rf for rf in divisors if backend._validate_reuse_factor(n_in, n_out, rf)]


PAD_SIDES = ("pad_top", "pad_bottom", "pad_left", "pad_right")  # hls4ml's padding attributes of a convolution or pooling


def padded(attributes) -> bool:
    """Whether a convolution's or pooling's windows reach past its input: any of hls4ml's pad_* attributes (an hls4ml
    layer's `attributes`, or the graph description's)."""
    return any(attributes.get(side, 0) for side in PAD_SIDES)


def stream_pooling_asserted(layer) -> str | None:
    """What an io_stream pooling has that hls4ml's templates assert against, or None: every backend's pooling2d_cl takes
    a window equal to its strides and no padding, pooling1d_cl no padding (its C simulation aborts on them)."""
    if kind_of(layer) not in (POOLING1D, POOLING2D):
        return None
    sides = PAD_SIDES if kind_of(layer) is POOLING2D else ("pad_left", "pad_right")
    pads = [layer.get_attr(side, 0) for side in sides]
    window = (layer.get_attr("pool_height", 1), layer.get_attr("pool_width", 1))
    strides = (layer.get_attr("stride_height", 1), layer.get_attr("stride_width", 1))
    if kind_of(layer) is POOLING2D and window != strides:
        return f"a window of {window} and strides {strides}"
    return f"padding {pads}" if any(pads) else None


def stride_leaving_data_in_its_stream(layer) -> tuple[int, int] | None:
    """The strides of an io_stream convolution hls4ml computes with its line buffer though its kernel is 1x1 and it
    strides (a depthwise one, a separable one's first half, a QConv2DBatchnorm, which hls4ml does not make a pointwise
    convolution as it does a QConv2D): it leaves data in its output stream and computes wrong outputs; else None."""
    kernel = (layer.get_attr("filt_height", 1), layer.get_attr("filt_width", 1))
    strides = (layer.get_attr("stride_height", 1), layer.get_attr("stride_width", 1))
    return strides if kind_of(layer) in (DEPTHWISE_CONV2D, CONV2D, CONV2D_BATCHNORM) and kernel == (1, 1) and strides != (1, 1) else None


def resource_convolutions_past_their_limit(graph) -> list[tuple]:
    """(layer, reuse factor, limit) of each Resource-strategy layer of an hls4ml graph past resource_reuse_limit: what
    its firmware computes is wrong."""
    io_type = graph.config.get_config_value("IOType")
    past = []
    for layer in graph.get_layers():
        limit, factor = resource_reuse_limit(layer, io_type), int(layer.get_attr("reuse_factor", 1))
        if limit is not None and factor > limit and str(layer.get_attr("strategy", "latency")).lower() == "resource":
            past.append((layer, factor, limit))
    return past


def valid_reuse_factor(layer) -> int | None:
    """The reuse factor hls4ml's own check takes for a Resource pointwise convolution whose factor it rejects, or None
    (another layer, or a valid factor): hls4ml 1.3's optimize_pointwise_conv remakes a 1x1 convolution from its config
    and puts back the factor asked for over the one hls4ml chose and warned of, so its kernel walks past its weights
    (8 inputs x 2 filters at 5: every sample off, io_parallel and io_stream) or names a kernel that does not exist."""
    if kind_of(layer) not in (POINTWISE_CONV1D, POINTWISE_CONV2D) or str(layer.get_attr("strategy", "latency")).lower() != "resource":
        return None
    backend, factor = layer.model.config.backend, int(layer.get_attr("reuse_factor", 1))
    n_in, n_out = backend.get_layer_mult_size(layer)
    if backend._validate_reuse_factor(n_in, n_out, factor):
        return None
    return backend.get_closest_reuse_factor(valid_reuse_factors(backend, n_in, n_out), factor)


def kind_named(name: str) -> Kind | None:
    """The kind a codesign_graph.json layer names (its `kind`, or an older graph's `class`), or None."""
    return _BY_NAME.get(name)


def graph_kind(layer: dict) -> Kind | None:
    """The kind of one layer of codesign_graph.json."""
    return kind_named(layer.get("kind") or layer["class"])


def writes_xnor_bits(layer: dict) -> bool:
    """Whether a graph description's layer writes hls4ml's xnor bits (0 for -1, 1 for +1): a binary activation merged
    with the scale before it, its result type one of no width."""
    return graph_kind(layer) is BATCHNORM_QUANTIZED_TANH and "width" not in layer["types"]["result_t"]


def weights_in_firmware(layer: dict) -> str | None:
    """Why a weighted layer's weights are not in the project's weight files (distributed arithmetic writes them into
    its C++ as adder graphs), or None: the emulators and the proof read those files."""
    kind = graph_kind(layer)
    if kind is not None and kind.role == "weighted" and "weight" not in layer["weights"]:
        return "its weights are compiled into the firmware (distributed arithmetic)"
    return None


def planar_attributes(layer: dict) -> dict:
    """A codesign_graph.json layer's attributes; a 1D convolution's or pooling's as its 2D twin's, one row high
    (hls4ml names a 1D pooling's lengths n_in/n_out, a 1D convolution's in_width/out_width)."""
    kind, attributes = graph_kind(layer), dict(layer["attributes"])
    if kind not in (CONV1D, DEPTHWISE_CONV1D, POINTWISE_CONV1D, POOLING1D):
        return attributes
    if kind is POOLING1D:
        attributes.update(in_width=attributes["n_in"], out_width=attributes["n_out"])
    return {**attributes, "in_height": 1, "out_height": 1, "filt_height": 1, "pool_height": 1, "stride_height": 1,
            "pad_top": 0, "pad_bottom": 0}


def implements(implementation: str, *kinds: Kind) -> Callable:
    """Files the decorated function as `implementation`'s handler of each kind; twice, or over a stated reason, is refused."""
    if implementation not in IMPLEMENTATIONS:
        raise RuntimeError(f"unknown implementation {implementation!r}: one of {', '.join(IMPLEMENTATIONS)}")

    def register(function: Callable) -> Callable:
        for kind in kinds:
            if implementation in kind.handlers or implementation in kind.declines:
                raise RuntimeError(f"{implementation} of {kind.name} is registered twice (or also declined in codesign/layers.py)")
            kind.handlers[implementation] = function
        return function

    return register


def unhandled(name: str, implementation: str) -> str:
    """Why a layer class is not handled: the table's reason, or that the table does not know it."""
    kind = kind_named(name)
    if kind is None:
        return f"{name} is not in codesign's table of hls4ml layer kinds (codesign/layers.py)"
    return kind.why_not(implementation)


def is_hgq_proxy_layer(keras_layer) -> bool:
    """A layer of an HGQ proxy model (FixedPointQuantizer, UnaryLUT): HGQ's quantizers, one type per value, which hls4ml
    converts bit for bit."""
    return type(keras_layer).__module__.startswith("HGQ")


def is_quantizer_layer(keras_layer) -> bool:
    """A QKeras QActivation: a layer that only quantizes (or applies a quantized activation)."""
    return type(keras_layer).__name__ == "QActivation"


# Keras layers with an activation that hls4ml keeps whole (keras_v2_to_hls: activation_layers, recurrent_layers)
UNSPLIT_LAYERS = ("Activation", "QActivation", "LeakyReLU", "ThresholdedReLU", "ELU", "PReLU", "Softmax", "SimpleRNN", "LSTM",
                  "GRU", "QSimpleRNN", "QLSTM", "QGRU", "Bidirectional")


def split_activation(keras_layer) -> str | None:
    """The name hls4ml gives the activation layer it splits off a layer with `activation=` ('fc_relu',
    'fc_quantized_bits'; keras_v2_to_hls), where that layer's own cast can round; None for a layer without one."""
    if type(keras_layer).__name__ in UNSPLIT_LAYERS:
        return None
    activation = keras_layer.get_config().get("activation") if hasattr(keras_layer, "get_config") else None
    name = activation.get("class_name") if isinstance(activation, dict) else activation
    return f"{keras_layer.name}_{name}" if isinstance(name, str) else None


def split_owner(name: str, keras_names) -> str | None:
    """The Keras layer a firmware layer hls4ml split off was part of and named after: the longest of `keras_names` it
    extends ('fc1' for 'fc1_alpha', 'fc1_relu', 'fc1_quantized_bits'; 'sep' for 'sep_depthwise'), or None."""
    return max((owner for owner in keras_names if name.startswith(owner + "_")), key=len, default=None)


def keras_owner(name: str, keras_names) -> str | None:
    """The Keras layer a firmware layer computes (all or the end of): itself, or the one hls4ml split it from and named
    it after ('conv_alpha', an auto_po2 scale; 'fc_relu' and 'fc_quantized_bits', its activation: split_activation):
    the longest Keras name it extends. hls4ml names a batch normalization merged with the binary or ternary activation
    after it 'bnbt_' and the normalization's name ('<activation>_scale' for the one it adds for a ternary's threshold)."""
    if name not in keras_names and name.startswith("bnbt_"):
        name = name.removeprefix("bnbt_")
    return name if name in keras_names else split_owner(name, keras_names)


def inputs_of(keras_layer) -> list[str]:
    """The names of the Keras layers feeding this one."""
    nodes = getattr(keras_layer, "_inbound_nodes", None) or []
    inbound = nodes[0].inbound_layers if nodes else []
    return [layer.name for layer in (inbound if isinstance(inbound, list) else [inbound])]


def takes_a_linear_quantizer(keras_layer) -> bool:
    """Whether hls4ml's MergeLinearActivation moves a following linear quantizer's cast into the layer hls4ml makes of
    this Keras layer (where its result type is unset): hls4ml's own rule, its layer class (layer_map) one of the pass's
    parents, subclasses included (a float DepthwiseConv2D, LeakyReLU or ELU as much as a Dense)."""
    from hls4ml.model.layers import layer_map
    from hls4ml.model.optimizer.passes.linear import _safe_parents  # hls4ml 1.3's list, read rather than copied

    name = type(keras_layer).__name__
    hls4ml_class = layer_map.get("Activation" if name == "ReLU" else name)  # hls4ml's parse_activation_layer renames ReLU
    return hls4ml_class is not None and issubclass(hls4ml_class, _safe_parents)


def producer_past_identities(keras_layer):
    """The Keras layer whose output feeds this one once hls4ml has removed the identities between them, or None: a
    Dropout (skipped by its converter) or a Keras Activation('linear') (merged into the layer before it or
    eliminated: a QDense, a linear Activation and a QActivation lost the quantizer's cast, 100 of 100 samples off)."""
    producer = keras_layer
    while True:
        nodes = getattr(producer, "_inbound_nodes", None) or []
        producer = nodes[0].inbound_layers if nodes else None
        if isinstance(producer, list):  # a layer of several inputs lists them
            producer = producer[0] if producer else None
        if producer is None or not is_identity(producer):
            return producer


def is_relu_layer(keras_layer) -> bool:
    """A Keras ReLU layer (max_value, negative_slope, threshold of its own), not an Activation('relu')."""
    return type(keras_layer).__name__ == "ReLU"


def is_identity(keras_layer) -> bool:
    """A Keras layer hls4ml removes from the graph: a Dropout, or an Activation('linear')."""
    name = type(keras_layer).__name__
    return name == "Dropout" or (name == "Activation" and getattr(keras_layer.activation, "__name__", "") == "linear")


def is_input_layer(keras_layer) -> bool:
    return keras_layer is None or type(keras_layer).__name__ == "InputLayer"


def is_keras_dense(keras_layer) -> bool:
    """Keras's Dense or QKeras's QDense."""
    return type(keras_layer).__name__ in ("Dense", "QDense")


def average_window(keras_layer) -> int | None:
    """How many values a Keras average pooling averages (its pool; a global one, its whole input), else None."""
    name = type(keras_layer).__name__
    if name in ("AveragePooling1D", "AveragePooling2D"):
        return int(np.prod(keras_layer.pool_size))
    if name in ("GlobalAveragePooling1D", "GlobalAveragePooling2D"):
        return int(np.prod(keras_layer.input_shape[1:-1]))
    return None


def is_softmax_layer(keras_layer) -> bool:
    """Keras's Softmax layer (an Activation('softmax') is found by its function instead)."""
    return type(keras_layer).__name__ == "Softmax"


def is_batch_normalization(keras_layer) -> bool:
    """Keras's or QKeras's batch normalization (QKeras computes it in float)."""
    return type(keras_layer).__name__ in ("BatchNormalization", "QBatchNormalization")
