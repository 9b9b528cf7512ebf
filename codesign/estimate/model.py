"""Resources, cycles and their intervals for an hls4ml design, per layer (docs/estimation.md).

features.py says what the design is made of; this module prices it with the constants that fit.py fitted on
the calibration rows (constants.json, written by `benchmarks/estimator.py --write`), and gives each figure the
interval the leave-one-design-out residuals support.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from codesign.estimate.features import DSP_MIN_CSD_DIGITS, FF_FEATURES, LUT_FEATURES, OLD_VITIS, RESOURCE_MUX_MAX_CHOICES, design_features, family_of, scheduler_of, tool_era
from codesign.estimate.weights import untrained
from codesign.layers import DOT, has_resource_kernel, kind_of, resource_convolutions_past_their_limit, stride_leaving_data_in_its_stream, stream_pooling_asserted, valid_reuse_factor
from codesign.parts import Part

CONSTANTS_PATH = Path(__file__).with_name("constants.json")
CLOCK_UNCERTAINTY = {"Vitis": 0.27, "Vivado": 0.125}  # hls4ml's default clock uncertainty per backend
RESOURCE_METRICS = ("dsp", "lut", "ff", "bram_18k")
INTERVAL_METRICS = (*RESOURCE_METRICS, "latency_cycles")
# hls4ml's dense_latency keeps every product in one array, mult[n_in * n_out], completely partitioned; above 4096
# elements (the array-partition limit hls4ml's build script sets, which Vitis HLS does not take) Vitis HLS 2021.1 sums
# each output's products one after another instead of in a tree: ArgyKokk's MNIST (196x56) and HAR (561x20) first
# layers take 48 and 192 cycles, 0.37-0.39 cycle per nonzero product, where every layer of 4096 products or fewer
# (64x64 included) is a tree of 4-9 cycles. Vivado HLS honours the limit; no calibration row shows what it does there.
PRODUCTS_SUMMED_IN_A_TREE = 4096
# A Latency-strategy kernel whose accum_t saturates sums each output's products in hls4ml's order, one after another
# (`acc[j] += mult[i]`: a saturating sum depends on its order, so no tool may rebalance it into a tree). The time of one
# saturating add is read from N-TORC's four Conv1D Latency layers (Vivado HLS 2019.1, ap_fixed<16,8,AP_RND,AP_SAT>,
# 4 ns): a pixel takes 5 cycles at 3 products and 27 at 48, 0.49 cycle (1.72 ns of a 3.5 ns period) per add; its four
# Dense Latency layers, not used for it, take 11, 11, 44 and 76 cycles at fan-ins 16, 16, 64 and 128 (docs/estimation.md)
SATURATING_ADD_NS = 1.72
CALIBRATED_TABLE = 1024  # every calibration design's activation and softmax tables (their configs and firmware.json)
LUT_PRICES = (*LUT_FEATURES, "base")
FF_PRICES = (*FF_FEATURES, "stages_7series", "stages_ultrascale", "tree_7series", "tree_ultrascale", "tree_vitis_2020_2022", "base")  # stages, tree: from the fitted cycles
# Registers of streamed layers that per-layer rows isolate, fitted per group on layer rows alone (N-TORC's and the
# reports' instances), not on design totals (fit.fit_streamed_ff): a Resource-strategy kernel (dense_resource behind the
# stream wrapper, which holds the whole input vector or window) per input bit, per bit of a shared multiplier, per
# output bit and per call; a windowed pooling per bit of its window and per call
STREAMED_FF = {"kernel": ("streamed_input", "streamed_shared", "streamed_output", "streamed_tree", "streamed_call"),
               "pooling": ("streamed_pool_window", "streamed_pool_call")}  # streamed_tree: a Latency kernel's adder-tree cuts (streamed_terms)
# The logic of a streamed windowed pooling, fitted on its report instances alone (fit.fit_streamed_lut): per bit of its
# compare tree, per channel (the reports' instances: 90-155 LUT a channel whatever its width, 4-16 bits) and per call
STREAMED_LUT = ("streamed_pool_bits", "streamed_pool_lanes", "streamed_pool_lut_call")


@dataclass(frozen=True)
class Constants:
    """Fitted prices: LUT and FF per feature unit, latency timings, and interval ratios per metric."""

    lut: dict
    ff: dict
    latency: dict
    interval: dict = field(default_factory=dict)  # metric -> [low, high] ratio of vendor figure to estimate
    fitted_on: dict = field(default_factory=dict)
    interval_widest: dict = field(default_factory=dict)  # metric -> [low, high] ratio at fit.OUTSIDE_TAIL: outside the territory
    territory: dict = field(default_factory=dict)  # what the calibration rows contain: "layers" (type in io type), "tools"
    untrained: dict = field(default_factory=dict)  # metric -> [low, high] trained / untrained cost over the real-weight designs

    def as_dict(self) -> dict:
        return {"lut": self.lut, "ff": self.ff, "latency": self.latency, "interval": self.interval, "fitted_on": self.fitted_on,
                "interval_widest": self.interval_widest, "territory": self.territory, "untrained": self.untrained}


def load_constants(path: Path = CONSTANTS_PATH) -> Constants:
    return Constants(**json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class Timing:
    """What sets the cycles of a design: the clock the tool schedules for, the fabric it schedules on, the compiler
    that schedules it (Vivado HLS or Vitis HLS) and how hls4ml asks it to schedule the top function."""

    clock_ns: float
    backend: str
    family: str
    io_type: str
    scheduler: str = "Vitis HLS"
    pipeline_style: str = "pipeline"  # hls4ml's for the top function: "pipeline" or "dataflow" (graph.config.pipeline_style)
    uncertainty: float | None = None  # the clock uncertainty the build set (a fraction of the clock); None: hls4ml 1.3's for the backend
    era: str | None = None  # features.tool_era: the compiler and its era, what the calibrated territory keeps (None: the scheduler)

    @property
    def period(self) -> float:
        """The clock period left after the build's clock uncertainty (hls4ml 1.3's default for the backend where the
        build does not say): what one cycle of logic may take."""
        uncertainty = self.uncertainty if self.uncertainty is not None else CLOCK_UNCERTAINTY.get(self.backend, 0.27)
        return self.clock_ns * (1.0 - uncertainty)


def call_cycles(latency: dict, timing: Timing) -> float:
    """The register each layer call adds to an io_parallel design. Vivado HLS adds less than Vitis HLS inside one
    pipelined top function, hls4ml's pipeline style for Latency-strategy layers (its CI Dense, and Dense+ELU or
    sigmoid: 2 cycles on Vivado HLS 2020.1, 3 on Vitis HLS 2024.1); a dataflow top (a Resource-strategy layer or a
    partitioned convolution) keeps each call's register."""
    return latency["per_call_vivado"] if timing.scheduler == "Vivado HLS" and timing.pipeline_style == "pipeline" else latency["per_call"]


