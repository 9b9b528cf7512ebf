"""Analytical, weight-aware resource and latency model of an hls4ml design, per layer (docs/estimation.md).

Every constant below is named, and docs/estimation.md says where it comes from: hls4ml's templates
(what is unrolled, what is pipelined), vendor documentation (DSP48E2 port widths, SRL FIFOs), or a
fit on the published synthesis results in shared/calibration (and how good that fit is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.fixed import exact_type_of, of_precision

from codesign.estimate.parts import Part

# Multiplications (vendor behaviour, fitted threshold): a multiplication by a constant whose significant
# bits (bit length without trailing zeros) exceed the backend's threshold, on data wider than DSP_MIN_DATA_BITS,
# goes to a DSP; narrower constants become shift-and-add logic; powers of two are wires; zeros vanish.
DSP_MIN_WEIGHT_BITS = {"Vitis": 8, "Vivado": 7}  # Vivado HLS 2020.1 used DSPs for narrower constants
DSP_MIN_DATA_BITS = 4
DSP_A_BITS, DSP_B_BITS = 27, 18  # DSP48E2 multiplier ports (UG579)
# Logic costs (fitted on the per-layer LUT/FF figures of the calibration rows).
LUT_PER_ADDER_BIT = 1.8  # per accumulator bit per product summed in the adder tree
LUT_PER_SHIFT_ADD_BIT = 0.1  # per data bit per significant weight bit, constant multiplied in logic
LUT_PER_GENERIC_MULT_BIT = 1.1  # per weight-bit x data-bit, a non-constant multiplier in logic
FF_PER_ADDER_BIT = {"io_parallel": 0.1, "io_stream": 0.4}  # pipeline registers per accumulator bit per product
FF_PER_HELD_INPUT_BIT = 0.2  # io_parallel convolutions hold their whole input in registers while they iterate
FF_PER_OUTPUT_BIT = 1.0  # io_parallel layers register their outputs
LUT_PER_ACTIVATION_BIT = 2.0
# Timing (fitted on csynth latencies): a multiply and a log2-deep adder tree, cut into clock periods.
MULT_NS, ADD_NS = 2.0, 0.35
SOFTMAX_CYCLES = 4
STREAM_STAGE_OVERHEAD = 2  # cycles a stream stage adds to one pixel's path
TOP_LEVEL_OVERHEAD = 2  # input/output registers of an io_parallel top function
# Memories: FIFOs deeper than SRL_MAX_DEPTH go to BRAM (shallower ones to SRLs, UG574).
SRL_MAX_DEPTH = 32
BRAM18_BITS = 18 * 1024
SOFTMAX_BRAM18 = 4  # exp and inverse tables, 1024 x 18 bits each (hls4ml defaults)


@dataclass
class Estimate:
    """One layer's (or the design's) resources and cycles."""

    name: str
    type: str
    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram_18k: int = 0
    uram: int = 0
    latency_cycles: int = 0
    ii: int = 1

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def significant_bits(q: np.ndarray) -> np.ndarray:
    """Bit length of |q| without its trailing zeros: the width of the constant a multiplier really needs."""
    q = np.abs(q.astype(np.int64))
    odd = q.copy()
    nonzero = odd > 0
    while True:
        even = nonzero & (odd % 2 == 0)
        if not even.any():
            break
        odd = np.where(even, odd // 2, odd)
    bits = np.zeros_like(q)
    bits[nonzero] = np.floor(np.log2(odd[nonzero])).astype(np.int64) + 1
    return bits


def quantized_weights(values: np.ndarray, precision) -> np.ndarray:
    """Weights as the integers the firmware multiplies by (value * 2^fraction bits, saturated); power-of-two and
    binary weights (no plain fixed-point type) as the integers of the narrowest type that holds them."""
    fixed = of_precision(precision) or exact_type_of(values)[0]
    return np.clip(np.round(values * 2.0**fixed.frac), fixed.low, fixed.high).astype(np.int64)


@dataclass(frozen=True)
class Settings:
    io_type: str
    clock_ns: float
    backend: str = "Vitis"


def multiplier_cost(weights: np.ndarray, data_bits: int, accum_bits: int, reuse: int, settings: Settings) -> dict:
    """DSP/LUT/FF of the multiplications and adder trees of one set of weights.

    Each nonzero weight is classified by its value (DSP, shift-and-add logic, or a wire). With a reuse factor
    above 1 each class shares ceil(n / RF) multipliers; the logic ones become generic multipliers as wide as
    the widest weight they serve. Real tools make every shared multiplier generic, so at RF > 1 a network of
    mostly small weights gets fewer DSPs here than it will (docs/estimation.md).
    """
    nonzero = weights[weights != 0]
    threshold = DSP_MIN_WEIGHT_BITS.get(settings.backend, DSP_MIN_WEIGHT_BITS["Vitis"])
    bits = significant_bits(nonzero)
    to_dsp = (bits > threshold) & (data_bits > DSP_MIN_DATA_BITS)
    dsp_each = math.ceil(data_bits / DSP_A_BITS) * np.ceil(bits[to_dsp] / DSP_B_BITS)
    constant_dsp = int(dsp_each.sum())
    if reuse == 1:
        dsp = constant_dsp
        lut = LUT_PER_SHIFT_ADD_BIT * data_bits * float(bits[~to_dsp & (bits > 1)].sum())
    else:  # shared multipliers: each class (DSP-worthy or not, by weight value) shares its own
        dsp = math.ceil(constant_dsp / reuse)
        in_logic = bits[~to_dsp & (bits > 1)]
        width = int(in_logic.max()) if len(in_logic) else 0
        lut = LUT_PER_GENERIC_MULT_BIT * math.ceil(len(in_logic) / reuse) * width * data_bits
    adders = math.ceil(len(nonzero) / reuse)
    lut += LUT_PER_ADDER_BIT * adders * accum_bits
    ff = FF_PER_ADDER_BIT[settings.io_type] * adders * accum_bits
    return {"dsp": dsp, "lut": int(lut), "ff": int(ff)}


def adder_tree_cycles(fan_in: int, clock_ns: float) -> int:
    """Cycles for a multiply followed by a log2(fan_in)-deep adder tree at this clock."""
    return max(1, math.ceil((MULT_NS + math.ceil(math.log2(max(fan_in, 2))) * ADD_NS) / clock_ns))


# --- per layer -----------------------------------------------------------------------------------

MAC_CLASSES = ("Dense", "Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D", "Conv2DBatchnorm", "PointwiseConv1D", "PointwiseConv2D")
FREE_CLASSES = ("Input", "InputLayer", "Reshape", "Flatten", "Dropout", "Transpose")


def _width(variable_or_type) -> int:
    precision = getattr(variable_or_type, "precision", variable_or_type)
    return int(getattr(precision, "width", 16))


def _pixels(layer, prefix: str) -> int:
    return int(layer.get_attr(f"{prefix}_height", 1) or 1) * int(layer.get_attr(f"{prefix}_width", 1) or 1)


def estimate_layer(layer, settings: Settings) -> Estimate:
    """Resources and cycles of one hls4ml layer, from its class, shapes, types, weights and settings."""
    kind = layer.class_name
    result = Estimate(layer.name, kind)
    if kind in FREE_CLASSES:
        return result
    stream = settings.io_type == "io_stream"
    out_var = layer.get_output_variable()
    out_bits = _width(out_var.type)
    data_bits = _width(layer.get_input_variable().type) if layer.inputs else out_bits
    reuse = int(layer.get_attr("reuse_factor", 1) or 1)
    if kind in MAC_CLASSES:
        _mac_layer(layer, result, settings, data_bits, reuse, stream)
    elif kind.startswith("Pooling") or kind.startswith("GlobalPooling"):
        pixels_in, channels = _pixels(layer, "in"), int(layer.get_attr("n_filt", layer.get_attr("n_chan", 1)) or 1)
        window = int(layer.get_attr("pool_height", 1) or 1) * int(layer.get_attr("pool_width", 1) or 1)
        lanes = channels if stream else out_var.size()
        result.lut = int(2.6 * lanes * data_bits * window / 4)
        result.ff = int(2.0 * lanes * data_bits * window / 4)
        result.latency_cycles = pixels_in + 3 if stream else 1
        result.ii = pixels_in if stream else 1
    elif "Softmax" in kind or layer.get_attr("activation", "") == "softmax":
        outputs = out_var.size()
        result.dsp, result.lut, result.ff = outputs, 300 * outputs, 80 * outputs
        result.bram_18k = SOFTMAX_BRAM18 * (1 if stream else 2)
        result.latency_cycles = SOFTMAX_CYCLES + (3 if stream else 0)
    elif kind == "BatchNormalization":
        outputs = out_var.size() if not stream else int(out_var.shape[-1])
        scale_bits = _width(layer.types["scale_t"]) if "scale_t" in layer.types else 0
        wide = data_bits > DSP_MIN_DATA_BITS and scale_bits > DSP_MIN_WEIGHT_BITS.get(settings.backend, 8)
        result.dsp = outputs if wide else 0
        result.lut = int(outputs * out_bits * (1 if wide else 4))
        result.ff = outputs * out_bits
        result.latency_cycles = 1 + (_pixels_of(out_var) + STREAM_STAGE_OVERHEAD if stream and _pixels_of(out_var) > 1 else 0)
    else:  # activations and everything element-wise
        lanes = int(out_var.shape[-1]) if stream else out_var.size()
        result.lut = int(LUT_PER_ACTIVATION_BIT * lanes * out_bits)
        result.ff = int(stream) * lanes
        pixels = _pixels_of(out_var)
        result.latency_cycles = pixels + STREAM_STAGE_OVERHEAD if stream and pixels > 1 else 0
        result.ii = pixels if stream else 1
        if layer.get_attr("activation", "") in ("sigmoid", "tanh", "elu", "selu", "softplus", "softsign"):
            result.bram_18k = 1  # one lookup table
    if stream:
        _add_output_fifos(result, out_var, out_bits)
    return result


def _pixels_of(variable) -> int:
    """Pixels of a channels-last tensor (1 for a vector)."""
    shape = list(variable.shape)
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def _mac_layer(layer, result: Estimate, settings: Settings, data_bits: int, reuse: int, stream: bool) -> None:
    """Dense and convolution layers: multipliers from the weights, cycles from pixels and reuse factor."""
    weight = layer.weights.get("weight")
    precision = weight.type.precision
    values = quantized_weights(np.asarray(weight.data, dtype=np.float64), precision)
    accum_bits = _width(layer.types["accum_t"]) if "accum_t" in layer.types else 2 * data_bits
    cost = multiplier_cost(values.reshape(-1), data_bits, accum_bits, reuse, settings)
    result.dsp, result.lut, result.ff = cost["dsp"], cost["lut"], cost["ff"]
    fan_in = int(values.size // max(1, int(layer.get_attr("n_filt", layer.get_attr("n_out", 1)) or 1)))
    if layer.class_name.startswith("Depthwise"):
        fan_in = int(layer.get_attr("filt_height", 1) or 1) * int(layer.get_attr("filt_width", 1) or 1)
    depth = adder_tree_cycles(fan_in, settings.clock_ns)
    if not stream:
        result.ff += int(FF_PER_OUTPUT_BIT * layer.get_output_variable().size() * _width(layer.get_output_variable().type))
    if layer.class_name == "Dense":
        result.latency_cycles = depth + (reuse - 1) + (STREAM_STAGE_OVERHEAD if stream else 0)
        result.ii = reuse
        return
    if stream:
        pixels = _pixels(layer, "in")
        result.latency_cycles = pixels * reuse + depth + STREAM_STAGE_OVERHEAD
        result.ii = pixels * reuse
        line_width = int(layer.get_attr("in_width", 1) or 1)
        rows = max(0, int(layer.get_attr("filt_height", 1) or 1) - 1) * int(layer.get_attr("n_chan", 1) or 1)
        if line_width > SRL_MAX_DEPTH:
            result.bram_18k += rows * math.ceil(line_width * data_bits / BRAM18_BITS)
        else:
            result.lut += rows * data_bits
    else:
        pixels = _pixels(layer, "out")
        result.latency_cycles = pixels * reuse + depth + 1
        result.ii = pixels * reuse
        result.ff += int(FF_PER_HELD_INPUT_BIT * layer.get_input_variable().size() * data_bits)


def _add_output_fifos(result: Estimate, variable, bits: int) -> None:
    """io_stream: one FIFO per channel of the layer's output, as deep as its pixel count (hls4ml's default)."""
    shape = list(variable.shape)
    channels = int(shape[-1]) if shape else 1
    depth = _pixels_of(variable)
    if depth > SRL_MAX_DEPTH:
        result.bram_18k += channels * math.ceil(depth * bits / BRAM18_BITS)
        result.ff += channels * 38
    else:
        result.lut += channels * (bits * math.ceil(depth / SRL_MAX_DEPTH) + 10)
        result.ff += channels * (bits // 2 + 6)


def estimate_design(graph, part: Part, clock_ns: float, io_type: str, backend: str = "Vitis") -> dict:
    """Per-layer and total resources, latency and II, utilization of the part, throughput at the clock."""
    settings = Settings(io_type, clock_ns, backend)
    layers = [estimate_layer(layer, settings) for layer in graph.get_layers()]
    costed = [layer for layer in layers if layer.latency_cycles or layer.lut or layer.dsp]
    if io_type == "io_stream":
        latency = max((layer.latency_cycles for layer in costed), default=0) + max(0, len(costed) - 1)
    else:
        weighted = sum(1 for layer in layers if layer.type in MAC_CLASSES)
        latency = sum(layer.latency_cycles for layer in layers) + TOP_LEVEL_OVERHEAD + weighted
    ii = max((layer.ii for layer in layers), default=1)
    total = {key: int(sum(getattr(layer, key) for layer in layers)) for key in ("dsp", "lut", "ff", "bram_18k", "uram")}
    total.update(
        latency_cycles=int(latency),
        ii=int(ii),
        latency_ns=round(latency * clock_ns, 3),
        throughput_per_s=round(1e9 / (ii * clock_ns), 1),
    )
    available = {"dsp": part.dsp, "lut": part.lut, "ff": part.ff, "bram_18k": part.bram_18k, "uram": part.uram}
    utilization = {key: (round(100.0 * total[key] / available[key], 2) if available[key] else None) for key in available}
    return {
        "source": "estimated",
        "part": {"name": part.base, "board": part.board, "available": available, "datasheet": part.source},
        "clock_ns": clock_ns,
        "io_type": io_type,
        "total": total,
        "utilization": utilization,
        "layers": [layer.as_dict() for layer in layers],
    }
