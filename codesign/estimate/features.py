"""What an hls4ml design is made of, per layer, before any fitted constant (docs/estimation.md).

Counts that follow from the design alone: which constant multiplications the vendor tool binds to DSPs (the
rule found in the per-layer DSP counts of the real-weight projects), how many bits of shift-and-add logic,
adders and registers the rest needs, activation tables, FIFOs and line buffers, and the shapes that set the
cycles. model.py turns them into LUT/FF/cycles with constants fitted by fit.py.
"""

from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass

import numpy as np

from codesign.errors import ModelError
from codesign.fixed import exact_type_of, of_precision
from codesign.layers import (ACTIVATION, BIDIRECTIONAL, DENSE, GLOBAL_POOLING1D, GLOBAL_POOLING2D, GRU, KINDS, LSTM, PARAMETRIZED_ACTIVATION, SOFTMAX,
                             TIME_DISTRIBUTED, implements, kind_named, kind_of, padded)
from codesign.parts import SEVEN_SERIES_BASE
from codesign.estimate.hgq import per_value
from codesign.estimate.instances import kernel_of_layer

# Vendor multiplier binding (evidence in docs/estimation.md): a multiplication by a constant whose canonical
# signed-digit form has at least DSP_MIN_CSD_DIGITS nonzero digits goes to a DSP, once per distinct (input,
# constant) pair; fewer digits become one shift-and-add or a wire; zeros vanish. Data narrower than
# DSP_MIN_DATA_BITS is multiplied in logic. Shared (non-constant) multipliers go to DSPs.
DSP_MIN_CSD_DIGITS = 3
DSP_MIN_DATA_BITS = 4
NARROW_PRODUCT_BITS = 8  # data and weight both this narrow or narrower: the product goes to LUTs (issue #21, pattern 2),
# except on Vitis HLS before 2023, which bound them by their digits (the ArgyKokk projects, Vitis HLS 2021.1)
DSP_PORT_BITS = {"7series": (25, 18), "ultrascale": (27, 18)}  # DSP48E1 (UG479), DSP48E2 (UG579) multiplier ports
ROM_BRAM_MIN_DEPTH = 2  # Resource-strategy weight memories this deep or deeper go to BRAM (the streamed Conv1D rows: RF 8-48 in BRAM)
RESOURCE_MUX_LUT_PER_BIT_INPUT = 1 / 3  # an N:1 multiplexer costs (N - 1) / 3 LUT6 per bit (a LUT6 is a 4:1 mux; a rule,
# checked on the Resource-strategy rows in docs/estimation.md, unfitted)
RESOURCE_MUX_MAX_CHOICES = 64  # the rows' reuse factors reach 64: beyond, the multiplexer is not extrapolated (the tools
# read wide inputs as memories; an hls4ml 0.x design at RF 13,824 reports 8,349 LUTs in all)
SRL_MAX_DEPTH = 32  # FIFOs deeper than this go to BRAM (shallower ones to SRLs, UG574)
BRAM18_BITS = 18 * 1024
TABLE_ACTIVATIONS = ("sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "hard_sigmoid")
# Activations whose output is the table's read itself (hls4ml's `res[i] = table[index]`): the block RAM's own output
# register holds it, not the fabric's (hls4ml's CI Dense+sigmoid: 1,689 FF on Vitis HLS 2024.1 against 3,865 with ELU,
# whose output is chosen between its input and the read)
READ_FROM_TABLE = ("sigmoid", "tanh", "softplus", "softsign")

LUT_FEATURES = ("shift_add", "generic_mult", "adder", "mux", "dsp_glue", "activation", "table", "pool_max", "pool_avg", "softmax", "softmax_max",
                "softmax_mult", "softmax_stream", "fifo", "line_buffer", "divider")
SOFTMAX_LUT = ("softmax", "softmax_max", "softmax_mult", "softmax_stream")  # priced on the reports' softmax instances alone (fit.fit_softmax_lut)
FF_FEATURES = ("shared", "shared_products", "output", "top_input", "stream_vitis", "stream_vivado",
               "window", "table", "softmax", "pool", "divider")


def csd_digits(values: np.ndarray) -> np.ndarray:
    """Nonzero digits of each integer in canonical signed-digit form: the adders a constant multiplication needs, plus one."""
    remaining = np.abs(np.asarray(values, dtype=np.int64))
    digits = np.zeros_like(remaining)
    while (remaining != 0).any():
        digit = np.where(remaining % 2 == 1, 2 - (remaining % 4), 0)  # +1 or -1 where odd
        digits += digit != 0
        remaining = (remaining - digit) // 2
    return digits


def constant_bits(value: int) -> int:
    """Bits of |value| without its trailing zeros (a shift is free)."""
    value = abs(int(value))
    return (value // (value & -value)).bit_length() if value else 0


def quantized_weights(values: np.ndarray, precision, layer: str = "?") -> np.ndarray:
    """Weights as the integers the firmware multiplies by (value * 2^fraction bits, saturated); power-of-two and
    binary weights (no plain fixed-point type) as the integers of the narrowest type that holds them. A weight that
    is not a number (a diverged training; hls4ml writes it as `nan`, which no C++ compiler takes) is refused."""
    bad = int(np.size(values) - np.isfinite(values).sum())
    if bad:
        raise ModelError(f"layer '{layer}': {bad} of its {np.size(values)} weights are not numbers (NaN or infinite): no firmware "
                         "computes with them (hls4ml writes them as `nan`, which does not compile); retrain or fix the model")
    fixed = of_precision(precision) or exact_type_of(values)[0]
    return np.clip(np.round(values * 2.0**fixed.frac), fixed.low, fixed.high).astype(np.int64)


def width(variable_or_type) -> int:
    precision = getattr(variable_or_type, "precision", variable_or_type)
    return int(getattr(precision, "width", 16))


def weight_width(weight) -> int:
    """A kernel's weight width; power-of-two weights (QKeras's quantized_po2: hls4ml's exponent type) as the narrowest
    fixed type that holds their values, as the firmware reader types them (their products are shifts either way)."""
    from hls4ml.model.types import ExponentPrecisionType

    if isinstance(weight.type.precision, ExponentPrecisionType):
        return exact_type_of(np.asarray(weight.data, dtype=np.float64))[0].width
    return width(weight.type)


# What a Latency-strategy kernel whose accum_t saturates costs per nonzero product and accumulator bit, in place of its
# adder tree, multiplier logic and pipeline registers: each product is cast to accum_t (rounded, saturated) and added
# in order with a saturating add. Read from N-TORC's four Conv1D Latency layers (Vivado HLS 2019.1, 16-bit
# ap_fixed<16,8,AP_RND,AP_SAT>, the medians: 227 LUT and 41 FF a product); its four Dense Latency layers, not used
# for it, come out at 0.88-1.13x the LUT and 1.3-3.3x under the FF (docs/estimation.md). No precision sweep exists:
# linear in the accumulator's bits is an assumption. A Resource kernel pays the LUT once per shared multiplier
# (N-TORC's Resource layers, none used for it: LUT median 3.9x and 7.7x under -> 1.27x and 1.20x).
SATURATING_LUT_PER_PRODUCT_BIT = 14.17
SATURATING_FF_PER_PRODUCT_BIT = 2.555


def saturates(variable_or_type) -> bool:
    """Whether a type saturates on overflow (AP_SAT, AP_SAT_ZERO, AP_SAT_SYM): a sum into it depends on the order of
    its additions, so the tools keep hls4ml's order."""
    precision = getattr(variable_or_type, "precision", variable_or_type)
    return str(getattr(precision, "saturation_mode", "") or "").upper().startswith("SAT")


OLD_VITIS = "Vitis HLS 2020-2022"


def scheduler_of(tool: str | None, backend: str) -> str:
    """The HLS compiler that schedules a design: the one its report names, else the one hls4ml's backend writes its
    script for (the Vivado backends: vivado_hls)."""
    if tool:
        return "Vivado HLS" if tool.startswith("Vivado") else "Vitis HLS"
    return "Vivado HLS" if backend.startswith("Vivado") else "Vitis HLS"


def tool_era(tool: str | None, backend: str) -> str:
    """The compiler and, for Vitis HLS, its era: Vitis HLS 2020-2022 binds and schedules otherwise than from 2023
    (ArgyKokk's Vitis HLS 2021.1 builds against the 2024.1 rows); a tool not named is taken as current."""
    scheduler = scheduler_of(tool, backend)
    found = re.search(r"Vitis HLS (\d{4})", tool or "")
    if scheduler == "Vivado HLS":
        return scheduler
    return OLD_VITIS if found and int(found.group(1)) < 2023 else "Vitis HLS 2023 or later"


def narrow_products_in_logic(tool: str | None) -> bool:
    """Whether the tool binds narrow products to LUTs: Vivado HLS (2019-2020 reports: the PYNQ MLP's 7-bit layers)
    and Vitis HLS from 2023 (the HGQ MLPs); not Vitis HLS 2020-2022."""
    return tool_era(tool, "Vitis") != OLD_VITIS


def family_of(part_base: str) -> str:
    """7-series parts (xc7..., automotive xa7..., defense xq7...) have DSP48E1 and slower fabric; UltraScale(+) the rest."""
    return "7series" if SEVEN_SERIES_BASE.match(part_base) else "ultrascale"


def _pixels(shape) -> int:
    """Pixels of a channels-last tensor (1 for a vector)."""
    shape = list(shape)
    return int(np.prod(shape[:-1])) if len(shape) > 1 else 1


def _empty(layer) -> dict:
    return {
        "name": layer.name,
        "type": layer.class_name,
        "index": int(layer.index),
        "kernel": kernel_of_layer(layer),  # what its function in the report is named after (instances.py)
        "kind": "free",
        "dsp": 0,
        "bram_18k": 0,
        "lut": dict.fromkeys(LUT_FEATURES, 0.0),
        "ff": dict.fromkeys(FF_FEATURES, 0.0),
        "shape": {},
    }


def _is_identity(layer) -> bool:
    """A LeakyReLU/ELU-like activation whose parameter makes it x -> x (alpha 1 leaky): the tools remove its logic and
    its cycles; streamed, its dataflow process keeps its stream's register (hls4ml's CI, Dense(64) and such a LeakyReLU
    on Vitis HLS 2024.1: 2,064 FF, as with a ReLU)."""
    return kind_of(layer) is PARAMETRIZED_ACTIVATION and str(layer.get_attr("activation", "")).lower() == "leakyrelu" \
        and float(layer.get_attr("activ_param", 0.0) or 0.0) == 1.0


@dataclass(frozen=True)
class Site:
    """Where a layer sits: its operand widths, its parallel lanes, the part's family and the build's choices."""

    data_bits: int
    out_bits: int
    lanes: int
    family: str
    multipliers: str
    stream: bool
    narrow_in_logic: bool = True
    scheduler: str = "Vitis HLS"
    in_value_bits: np.ndarray | None = None  # HGQ: each input value's own width (0: pruned), where the design states them
    out_value_bits: np.ndarray | None = None  # the same for its output values


def layer_features(layer, io_type: str, family: str, multipliers: str = "auto", backend: str = "Vitis", tool: str | None = None) -> dict:
    """The constant-free description of one hls4ml layer (see module docstring), by its kind's `estimate` function
    (codesign/layers.py); a layer outside the table is priced as element-wise logic."""
    found = _empty(layer)
    kind = kind_of(layer)
    describe = kind.handler("estimate") if kind is not None else _element_wise
    if describe is _free:
        return found
    stream = io_type == "io_stream"
    out_var = layer.get_output_variable()
    out_bits = width(out_var.type)
    in_var = layer.get_input_variable() if layer.inputs else None
    data_bits = width(in_var.type) if in_var is not None else out_bits
    lanes = int(out_var.shape[-1]) if stream else out_var.size()
    pixels = _pixels(out_var.shape)
    found["shape"] = {"pixels_out": pixels, "pixels_in": _pixels(in_var.shape) if in_var is not None else pixels, "stream": stream,
                      "pixel_bits": int(out_var.shape[-1]) * out_bits if out_var.shape else out_bits, "beats_in": _beats(in_var) if stream else 1}
    if kind is None:  # an hls4ml layer outside codesign's table: said so (model.territory_gaps)
        found["shape"]["no_rule"] = True
    if _is_identity(layer):
        found["kind"] = "free"
        if stream:
            found["ff"]["stream_vivado" if backend == "Vivado" else "stream_vitis"] += lanes * out_bits
        return found
    out_value_bits = value_bits_of(layer, out_var)
    in_value_bits = value_bits_of(layer.get_input_node(), in_var) if in_var is not None else None
    describe(layer, found, Site(data_bits, out_bits, lanes, family, multipliers, stream, narrow_products_in_logic(tool), scheduler_of(tool, backend),
                                in_value_bits, out_value_bits))
    if stream:
        if not _is_model_output(layer, out_var):  # the model's output stream is the top function's port, not a FIFO
            _stream_fifos(found, out_var, out_bits)
        found["ff"]["stream_vivado" if backend == "Vivado" else "stream_vitis"] += lanes * out_bits
    elif not found["shape"].get("read_from_table"):  # the top function's registers between layer calls (model.call_register_bits)
        found["ff"]["output"] = out_var.size() * out_bits if out_value_bits is None else int(out_value_bits.sum())
    if "ff_streamed" in found:  # none of the shared registers' terms: its own carry all of it
        found["ff"] = dict.fromkeys(FF_FEATURES, 0.0)
    return found


def value_bits_of(layer, variable) -> np.ndarray | None:
    """The width of each value of a layer's output an HGQ quantizer after it set (hgq.py, firmware.py), or None."""
    if layer is None or variable is None:
        return None
    return per_value(layer.get_attr("value_bits"), tuple(variable.shape))


def live_lanes(site: Site) -> int:
    """Lanes whose values an HGQ quantizer keeps (the tools remove the logic of a value pruned to 0 bits): all of them
    where the design states no per-value widths."""
    live = np.ones(site.lanes, dtype=bool)
    for bits in (site.in_value_bits, site.out_value_bits):
        if bits is not None and bits.size == site.lanes:
            live &= bits > 0
    return int(live.sum())


@implements("estimate", *(kind for kind in KINDS if kind.role in ("input", "reshape")))
def _free(layer, found: dict, site: Site) -> None:
    """Wiring only: no logic, no registers."""


@implements("estimate", *(kind for kind in KINDS if kind.role == "pooling"))
def _pooling(layer, found: dict, site: Site) -> None:
    """A comparator (max) or adder (average) tree over the window, per lane."""
    window = int(layer.get_attr("pool_height", 1) or 1) * int(layer.get_attr("pool_width", 1) or 1)
    if kind_of(layer) in (GLOBAL_POOLING1D, GLOBAL_POOLING2D):
        window = found["shape"]["pixels_in"]
    is_max = "max" in str(layer.get_attr("pool_op", "Max")).lower()
    found["kind"] = "pooling"
    compared_bits = site.lanes * site.data_bits * window
    found["ff"]["pool"] = site.lanes * site.data_bits * (window if site.stream else 1)
    found["shape"]["window"] = window
    if site.stream and kind_of(layer) not in (GLOBAL_POOLING1D, GLOBAL_POOLING2D):  # its window's line buffer: own terms (model.STREAMED_FF)
        found["ff_streamed"] = {"streamed_pool_window": found["ff"]["pool"], "streamed_pool_call": 1.0}
        # and its logic (model.STREAMED_LUT): the compare tree, each channel's line buffer and window control, the loop's
        found["lut_streamed"] = {"streamed_pool_bits": compared_bits, "streamed_pool_lanes": float(site.lanes), "streamed_pool_lut_call": 1.0}
    else:
        found["lut"]["pool_max" if is_max else "pool_avg"] = compared_bits
    if divides_at_run_time(layer, is_max, site):  # each a restoring divider: a subtract-and-select cell per dividend bit and stage
        found["shape"]["dividers"] = site.lanes
        found["lut"]["divider"] = found["ff"]["divider"] = site.lanes * site.data_bits**2


def divides_at_run_time(layer, is_max: bool, site: Site) -> bool:
    """Whether Vivado HLS builds a divider per output of an io_parallel average pooling: hls4ml's `pooling*_cl` divides
    each sum by the count of unpadded values it took (`y /= length`, a run-time unsigned); where the layer pads, Vivado
    HLS 2020.1 does not fold that count into a constant (hls4ml's CI: AveragePooling1D/2D 'same' take 21 cycles and
    137,178-181,032 FF, 'valid' and max pooling 0 cycles and 5,810-12,962; Vitis HLS 2024.1 folds both)."""
    pads = padded(layer.attributes)
    is_global = kind_of(layer) in (GLOBAL_POOLING1D, GLOBAL_POOLING2D)
    counts_padding = bool(layer.get_attr("count_pad", False))
    return not (is_max or is_global or counts_padding or site.stream) and pads and site.scheduler == "Vivado HLS"


def _table_size(layer) -> int:
    """The entries of a layer's lookup tables (hls4ml's default 1,024 where the config sets none)."""
    return int(layer.get_attr("table_size", 1024) or 1024)


def _type_bits(layer, name: str) -> int:
    """The width of one of a layer's table types (hls4ml's default ap_fixed<18,...> where the layer has none)."""
    return width(layer.types[name]) if name in layer.types else 18


def _softmax_table_entries(layer) -> int:
    """The entries of the larger of a softmax's two tables where hls4ml fills them from ap_fixed bit slices
    (`softmax_real_val_from_idx`: its latency and stable implementations), else 0 (legacy: computed from floats).
    The stable one's exponential table is at most 2^(input bits less the sign) long, as hls4ml's config template says."""
    implementation = str(layer.get_attr("implementation", "stable") or "stable").lower()
    if implementation not in ("latency", "stable"):
        return 0
    size = _table_size(layer)
    inverse = int(layer.get_attr("inv_table_size", size) or size)
    exponential = int(layer.get_attr("exp_table_size", size) or size)
    if implementation == "stable":
        precision = layer.get_input_variable().type.precision
        exponential = min(exponential, 2 ** (precision.width - int(precision.signed)))
    return max(inverse, exponential)


@implements("estimate", SOFTMAX)
def _softmax(layer, found: dict, site: Site) -> None:
    """hls4ml's softmax: an exponential table and an inversion table, one multiplier per lane; its `argmax`
    implementation a chain of comparisons and the index they select (priced as element-wise logic: no vendor report of it
    is in the calibration)."""
    if str(layer.get_attr("implementation", "") or "").lower() == "argmax":
        found["kind"] = "activation"
        found["lut"]["activation"] = 2 * site.lanes * site.data_bits
        return
    found["kind"] = "softmax"
    found["shape"]["table_size"] = _table_size(layer)
    found["shape"]["tables_from_bits"] = _softmax_table_entries(layer)
    found["dsp"] = site.lanes if site.multipliers != "fabric" else 0
    found["bram_18k"] = site.lanes
    found["lut"]["softmax"] = site.lanes * site.out_bits
    if str(layer.get_attr("implementation", "stable") or "stable").lower() == "stable":  # softmax_stable: the inputs' max
        found["lut"]["softmax_max"] = site.lanes * site.data_bits  # (a compare-and-select tree) and each input less it
    if site.multipliers == "fabric":  # each lane's exponential times the inverted sum, in logic
        found["lut"]["softmax_mult"] = site.lanes * _type_bits(layer, "exp_table_t") * _type_bits(layer, "inv_table_t")
    if site.stream:  # the streamed kernel's pack loop around the same logic (Vivado HLS 2019.2, one model both ways: 2.3-2.7x)
        found["lut"]["softmax_stream"] = site.lanes * site.out_bits
    found["ff"]["softmax"] = site.lanes * site.out_bits


@implements("estimate", *(kind for kind in KINDS if kind.role in ("activation", "padding", "resize", "merge")))
def _element_wise(layer, found: dict, site: Site) -> None:
    """Activations and everything element-wise (merges included); tables for the functions hls4ml tabulates."""
    activation = str(layer.get_attr("activation", "") or "").lower()
    if activation == "softmax":
        _softmax(layer, found, site)
        return
    found["kind"] = "table_activation" if activation in TABLE_ACTIVATIONS else "activation"
    found["lut"]["activation"] = live_lanes(site) * site.data_bits * max(1, len(layer.inputs))
    if found["kind"] == "table_activation":
        table_bits = _type_bits(layer, "table_t")
        found["shape"]["table_size"] = _table_size(layer)
        per_table = math.ceil(found["shape"]["table_size"] * table_bits / BRAM18_BITS)
        found["bram_18k"] = math.ceil(site.lanes / 2) * per_table  # one dual-port table read per two lanes
        found["lut"]["table"] = site.lanes * site.out_bits
        found["ff"]["table"] = site.lanes * (site.out_bits + site.data_bits)
        found["shape"]["read_from_table"] = activation in READ_FROM_TABLE


@dataclass(frozen=True)
class WeightFacts:
    """What a kernel's constants say about its multiplications, whatever the reuse factor and strategy: computed once
    per kernel (csd_digits over 2 M weights takes a fifth of a second), so a what-if only counts (codesign/estimate/whatif.py)."""

    inputs: int  # rows of the (inputs, outputs) matrix
    outputs: int
    products: int
    nonzero: int
    distinct: int  # DSP-worthy (input, constant) pairs
    distinct_dsp: int  # the DSPs they take
    fan_in: int
    logic_bits: float  # shift-and-add digits of the products left in logic (DSPs allowed) times their operands' bits
    logic_bits_fabric: float  # the same with every product in logic
    adds: int  # each output's products less one: the adds of its tree (an output without products has none)
    logic_max_digits: int  # the most CSD digits of a product left in logic (1: a shift, a wire; 2: one add)
    max_digits: int  # the same with every product in logic


_WEIGHT_FACTS: dict[tuple, tuple] = {}  # (id of the weights, what else the facts depend on) -> (weakref to them, facts)


def weight_facts(layer, data_bits: int, narrow: bool, family: str, input_bits: np.ndarray | None = None, narrow_in_logic: bool = True) -> WeightFacts:
    """The WeightFacts of a weighted layer's kernel, cached while its weight array lives. `input_bits`: each input's
    own width (HGQ), where the design states them; its narrow products then go to logic one by one where the tool
    binds narrow products to logic (`narrow_in_logic`), in place of the whole layer's `narrow`."""
    data = layer.weights["weight"].data
    key = (id(data), str(layer.weights["weight"].type.precision), int(layer.get_attr(kind_of(layer).outputs_attribute, 0) or 0),
           layer.get_attr("_weights_transposed", False) is True, data_bits, narrow, family, None if input_bits is None else input_bits.tobytes(), narrow_in_logic)
    found = _WEIGHT_FACTS.get(key)
    if found is not None and found[0]() is data:
        return found[1]
    facts = _weight_facts(layer, data_bits, narrow, family, input_bits, narrow_in_logic)
    if len(_WEIGHT_FACTS) > 4096:
        _WEIGHT_FACTS.clear()
    _WEIGHT_FACTS[key] = (weakref.ref(data), facts)
    return facts


def _weight_facts(layer, data_bits: int, narrow: bool, family: str, input_bits: np.ndarray | None, narrow_in_logic: bool) -> WeightFacts:
    weight = layer.weights["weight"]
    quantized = quantized_weights(np.asarray(weight.data, dtype=np.float64), weight.type.precision, layer.name)
    kind = kind_of(layer)
    outputs = int(layer.get_attr(kind.outputs_attribute, 0) or 0)
    if kind.name.startswith("Depthwise"):  # each channel has its own inputs: no (input, constant) pair repeats
        matrix = quantized.reshape(-1, 1)
    elif layer.get_attr("_weights_transposed", False) is True and outputs and quantized.size % outputs == 0:
        matrix = quantized.reshape(outputs, -1).T  # hls4ml's Resource strategy stored them outputs first (its flag)
    elif not outputs or quantized.size % outputs or quantized.shape[-1] == outputs:
        outputs = int(quantized.shape[-1]) if quantized.ndim > 1 else 1
        matrix = quantized.reshape(-1, outputs)
    else:  # the Resource strategy stores the weights transposed (outputs first)
        matrix = quantized.reshape(outputs, -1).T
    nonzero = matrix != 0
    digits = csd_digits(matrix)
    if input_bits is not None and input_bits.size == matrix.shape[0]:
        # HGQ: a pruned input's products vanish; each product's operands are its input's width and its constant's own bits
        # (HGQ's weight type bounds per-weight widths too), and narrow ones go to logic one by one
        row_bits = input_bits.astype(np.int64)
        column = row_bits.reshape(-1, 1)
        weight_bits = significant_bits(matrix)
        nonzero &= column > 0
        in_logic = narrow_in_logic & (column <= NARROW_PRODUCT_BITS) & (weight_bits <= NARROW_PRODUCT_BITS)
        dsp_worthy = nonzero & (digits >= DSP_MIN_CSD_DIGITS) & (column >= DSP_MIN_DATA_BITS) & ~in_logic
        operand_bits = column + weight_bits
    else:
        row_bits = np.full(matrix.shape[0], data_bits)
        dsp_worthy = (digits >= DSP_MIN_CSD_DIGITS) & (data_bits >= DSP_MIN_DATA_BITS) & (not narrow)
        operand_bits = data_bits + width(weight.type)
    a_port, _ = DSP_PORT_BITS[family]
    rows, columns = np.nonzero(dsp_worthy)
    pairs = np.unique(np.stack([rows, matrix[rows, columns]], axis=1), axis=0) if rows.size else np.zeros((0, 2), dtype=np.int64)
    # one DSP per A-port width of the wider operand; a constant counts only its significant bits and a sign
    distinct_dsp = sum(math.ceil(max(int(row_bits[row]), constant_bits(value) + 1) / a_port) for row, value in pairs)
    shift_add = np.maximum(digits - 1, 0)
    in_logic_digits = np.where(nonzero & ~dsp_worthy, shift_add, 0)
    all_digits = np.where(nonzero, shift_add, 0)
    return WeightFacts(
        inputs=int(matrix.shape[0]), outputs=outputs, products=int(matrix.size), nonzero=int(nonzero.sum()), distinct=int(len(pairs)),
        distinct_dsp=int(distinct_dsp), fan_in=max(1, int(np.max(nonzero.sum(axis=0))) if nonzero.any() else 1),
        logic_bits=float((in_logic_digits * operand_bits).sum()), logic_bits_fabric=float((all_digits * operand_bits).sum()),
        adds=int(np.maximum(nonzero.sum(axis=0) - 1, 0).sum()),
        logic_max_digits=int(np.where(nonzero & ~dsp_worthy, digits, 0).max(initial=0)), max_digits=int(np.where(nonzero, digits, 0).max(initial=0)),
    )


def significant_bits(values: np.ndarray) -> np.ndarray:
    """constant_bits of each constant, plus its sign: the width a multiplication by it takes."""
    magnitude = np.abs(np.asarray(values, dtype=np.int64))
    odd = np.where(magnitude > 0, magnitude // (magnitude & -magnitude).clip(min=1), 0)
    return np.where(odd > 0, np.floor(np.log2(odd.clip(min=1))).astype(np.int64) + 2, 0)


@implements("estimate", *(kind for kind in KINDS if kind.role == "weighted"))
def _mac(layer, found: dict, site: Site) -> None:
    """Dense and convolution kernels: DSP-bound multiplications by the CSD rule, the rest as logic."""
    data_bits, family, multipliers, stream = site.data_bits, site.family, site.multipliers, site.stream
    kind = kind_of(layer)
    found["kind"] = "conv" if kind.convolution else "dense"
    if str(layer.get_attr("strategy", "") or "").lower() == "distributed_arithmetic":
        _distributed_arithmetic(layer, found)
        return
    weight_bits = weight_width(layer.weights["weight"])
    depthwise = kind.name.startswith("Depthwise")
    reuse = int(layer.get_attr("reuse_factor", 1) or 1)
    strategy = str(layer.get_attr("strategy", "latency") or "latency").lower()
    accum_bits = width(layer.types["accum_t"]) if "accum_t" in layer.types else 2 * data_bits
    accum_saturates = saturates(layer.types.get("accum_t"))
    narrow = site.narrow_in_logic and data_bits <= NARROW_PRODUCT_BITS and weight_bits <= NARROW_PRODUCT_BITS
    if narrow:  # an 8x8 product is cheaper in LUTs than a DSP's routing: the tools bind it to logic
        multipliers = "fabric"
    per_input = site.in_value_bits if site.in_value_bits is not None and not kind.convolution else None  # HGQ's, on a Dense's inputs
    if per_input is not None:
        narrow = False  # decided product by product
    facts = weight_facts(layer, data_bits, narrow, family, per_input, site.narrow_in_logic)
    outputs = facts.outputs
    per_dsp = dsps_per_product(data_bits, weight_bits, family)
    zeros = facts.products - facts.nonzero
    if strategy == "resource" and reuse > 1:
        shared = math.ceil(facts.products / reuse)  # hls4ml's block factor: weights from memory, generic multipliers
        found["bram_18k"] += weight_memory_bram18(shared * weight_bits, reuse)
    else:
        limit = math.ceil(facts.products / reuse) - zeros // reuse  # hls4ml's multiplier_limit (ALLOCATION pragma)
        shared = limit if limit < facts.distinct else 0
    lut = found["lut"]
    if shared:
        found["dsp"] = 0 if multipliers == "fabric" else shared * per_dsp
        if multipliers == "fabric":
            lut["generic_mult"] = shared * data_bits * weight_bits
        found["ff"]["shared"] = shared * (data_bits + weight_bits + accum_bits)
        if strategy == "resource":  # weights from memory: each multiplier's input chosen among min(RF, inputs) per pass
            choices = min(reuse, facts.inputs, RESOURCE_MUX_MAX_CHOICES)
            found["rule_lut"] = float(shared * data_bits * max(choices - 1, 0)) * RESOURCE_MUX_LUT_PER_BIT_INPUT
            if accum_saturates:  # each multiplier's product cast and added with saturation
                found["rule_lut"] += shared * accum_bits * SATURATING_LUT_PER_PRODUCT_BIT
        else:  # the Latency strategy multiplexes every product's input and constant onto the shared multipliers
            lut["mux"] = facts.nonzero * (data_bits + weight_bits)
            found["ff"]["shared_products"] = facts.nonzero * accum_bits
        adders = shared
    else:
        found["dsp"] = facts.distinct_dsp if multipliers != "fabric" else 0
        lut["shift_add"] = facts.logic_bits if multipliers != "fabric" else facts.logic_bits_fabric
        adders = facts.adds + outputs
    lut["dsp_glue"] = found["dsp"]
    adder_bits = max(0, adders - outputs) * accum_bits
    lut["adder"] = adder_bits
    found["shape"].update(
        fan_in=facts.fan_in,
        products=facts.products,
        reuse=reuse,
        strategy=strategy,
        accum_saturates=accum_saturates,
        serial=math.ceil(facts.distinct / shared) if shared else 1,
        line_buffer=0,
        logic_max_digits=DSP_MIN_CSD_DIGITS if shared else facts.logic_max_digits if multipliers != "fabric" else facts.max_digits,  # shared: generic multipliers
    )
    factor = parallel_pixels(layer, stream)
    at_once = factor if strategy == "resource" else 1  # conv_2d_resource_cl: that many pixels at once, each with its own multipliers
    if at_once > 1:
        found["dsp"] *= at_once
        for key in lut:
            lut[key] *= at_once
        if "rule_lut" in found:
            found["rule_lut"] *= at_once
        found["ff"]["shared"] *= at_once
    found["shape"].update(parallel_pixels=factor, pixels_at_once=at_once)
    if stream and (strategy == "resource" and reuse > 1 or site.scheduler == "Vivado HLS" and not (accum_saturates or depthwise)):
        # priced by its own terms, fitted per layer (model.STREAMED_FF): the wrapper's partitioned input array, the
        # accumulators or the adder tree's registered sums (none where each output is one DSP's product), the call
        summed = strategy == "resource" or facts.fan_in > 1
        found["ff_streamed"] = {"streamed_input": facts.inputs * data_bits * (outputs if depthwise else 1), "streamed_shared": found["ff"]["shared"],
                                "streamed_output": site.lanes * site.out_bits * summed, "streamed_call": 1.0}
    if not stream and strategy == "resource" and reuse > 1:  # dense_resource's registers, counted (docs/estimation.md): its
        found["rule_ff"] = outputs * at_once * accum_bits + found["ff"]["shared"]  # accumulators, its shared multipliers' operands and products
        found["ff"]["shared"] = 0.0
    if stream and found["kind"] == "conv":
        found["ff"]["window"] = facts.inputs * data_bits * (outputs if depthwise else 1)  # the kernel's window of inputs
        line_width = int(layer.get_attr("in_width", 1) or 1)
        rows = max(0, int(layer.get_attr("filt_height", 1) or 1) - 1) * int(layer.get_attr("n_chan", 1) or 1)
        if line_width > SRL_MAX_DEPTH:
            found["bram_18k"] += rows * math.ceil(line_width * data_bits / BRAM18_BITS)
        else:
            lut["line_buffer"] = rows * data_bits * math.ceil(line_width / SRL_MAX_DEPTH)
    if strategy == "latency" and accum_saturates:  # summed in a chain (model.SATURATING_ADD_NS): its own logic
        product_bits = facts.nonzero * accum_bits
        found["lut"] = dict.fromkeys(lut, 0.0)
        found["ff"] = dict.fromkeys(FF_FEATURES, 0.0)
        found["rule_lut"], found["rule_ff"] = product_bits * SATURATING_LUT_PER_PRODUCT_BIT, product_bits * SATURATING_FF_PER_PRODUCT_BIT


def dsps_per_product(a_bits: int, b_bits: int, family: str) -> int:
    """The DSPs one generic product of these widths takes: its operands split over the multiplier's two ports."""
    return math.ceil(a_bits / DSP_PORT_BITS[family][0]) * math.ceil(b_bits / DSP_PORT_BITS[family][1])


def parallel_pixels(layer, stream: bool) -> int:
    """Output pixels an io_parallel convolution computes at once (hls4ml's ParallelizationFactor, as its n_partitions
    says; 1 elsewhere). The Resource kernel (conv_2d_resource_cl) unrolls its pixel loop over them, one weight read for
    all: counted. The Latency kernel keeps one pixel's multiplier allocation (its ALLOCATION pragma): what the tools do
    with more pixels is not counted, and the estimate says so (model.territory_gaps)."""
    if stream or not kind_of(layer).convolution:
        return 1
    # (a 1x1 convolution hls4ml made pointwise keeps the factor asked for, its partitions the valid one)
    pixels = pixels_per_partition(layer.get_attr("out_height", 1), layer.get_attr("out_width", 1), layer.get_attr("n_partitions"))
    return pixels or max(1, int(layer.get_attr("parallelization_factor", 1) or 1))


def pixels_per_partition(out_height, out_width, partitions) -> int | None:
    """hls4ml's n_pixels of an io_parallel convolution: its output pixels over its n_partitions (None without them:
    hls4ml before 0.7 writes none)."""
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 1:
        return None
    return max(1, (int(out_height or 1) * int(out_width or 1)) // partitions)


def _distributed_arithmetic(layer, found: dict) -> None:
    """hls4ml's distributed_arithmetic strategy: da4ml's adder graph, no multiplier; its LUTs are da4ml's own cost
    (adder bits, one LUT each on a carry chain), compared with yosys in docs/estimation.md, not a fitted price."""
    found["rule_lut"] = float(layer.get_attr("da_kernel_cost", 0.0) or 0.0)
    conv = found["kind"] == "conv"
    fan_in = int(layer.get_attr("n_in", 1) or 1)
    if conv:
        fan_in = int(layer.get_attr("filt_height", 1) or 1) * int(layer.get_attr("filt_width", 1) or 1) * int(layer.get_attr("n_chan", 1) or 1)
    found["shape"].update(fan_in=fan_in, reuse=1, strategy="distributed_arithmetic", serial=1, line_buffer=0)


def weight_memory_bram18(word_bits: int, depth: int) -> int:
    """BRAM18 blocks for a weight memory of `depth` words of `word_bits` (hls4ml's Resource strategy reshapes the
    weights into RF-deep words of block-factor weights). Vivado HLS 2019.2 put even 8-deep ones in BRAM (the
    streamed Conv1D projects: 284-881 BRAM18 at RF 8-48, docs/estimation.md); a reuse factor of 1 has no memory."""
    if depth < ROM_BRAM_MIN_DEPTH:
        return 0
    for max_depth, port_bits in ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)):
        if depth <= max_depth:
            return math.ceil(word_bits / port_bits)
    return math.ceil(word_bits / 1) * math.ceil(depth / 16384)


class _Call:
    """A call a recurrent layer's template makes at each time step (hls4ml's nnet_recurrent.h: two `nnet::dense`, the
    gates' sigmoid and the tanh tables), seen as the hls4ml layer that call would be alone, so that its kind's
    estimate function counts it as it counts that layer."""

    def __init__(self, name: str, attributes: dict, weights: dict | None = None, types: dict | None = None):
        self.name, self.class_name, self.index, self.inputs = name, type(self).__name__, 0, [name]
        self.attributes, self.weights, self.types = attributes, weights or {}, types or {}

    def get_attr(self, key: str, default=None):
        return self.attributes.get(key, default)


DENSE_CALL = type(DENSE.name, (_Call,), {})  # named as the hls4ml class whose kind prices it (kind_of reads class names)
TABLE_CALL = type(ACTIVATION.name, (_Call,), {})
GATES = {LSTM: 4, GRU: 3}  # kernel outputs per unit: LSTM's input, forget, cell and output gates; GRU's update, reset, candidate


@implements("estimate", *(kind for kind in KINDS if kind.role == "recurrent"))
def _recurrent(layer, found: dict, site: Site) -> None:
    """An LSTM or GRU as hls4ml's template builds it: one time step's hardware, used `n_timesteps` times in turn (the
    state feeds back). Each step calls nnet::dense on the input (n_in x gates*units, its ReuseFactor) and on the state
    (units x gates*units, its RecurrentReuseFactor), the recurrent activation's table on the gates (LSTM 3 units, GRU
    2), the activation's on the candidate (and LSTM's on the cell state), and multiplies element-wise (3 products a
    unit; N-TORC's LSTM DSPs: 4u*n_in/RF + 4u*u/RF + 3u on 183 of 183 configurations). Each call is counted by its
    own kind's rule (`parts`, priced by model.price_layer); the state's registers are counted bit for bit. A
    Bidirectional layer's two directions (bidirectional_stack) run their steps side by side: both halves counted."""
    strategy = str(layer.get_attr("strategy", "latency") or "latency").lower()
    accum = layer.types.get("accum_t", layer.types.get("result_t"))
    accum_bits = width(accum) if accum is not None else 2 * site.data_bits
    if kind_of(layer) is BIDIRECTIONAL:
        halves = [(f"{direction}_", kind_named(str(layer.get_attr(f"{direction}_class_name"))), int(layer.get_attr(f"{direction}_n_states")))
                  for direction in ("forward", "backward")]
    else:
        halves = [("", kind_of(layer), int(layer.get_attr("n_out")))]
    found["kind"], found["parts"] = "recurrent", []
    for prefix, kind, units in halves:
        _recurrent_half(layer, found, site, prefix, GATES[kind], units, strategy, accum, accum_bits)
    units = sum(units for _, _, units in halves)
    found["shape"].update(steps=int(layer.get_attr("n_timesteps", 1) or 1), units=units, inputs=int(layer.get_attr("n_in")),
                          unit_bits=units * accum_bits, reuse=int(layer.get_attr("reuse_factor", 1) or 1), strategy=strategy)


def _recurrent_half(layer, found: dict, site: Site, prefix: str, gates: int, units: int, strategy: str, accum, accum_bits: int) -> None:
    """One direction of a recurrent layer (its weights and settings named with `prefix`): its calls into
    found["parts"], its products and state into found."""
    n_in = int(layer.get_attr("n_in"))
    for name, weight, reuse, in_bits in (("kernel", "weight", "reuse_factor", site.data_bits),
                                         ("recurrent_kernel", "recurrent_weight", "recurrent_reuse_factor", site.out_bits)):
        call = DENSE_CALL(f"{layer.name}_{prefix}{name}", {"n_in": n_in if name == "kernel" else units, "n_out": gates * units,
                                                           "reuse_factor": int(layer.get_attr(f"{prefix}{reuse}", layer.get_attr(reuse, 1)) or 1),
                                                           "strategy": strategy, "_weights_transposed": layer.get_attr("_weights_transposed", False)},
                          {"weight": layer.weights[f"{prefix}{weight}"]}, {"accum_t": accum} if accum is not None else {})
        found["parts"].append(_part(call, _mac, Site(in_bits, accum_bits, gates * units, site.family, site.multipliers, True,
                                                     site.narrow_in_logic, site.scheduler)))
    recurrent_activation = str(layer.get_attr(f"{prefix}recurrent_activation", "sigmoid") or "sigmoid").lower()
    activation = str(layer.get_attr(f"{prefix}activation", "tanh") or "tanh").lower()
    tables = [(recurrent_activation, (gates - 1) * units), (activation, units)] + ([(activation, units)] if gates == 4 else [])
    for index, (function, lanes) in enumerate(tables):
        call = TABLE_CALL(f"{layer.name}_{prefix}{function}_{index}", {"activation": function, "table_size": layer.get_attr("table_size", 1024)},
                          types={"table_t": layer.types["table_t"]} if "table_t" in layer.types else {})
        found["parts"].append(_part(call, _element_wise, Site(accum_bits, accum_bits, lanes, site.family, site.multipliers, False,
                                                              site.narrow_in_logic, site.scheduler)))
    products = 3 * units
    if site.narrow_in_logic and accum_bits <= NARROW_PRODUCT_BITS:
        found["lut"]["generic_mult"] += products * accum_bits * accum_bits
    else:
        found["dsp"] += products * dsps_per_product(accum_bits, accum_bits, site.family)
    found["rule_ff"] = found.get("rule_ff", 0.0) + (2 if gates == 4 else 1) * units * accum_bits  # the state (LSTM: h and c), kept from step to step


def _part(call: _Call, describe, site: Site) -> dict:
    """One call of a recurrent layer's step, counted by `describe` (its kind's estimate function)."""
    part = _empty(call)
    part["shape"] = {"pixels_out": 1, "pixels_in": 1, "stream": False, "pixel_bits": site.lanes * site.out_bits, "beats_in": 1}
    describe(call, part, site)
    if "ff_streamed" in part:  # a kernel called once per input, as a streamed one is: its registers are its own terms
        part["ff"] = dict.fromkeys(FF_FEATURES, 0.0)
    return part


@implements("estimate", *(kind for kind in KINDS if kind.role == "scale"))
def _scale(layer, found: dict, site: Site) -> None:
    """BatchNormalization and ApplyAlpha: one multiplication per channel by its scale, bound like a weight."""
    data_bits, lanes, multipliers = site.data_bits, site.lanes, site.multipliers
    found["kind"] = "scale"
    scale = layer.weights.get("scale")
    if scale is None:
        return
    values = quantized_weights(np.asarray(scale.data, dtype=np.float64).reshape(-1), scale.type.precision, layer.name)
    digits = csd_digits(values)
    per_lane = np.resize(digits, lanes)
    worthy = (per_lane >= DSP_MIN_CSD_DIGITS) & (data_bits >= DSP_MIN_DATA_BITS)
    found["dsp"] = int(worthy.sum()) if multipliers != "fabric" else 0
    logic = np.where(worthy & (multipliers != "fabric"), 0, np.maximum(per_lane - 1, 0))
    found["lut"]["shift_add"] = float(logic.sum()) * (data_bits + width(scale.type))
    found["lut"]["adder"] = lanes * data_bits
    found["lut"]["dsp_glue"] = found["dsp"]


def _beats(variable) -> int:
    """Stream words that carry a layer's input: after a Flatten, io_stream keeps the producer's stream (hls4ml's
    InplaceStreamFlatten), one word per pixel of its channels, which a Dense reads one a cycle (DataPrepare)."""
    per_word = getattr(getattr(variable, "type", None), "n_elem", None)
    return max(1, math.ceil(variable.size() / per_word)) if variable is not None and per_word else 1


def _is_model_output(layer, variable) -> bool:
    """Whether the variable a layer writes is one of the model's outputs (hls4ml passes it to the top function)."""
    model = getattr(layer, "model", None)
    return model is not None and any(output.name == variable.name for output in model.get_output_variables())


def _stream_fifos(found: dict, variable, bits: int) -> None:
    """io_stream: one FIFO per channel of the layer's output, as deep as its stream's pragma says (hls4ml's default:
    its pixel count; its FIFO depth optimization, or the firmware, can set another)."""
    shape = list(variable.shape)
    channels = int(shape[-1]) if shape else 1
    pragma = getattr(variable, "pragma", None)
    depth = int(pragma[1]) if isinstance(pragma, tuple) and len(pragma) == 2 and pragma[0] == "stream" else _pixels(shape)
    if depth > SRL_MAX_DEPTH:
        found["fifo_bram_18k"] = channels * math.ceil(depth * bits / BRAM18_BITS)  # the top function's, not the layer instance's
        found["bram_18k"] += found["fifo_bram_18k"]
    else:
        found["lut"]["fifo"] += channels * bits * math.ceil(depth / SRL_MAX_DEPTH)


def design_features(graph, io_type: str, family: str, multipliers: str = "auto", backend: str = "Vitis", tool: str | None = None) -> list[dict]:
    """Every layer's features, in graph order, and the top function's input registers."""
    layers = [layer_features(layer, io_type, family, multipliers, backend, tool) for layer in graph.get_layers()]
    return with_top_input(with_time_steps(layers, list(graph.get_layers())), graph, io_type)


def with_time_steps(features: list[dict], layers: list) -> list[dict]:
    """The layers a TimeDistributed wraps, marked with its time steps: hls4ml 1.x writes them inside a loop over the
    steps in the top function (between its read_time_step and write_time_step calls, the layer and `<name>_end`),
    which a pipelined top unrolls into that many copies and a dataflow top runs step after step (model.price_layer)."""
    steps = 0
    for found, layer in zip(features, layers):
        if kind_of(layer) is TIME_DISTRIBUTED:
            steps = 0 if steps else int(layer.get_attr("n_time_steps", 1) or 1)  # a loop's start, then its end
        elif steps:
            found["shape"]["time_steps"] = steps
    return features


def with_top_input(layers: list[dict], graph, io_type: str) -> list[dict]:
    """io_parallel: the top function registers its input (counted on the first layer)."""
    if io_type == "io_parallel" and layers:
        first = next(iter(graph.get_layers()))
        layers[0]["ff"]["top_input"] = first.get_output_variable().size() * width(first.get_output_variable().type)
    return layers