def layer_cycles(features: dict, latency: dict, timing: Timing) -> tuple[int, int, int]:
    """Cycles, initiation interval, and pipeline depth of one pixel (what holds registers) of one layer."""
    kind, shape = features["kind"], features["shape"]
    stream = timing.io_type == "io_stream"
    family = timing.family
    if kind == "free":
        return 0, 1, 0
    if kind in ("dense", "conv"):
        credit = latency[f"register_credit_{family}"]
        depth = max(0, math.ceil(kernel_ns(features, latency, family) / timing.period) - credit)
        summed = depth  # cycles to the sums; `depth` stays the tree's (what the FF prices read)
        resource = shape["strategy"] == "resource"
        if resource:  # dense_resource: an RF-long loop, each pass a product per accumulator and its adds, then init and cast
            summed = max(0, math.ceil(kernel_ns(features, latency, family, resource_pass(shape)) / timing.period) - credit) + latency["resource_call"]
        if summed_in_a_chain(shape, timing):
            add_ns = SATURATING_ADD_NS if shape.get("accum_saturates") else latency[f"chain_add_ns_{family}"]
            summed = max(depth, math.ceil(shape["fan_in"] * add_ns / timing.period))
        serial = max(1, shape["reuse"] if resource else shape["serial"])
        # hls4ml pipelines a kernel at II = reuse factor; shared multipliers take `serial` passes (the RF 100 projects:
        # II = passes + 1, below the RF), unshared ones keep their products and start every RF cycles (RF 2: II 2)
        interval = serial if shape["serial"] > 1 or resource else shape["reuse"]
        if kind == "dense":  # streamed: its input words first, one a cycle (a Dense after a Flatten reads one per pixel)
            beats = shape.get("beats_in", 1) if stream else 1
            return int(summed + serial - 1 + beats - 1 + (latency["stream_cycles"] if stream else 0)), int(max(interval, beats)), int(depth)
        pixels = shape["pixels_in"] if stream else math.ceil(shape["pixels_out"] / shape.get("pixels_at_once", 1))  # hls4ml's n_partitions
        if stream and resource:  # the pixel loop is not pipelined: each pixel's call drains the kernel's loop, then writes
            interval += summed + latency["resource_pixel"]
        return int(pixels * interval + summed + latency["stream_cycles"]), int(pixels * interval), int(depth)
    if kind == "recurrent":
        step = recurrent_step_cycles(features, latency, timing)
        words = max(1, shape.get("beats_in", 1) // shape["steps"]) if stream else 0  # streamed: each step reads its input's words first
        cycles = int(shape["steps"] * (step + words) + (latency["stream_cycles"] if stream else 0))
        return cycles, cycles, 0  # the state feeds back: the next input waits for the last step
    depth = latency["table_cycles"] if kind == "table_activation" else latency["divider_cycles"] if shape.get("dividers") else 0
    if kind == "softmax":  # exp table, a log2-deep sum, the inverse table, the products
        lanes = max(2, features["dsp"] or features["bram_18k"] or 2)
        depth = math.ceil((latency[f"softmax_ns_{family}"] + latency[f"softmax_log_ns_{family}"] * math.log2(lanes)) / timing.period)
        fill = table_fill(shape, timing)
        if fill:  # every call fills the tables, then reads its input: the fill is in its cycles and its interval
            cycles = int(fill + shape.get("pixels_in", 1) + depth + latency["stream_cycles"])
            return cycles, cycles, int(depth)
    if stream and shape.get("pixels_in", 1) > 1:
        return int(shape["pixels_in"] + depth + latency["stream_cycles"]), int(shape["pixels_in"]), int(depth)
    return int(depth + (latency["stream_cycles"] if stream else 0)), 1, int(depth)


def recurrent_step_cycles(features: dict, latency: dict, timing: Timing) -> int:
    """One time step of an LSTM or GRU (nnet_recurrent.h): its two kernels side by side, then a table read on the
    gates, a product, a table read on the new state, a product (LSTM: c = f*c + i*g, h = o*tanh(c); GRU: r*(W h),
    then z*h + (1-z)*g); the calls are io_parallel functions whatever the model's io type. `recurrent_step`: the
    cycles each step takes beyond these (its loops and calls; fit.fit_recurrent)."""
    inner = replace(timing, io_type="io_parallel")
    kernels = max(layer_cycles(part, latency, inner)[0] for part in features["parts"] if part["kind"] == "dense")
    table = max(layer_cycles(part, latency, inner)[0] for part in features["parts"] if part["kind"] != "dense")
    return int(kernels + 2 * (table + 1) + latency.get("recurrent_step", 0))


def resource_pass(shape: dict) -> int:
    """The values one accumulator adds in a pass of dense_resource's loop: its products of that pass (fan-in / RF, at
    least one) and itself."""
    return max(1, math.ceil(shape["fan_in"] / max(1, shape["reuse"]))) + 1


def kernel_ns(features: dict, latency: dict, family: str, fan_in: int | None = None) -> float:
    """A multiplier-and-adder-tree kernel's logic delay: a product, then log2(fan-in) levels of adds (`fan_in`: the
    layer's, or a Resource pass's). A product in logic by a constant of one CSD digit is a shift (no delay), of two one
    add; a DSP's or a wider one's is a multiplier's."""
    add = latency[f"add_ns_{family}"]
    digits = features["shape"].get("logic_max_digits", DSP_MIN_CSD_DIGITS)
    if features["dsp"]:
        multiply = latency[f"mult_ns_{family}"]
    else:
        multiply = latency[f"logic_mult_ns_{family}"] if digits >= DSP_MIN_CSD_DIGITS else add * max(0, digits - 1)
    return multiply + add * math.log2(max(features["shape"]["fan_in"] if fan_in is None else fan_in, 2))


def chain_ns(features: list[dict], latency: dict, timing: Timing) -> float:
    """The logic delay of a chain of layers the tools leave unregistered: each kernel's product and adder tree, one add
    (a compare, a sum) for every other layer that computes."""
    kernels = sum(kernel_ns(layer, latency, timing.family) for layer in features if layer["kind"] in ("dense", "conv"))
    others = sum(1 for layer in features if layer["kind"] not in ("dense", "conv", "free"))
    return kernels + others * latency[f"add_ns_{timing.family}"]


def table_fill(shape: dict, timing: Timing) -> int:
    """Cycles a streamed softmax spends filling its tables at each call on Vitis HLS. hls4ml's io_stream softmax
    declares its tables as locals under synthesis and fills them in a loop outside its pipelined loop; the latency and
    stable implementations compute the entries from ap_fixed bit slices, which Vitis HLS does not fold into a ROM
    (issue #34: 1,024 of a Vitis HLS 2024.2 streamed softmax's 1,053 cycles), the two tables filled side by side.
    The float-only tables of sigmoid, tanh and ELU fold (hls4ml's CI, streamed, Vitis HLS 2024.1: 4 cycles), and the
    io_parallel softmax is one pipelined function whose loops are unrolled and folded."""
    stream_on_vitis = timing.io_type == "io_stream" and timing.scheduler == "Vitis HLS"
    return int(shape.get("tables_from_bits", 0)) if stream_on_vitis else 0


def chained_layers(features: list[dict], timing: Timing, saturating: bool) -> list[str]:
    """Names of the kernels summed in a chain because their accumulator saturates (or, `saturating` False, for the other reason)."""
    return [layer["name"] for layer in features if layer["kind"] in ("dense", "conv") and summed_in_a_chain(layer["shape"], timing)
            and bool(layer["shape"].get("accum_saturates")) == saturating]


def summed_in_a_chain(shape: dict, timing: Timing) -> bool:
    """Whether this Latency-strategy kernel's products are summed in a chain: its accumulator saturates
    (SATURATING_ADD_NS), or Vitis HLS has more products than hls4ml partitions (PRODUCTS_SUMMED_IN_A_TREE)."""
    if shape["strategy"] != "latency":
        return False
    return bool(shape.get("accum_saturates")) or (timing.scheduler == "Vitis HLS" and shape.get("products", 0) > PRODUCTS_SUMMED_IN_A_TREE)


def price_layer(features: dict, constants: Constants, timing: Timing) -> dict:
    """One layer's DSP, LUT, FF, BRAM, cycles and II (inside a TimeDistributed's loop: features.with_time_steps)."""
    steps = features["shape"].get("time_steps")
    if steps:
        priced = price_layer({**features, "shape": {key: value for key, value in features["shape"].items() if key != "time_steps"}}, constants, timing)
        if timing.io_type == "io_parallel" and timing.pipeline_style == "pipeline":  # the loop unrolled: a copy per step
            return {**priced, **{key: priced[key] * steps for key in ("dsp", "lut", "ff", "bram_18k")}}
        return {**priced, "latency_cycles": priced["latency_cycles"] * steps, "ii": priced["ii"] * steps}  # one step after another
    cycles, ii, depth = layer_cycles(features, constants.latency, timing)
    if features["kind"] == "recurrent":  # its step's calls, each priced as the layer it would be alone, and its own terms
        parts = [price_layer(part, constants, replace(timing, io_type="io_parallel")) for part in features["parts"]]
        own = price_layer({**features, "kind": "free", "parts": []}, constants, timing)  # its products, state and streams
        unit_bits = features["shape"]["unit_bits"]  # the logic and registers around the calls, per unit (fit.fit_recurrent)
        return {**own, "dsp": own["dsp"] + sum(part["dsp"] for part in parts), "bram_18k": own["bram_18k"] + sum(part["bram_18k"] for part in parts),
                "lut": int(round(own["lut"] + sum(part["lut"] for part in parts) + constants.lut.get("recurrent_unit_bits", 0.0) * unit_bits)),
                "ff": int(round(own["ff"] + sum(part["ff"] for part in parts) + constants.ff.get("recurrent_unit_bits", 0.0) * unit_bits)),
                "latency_cycles": cycles, "ii": ii}
    ff_features = with_stages(features, timing, depth)
    return {
        "name": features["name"],
        "type": features["type"],
        "dsp": int(features["dsp"]),
        "lut": int(round(sum(constants.lut[key] * features["lut"][key] for key in LUT_FEATURES) + streamed_lut(features, constants.lut) + features.get("rule_lut", 0.0))),
        "ff": int(round(sum(constants.ff[key] * ff_features.get(key, 0.0) for key in FF_PRICES if key not in ("base", "output")) + streamed_ff(features, constants.ff, depth)
                       + features.get("rule_ff", 0.0))),
        "bram_18k": int(features["bram_18k"]),
        "uram": 0,
        "latency_cycles": cycles,
        "ii": ii,
    }


def price_instance(features: dict, constants: Constants, timing: Timing) -> dict:
    """A layer's price as its instance in a C-synthesis report counts it: without its output FIFO (a top-level
    memory in the report, priced with the layer by price_layer). Its output registers in io_parallel are the top
    function's in both (call_register_bits)."""
    priced = price_layer(features, constants, timing)
    return {**priced, "bram_18k": priced["bram_18k"] - features.get("fifo_bram_18k", 0),
            "lut": priced["lut"] - int(round(constants.lut.get("fifo", 0.0) * features["lut"].get("fifo", 0.0)))}


def streamed_lut(features: dict, prices: dict) -> float:
    """A streamed windowed pooling's logic by its own terms (STREAMED_LUT); 0 for every other layer."""
    return _priced(features.get("lut_streamed", {}), prices)


def streamed_ff(features: dict, prices: dict, depth: int) -> float:
    """A streamed kernel's or windowed pooling's registers by their own terms (STREAMED_FF, streamed_terms at the
    kernel's pipeline `depth`); 0 for every other layer."""
    return _priced(streamed_terms(features, depth), prices)


def _priced(terms: dict, prices: dict) -> float:
    """Terms times their prices (a price no fit has set: 0)."""
    return sum(prices.get(key, 0.0) * value for key, value in terms.items())


def streamed_terms(features: dict, depth: int) -> dict:
    """A streamed layer's own FF terms: its features' `ff_streamed`, and a Latency kernel's adder-tree bits cut inside
    the tree (tree_bits at `depth` less the last cycle, whose register is the sums', `streamed_output`). The SVHN CNN's
    kernels (UltraScale, 1 cycle deep) have none, and hold what the other terms count; the LeNet's (7-series at 5 ns,
    3-5 cycles) hold 1.4-4x that."""
    terms = features.get("ff_streamed", {})
    return {**terms, "streamed_tree": tree_bits(features, max(0, depth - 1))} if terms and _cuts_a_tree(features) else terms


def _cuts_a_tree(features: dict) -> bool:
    """Whether a layer's pipeline registers cut an adder tree: a Latency-strategy kernel's."""
    return features["kind"] in ("dense", "conv") and features["shape"].get("strategy") == "latency"


def stage_key(features: dict, timing: Timing) -> str:
    """The price of a layer's pipeline registers: a Latency-strategy kernel's adder-tree cuts (`tree_*`) are not the
    output words another layer holds at each stage (`stages_*`), and each family prices them apart. Vitis HLS
    2020-2022 has its own tree price on every family: issue #34's jet tagger on one UltraScale part holds 2.1x the
    FF under Vitis HLS 2022.2 that it holds under Vivado HLS 2019.2 (docs/estimation.md, "Tree prices by tool")."""
    if not _cuts_a_tree(features):
        return f"stages_{timing.family}"
    return "tree_vitis_2020_2022" if timing.era == OLD_VITIS else f"tree_{timing.family}"


def with_stages(features: dict, timing: Timing, depth: int) -> dict:
    """A layer's FF features with its pipeline registers at `depth` cycles under their price's key (what the FF
    prices multiply, in the estimate and in the fit)."""
    return dict(features["ff"], **{stage_key(features, timing): stage_bits(features, depth)})


def stage_bits(features: dict, depth: int) -> float:
    """Pipeline registers. A Latency-strategy kernel's: its adder tree's bits, the share of its levels its `depth`
    cycles cut (a cut every level once the kernel takes as many cycles as its tree has levels); another layer's: one
    pixel's output bits held at each stage. A softmax's stages hold its tables' addresses and sums, not its outputs
    (its own price, per lane and output bit, counts them); a streamed Resource kernel's and a saturating kernel's
    registers are all in their own terms (streamed_ff, rule_ff)."""
    if features["kind"] == "softmax" or "ff_streamed" in features or "rule_ff" in features:
        return 0.0
    if _cuts_a_tree(features):
        return tree_bits(features, depth)
    return float(features["shape"].get("pixel_bits", 0)) * depth


def tree_bits(features: dict, depth: int) -> float:
    """A Latency-strategy kernel's adder-tree bits that `depth` cycles cut: the share of its levels they cut (every
    level once the kernel takes as many cycles as its tree has levels)."""
    levels = max(1.0, math.log2(max(features["shape"].get("fan_in", 2), 2)))
    return features["lut"].get("adder", 0.0) * min(1.0, depth / levels)


def call_register_bits(features: list[dict], cycles: list[int], timing: Timing) -> float:
    """The layer outputs a pipelined io_parallel top function registers between its layer calls (the reports'
    `layerN_out` registers; `cycles`: each layer's): every layer's output bits once some layer takes a cycle (a table
    read's are held in its block RAM: features.READ_FROM_TABLE). None in a dataflow top (its calls hand arrays over),
    in io_stream (FIFOs), or where every layer is combinational (the top cuts their chain, not each call)."""
    if timing.io_type != "io_parallel" or timing.pipeline_style != "pipeline" or not any(cycles):
        return 0.0
    return float(sum(layer["ff"].get("output", 0.0) for layer in features))


def design_cycles(layers: list[dict], latency: dict, timing: Timing, features: list[dict]) -> int:
    """io_parallel: layer after layer, plus a register per layer call (call_cycles) once anything is pipelined;
    io_stream: the slowest stage and the pipeline fill. `layers` are the layers only (priced, beside their
    `features`), not the top function."""
    busy = [layer for layer in layers if layer["latency_cycles"] or layer["dsp"] or layer["lut"]]
    if timing.io_type == "io_stream":
        return int(max((layer["latency_cycles"] for layer in busy), default=0) + latency["stream_fill"] * max(0, len(busy) - 1))
    # read before the branch: fit.py keys its cache on what is read
    per_call, top, credit = call_cycles(latency, timing), latency["top"], latency[f"register_credit_{timing.family}"]
    chained = math.ceil(chain_ns(features, latency, timing) / timing.period) - credit
    cycles = sum(layer["latency_cycles"] for layer in layers)
    if not cycles:  # every layer combinational: the top function cuts their chained logic at each clock period
        return int(max(0, chained))  # (Vitis HLS 2024.1, 7 calls at 5 ns: 4 and 6 cycles; at 25 ns: 0 and 1)
    return int(cycles + per_call * len(busy) + top)


def interval(value: float, ratios: list[float] | None) -> list[int]:
    """[low, high] around an estimate from the vendor/estimate ratios that held out of sample."""
    if not ratios:
        return [int(value), int(value)]
    low, high = ratios[:2]
    return [int(math.floor(value * min(low, 1.0))), int(math.ceil(value * max(high, 1.0)))]


def territory_of(features: list[dict], timing: Timing) -> dict[str, list[str]]:
    """What a design is, in the terms the calibration's territory is kept: each costed layer type in its io type,
    and the tool (backend on the part's family)."""
    layers = sorted({f"{layer['type']} in {timing.io_type}" for layer in features if layer["kind"] != "free"})
    shared = [layer["shape"]["reuse"] for layer in features if layer["shape"].get("strategy") == "resource" and layer["kind"] in ("dense", "conv")]
    chained = [timing.family] if chained_layers(features, timing, saturating=False) else []
    dividers = ["pooling"] if any(layer["shape"].get("dividers") for layer in features) else []
    shared_sites = [f"{timing.io_type} on {timing.family}"] if shared_kernels(features) else []
    tool = f"{timing.era or timing.scheduler} on {timing.family}"
    latency_sites = [f"{timing.io_type} by {tool}"] if latency_kernels(features) else []
    return {"layers": layers, "tools": [tool], "resource_reuse": [max(shared, default=0)], "chained": chained,
            "dividers": dividers, "shared_kernels": shared_sites, "latency_kernels": latency_sites}


def latency_kernels(features: list[dict]) -> list[str]:
    """Names of the Latency-strategy kernels (a multiplier per product, an adder tree cut by pipeline registers)."""
    return [layer["name"] for layer in features if _cuts_a_tree(layer)]


def shared_kernels(features: list[dict]) -> list[str]:
    """Names of the Resource-strategy kernels that share their multipliers (reuse factor above 1): dense_resource's."""
    return [layer["name"] for layer in features if layer["kind"] in ("dense", "conv") and layer["shape"].get("strategy") == "resource"
            and layer["shape"]["reuse"] > 1]


def territory_gaps(features: list[dict], timing: Timing, constants: Constants) -> list[str]:
    """What this design has that no calibration row has, one sentence each (empty: inside the territory)."""
    if not constants.territory:
        return []
    found = territory_of(features, timing)
    gaps = [f"no calibration design has a {entry}" for entry in found["layers"] if entry not in constants.territory.get("layers", [])]
    gaps += [f"no calibration design was built by {entry}" for entry in found["tools"] if entry not in constants.territory.get("tools", [])]
    calibrated = max(constants.territory.get("resource_reuse", [0]), default=0)
    over = [(layer["name"], layer["shape"]["reuse"]) for layer in features if layer["shape"].get("strategy") == "resource"
            and layer["kind"] in ("dense", "conv") and layer["shape"]["reuse"] > calibrated]
    if "resource_reuse" in constants.territory and over:
        named = listed_names([f"{name} at reuse factor {reuse:,}" for name, reuse in over])
        gaps.append(f"the Resource strategy's input multiplexer and weight memory of {named}: no calibration design above reuse factor "
                    f"{calibrated} (the multiplexer priced as at {min(calibrated, RESOURCE_MUX_MAX_CHOICES)} choices)")
    site = found["shared_kernels"]
    if "shared_kernels" in constants.territory and site and site[0] not in constants.territory["shared_kernels"]:
        named = listed_names(shared_kernels(features))
        gaps.append(f"the Resource kernels of {named} in {site[0]}: no calibration design has one (calibrated: "
                    f"{', '.join(constants.territory['shared_kernels'])}; in io_parallel their registers are counted from dense_resource, "
                    "one FF per bit of its accumulators and of its shared multipliers' operands and products)")
    site = found["latency_kernels"]  # (a tool no row was built by is named above)
    if "latency_kernels" in constants.territory and site and site[0] not in constants.territory["latency_kernels"] and \
            found["tools"][0] in constants.territory.get("tools", []):
        named = listed_names(latency_kernels(features))
        gaps.append(f"the Latency kernels of {named} in {site[0]}: no calibration design has one (calibrated: "
                    f"{', '.join(constants.territory['latency_kernels'])}; their adder trees' registers and timings are priced per "
                    "family, from that family's builds by the other tools)")
    if "chained" in constants.territory and found["chained"] and found["chained"][0] not in constants.territory["chained"]:
        named = ", ".join(chained_layers(features, timing, saturating=False))
        gaps.append(f"the products of {named} summed one after another (more than {PRODUCTS_SUMMED_IN_A_TREE:,}, Vitis HLS): no calibration "
                    f"design on {timing.family} has such a layer (the chained add's time is a prior, "
                    f"{constants.latency.get(f'chain_add_ns_{timing.family}', 0):g} ns)")
    if "dividers" in constants.territory and found["dividers"] and not constants.territory["dividers"]:
        named = ", ".join(f"{layer['name']} ({layer['shape']['dividers']:,})" for layer in features if layer["shape"].get("dividers"))
        gaps.append(f"the dividers of {named}: an average pooling that pads divides by the count of unpadded values at run time, "
                    "which Vivado HLS builds as a divider per output; no calibration design has one")
    saturating = chained_layers(features, timing, saturating=True)
    if saturating:
        named = listed_names(saturating)
        gaps.append(f"the products of {named} summed one after another because its accumulator type saturates (hls4ml keeps the order "
                    f"of a saturating sum): no calibration design has such a layer (the saturating add's {SATURATING_ADD_NS:g} ns and its "
                    "logic per product are read from N-TORC's Latency layers, Vivado HLS 2019.1 at 16 bits); a wrapping accum_t sums in a tree")
    shared = [layer["name"] for layer in features if layer["kind"] in ("dense", "conv") and layer["shape"].get("accum_saturates")
              and layer["shape"].get("strategy") == "resource"]
    if shared:
        gaps.append(f"the saturating accumulator of {listed_names(shared)}: "
                    "no calibration design has one (its logic per shared multiplier is read from N-TORC's layers, Vivado HLS 2019.1 at 16 bits)")
    recurrent = [layer["name"] for layer in features if layer["kind"] == "recurrent"]
    if recurrent:
        gaps.append(f"the recurrent layer{'s' if len(recurrent) > 1 else ''} {', '.join(recurrent[:4])}: no calibration design has one (their "
                    "kernels, tables and products are counted; the logic around them and each step's extra cycles are fitted on N-TORC's "
                    "LSTM layers alone, Vivado HLS 2019.1, io_stream, 16 bits)")
    looped = [f"{layer['name']} ({layer['shape']['time_steps']} steps)" for layer in features if layer["shape"].get("time_steps")]
    if looped:
        how = "a copy per step: the pipelined top unrolls the loop" if timing.io_type == "io_parallel" and timing.pipeline_style == "pipeline" else \
            "one step after another"
        gaps.append(f"the layers inside a TimeDistributed loop, {', '.join(looped[:4])}: no calibration design has one (priced as {how}, "
                    "from hls4ml's template)")
    unknown = [(layer["type"], layer["name"]) for layer in features if layer["shape"].get("no_rule")]
    if unknown:
        named = ", ".join(f"{kind} '{name}'" for kind, name in unknown[:4])
        no_call = "; hls4ml 1.3 writes no call for a SimpleRNN on Vivado and Vitis" if any(kind == "SimpleRNN" for kind, _ in unknown) else ""
        gaps.append(f"no cost rule for {named} (hls4ml layers codesign does not know{no_call}): priced as element-wise logic")
    parallel = [layer for layer in features if layer["shape"].get("parallel_pixels", 1) > 1]
    if parallel:
        named = ", ".join(f"{layer['name']} ({layer['shape']['parallel_pixels']}, {layer['shape']['strategy']})" for layer in parallel[:4])
        gaps.append(f"the parallelization factor of {named}: no calibration design sets one (the Resource kernel's pixels and "
                    "multipliers counted from hls4ml's conv_2d_resource_cl; the Latency kernel's priced as one pixel at a time)")
    filled = [(layer["name"], table_fill(layer["shape"], timing)) for layer in features if layer["kind"] == "softmax" and table_fill(layer["shape"], timing)]
    if filled:
        named = ", ".join(f"{name} ({cycles:,} cycles a call)" for name, cycles in filled)
        gaps.append(f"the table fill of {named}: no calibration design has a streamed softmax built by Vitis HLS (the fill is read "
                    "from hls4ml's template and one vendor figure quoted in issue #34)")
    tables = [(layer["name"], layer["shape"]["table_size"]) for layer in features if layer["shape"].get("table_size", CALIBRATED_TABLE) > CALIBRATED_TABLE]
    if tables:
        named = ", ".join(f"{name} ({size:,} entries)" for name, size in tables[:4])
        gaps.append(f"the lookup tables of {named}: every calibration design has hls4ml's {CALIBRATED_TABLE:,}-entry tables (priced by their bits)")
    return gaps


def listed_names(names: list[str], shown: int = 4) -> str:
    """'a, b, c, d and 3 more': the first few of a list of layers."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _spanned(bounds: list[float], training: list[float] | None) -> list[float]:
    """Interval ratios widened by what training does to a count (trained / untrained, lowest and highest)."""
    if not training:
        return bounds
    low, high = bounds[:2]
    return [low * min(training[0], 1.0), high * max(training[1], 1.0)]


def _top_function(constants: Constants) -> dict:
    """What the top function adds around the layers (interface, control): the fitted base of a design, and in
    io_parallel the registers of its layer calls and its cycles (set by price_design)."""
    return {"name": "top", "type": "Top", "dsp": 0, "lut": int(round(constants.lut.get("base", 0.0))), "ff": int(round(constants.ff.get("base", 0.0))),
            "bram_18k": 0, "uram": 0, "latency_cycles": 0, "ii": 1}


def estimate_graph(graph, part: Part, clock_ns: float, io_type: str, backend: str = "Vitis", multipliers: str = "auto",
                   constants: Constants | None = None, tool: str | None = None, local: bool = True, uncertainty: float | None = None) -> dict:
    """Per-layer and total resources, latency and II with intervals, utilization of the part, throughput (`uncertainty`:
    the build's clock uncertainty as a fraction of the clock, None for hls4ml 1.3's default of the backend)."""
    features = design_features(graph, io_type, family_of(part.base), multipliers, backend, tool)
    drawn = untrained(getattr(graph, "config", None) and graph.config.config.get("KerasModel"))
    report = price_design(features, part, clock_ns, io_type, backend, multipliers, graph.config.pipeline_style, drawn, constants, tool, local, uncertainty)
    report["notes"] += [f"layer '{layer.name}' (Resource, reuse factor {factor}) computes wrong values: hls4ml's io_parallel Resource "
                        f"convolution is correct only up to its kernel's {limit} inputs (codesign build refuses it; docs/errors.md)"
                        for layer, factor, limit in resource_convolutions_past_their_limit(graph)]
    report["notes"] += [f"layer '{layer.name}' (Resource, reuse factor {layer.get_attr('reuse_factor')}, which hls4ml's own check rejects) computes "
                        f"wrong values or does not compile: hls4ml 1.3 puts back the factor asked for where it had chosen {factor} (codesign "
                        "build uses that; docs/architecture.md)" for layer in graph.get_layers() if (factor := valid_reuse_factor(layer)) is not None]
    report["notes"] += [f"layer '{layer.name}' ({layer.class_name}, Resource, io_parallel): hls4ml writes no such kernel, so its C simulation "
                        "aborts and its synthesized function computes nothing (codesign build takes Latency for it; docs/architecture.md)"
                        for layer in graph.get_layers() if not has_resource_kernel(layer, io_type) and str(layer.get_attr("strategy", "")).lower() == "resource"]
    if io_type == "io_stream":
        report["notes"] += [f"layer '{layer.name}' ({layer.class_name} with {said}, io_stream): hls4ml's template asserts against it, so its C "
                            "simulation aborts (codesign build refuses it; docs/errors.md)"
                            for layer in graph.get_layers() if (said := stream_pooling_asserted(layer)) is not None]
        report["notes"] += [f"layer '{layer.name}' (Dot, io_stream): hls4ml 1.3 has no io_stream dot product, so this firmware does not "
                            "compile (codesign build refuses it; docs/errors.md)" for layer in graph.get_layers() if kind_of(layer) is DOT]
        report["notes"] += [f"layer '{layer.name}' ({layer.class_name}, a 1x1 kernel with a stride, io_stream): hls4ml computes it with its "
                            "line buffer, which leaves data in its output stream: its outputs are wrong (codesign build refuses it; docs/errors.md)"
                            for layer in graph.get_layers() if stride_leaving_data_in_its_stream(layer) is not None]
    return report


def price_design(features: list[dict], part: Part, clock_ns: float, io_type: str, backend: str, multipliers: str, pipeline_style: str,
                 drawn: str | None, constants: Constants | None = None, tool: str | None = None, local: bool = True,
                 uncertainty: float | None = None) -> dict:
    """estimate_graph from the layers' features (`drawn`: the untrained-weights sentence, or None); with `local`, scaled
    by the user's own builds where `codesign calibrate` kept some of this tool family (estimate/local.py)."""
    from codesign.estimate.local import build_key, corrected

    constants = constants or load_constants()
    family = family_of(part.base)
    timing = Timing(clock_ns, backend, family, io_type, scheduler_of(tool, backend), pipeline_style, uncertainty, tool_era(tool, backend))
    gaps = territory_gaps(features, timing, constants)
    ratios = constants.interval_widest if gaps else constants.interval
    if drawn:
        ratios = {metric: _spanned(bounds, constants.untrained.get(metric)) for metric, bounds in ratios.items()}
    layers = [price_layer(layer, constants, timing) for layer in features]
    latency = design_cycles(layers, constants.latency, timing, features)
    top = _top_function(constants)
    top["ff"] += int(round(constants.ff["output"] * call_register_bits(features, [layer["latency_cycles"] for layer in layers], timing)))
    if io_type == "io_parallel":  # the layer calls' registers and the top's own cycles: the column adds up to the total
        top["latency_cycles"] = latency - sum(layer["latency_cycles"] for layer in layers)
    layers.append(top)
    total = {key: int(sum(layer[key] for layer in layers)) for key in ("dsp", "lut", "ff", "bram_18k", "uram")}
    ii = max((layer["ii"] for layer in layers), default=1)
    total.update(latency_cycles=latency, ii=int(ii), latency_ns=round(latency * clock_ns, 3), throughput_per_s=round(1e9 / (ii * clock_ns), 1))
    for layer in layers:
        layer["interval"] = {metric: interval(layer[metric], ratios.get(metric)) for metric in INTERVAL_METRICS}
    available = {"dsp": part.dsp, "lut": part.lut, "ff": part.ff, "bram_18k": part.bram_18k, "uram": part.uram}
    report = {
        "source": "estimated",
        "part": {"name": part.base, "board": part.board, "family": family, "available": available, "datasheet": part.source},
        "clock_ns": clock_ns,
        "clock_uncertainty": round(1.0 - timing.period / clock_ns, 4),
        "io_type": io_type,
        "multipliers": multipliers,
        "total": total,
        "interval": {metric: interval(total[metric], ratios.get(metric)) for metric in INTERVAL_METRICS},
        "tool_family": build_key(timing.scheduler, family),
        "layers": layers,
        "territory": {"inside": not gaps, "gaps": gaps},
        "weights": "untrained" if drawn else "trained",
        "notes": ([f"outside the calibrated territory: {'; '.join(gaps)}: interval widened to the 95% range of out-of-sample ratios"] if gaps else [])
        + ([f"{drawn}: DSP and LUT intervals span what training did to the real-weight calibration designs (docs/estimation.md)"] if drawn else []),
    }
    if local:
        report = corrected(report, report["tool_family"])
    report["utilization"] = {key: (round(100.0 * report["total"][key] / available[key], 2) if available[key] else None) for key in available}
    return report
