"""A softmax, sigmoid or tanh head in firmware judged by the decision it ships (the class, or each output's side of the
threshold): the implementation and tables chosen so that decision is the model's, proven over every value the logits
can take by running hls4ml's own head code on them, and hls4ml's default tables measured beside (docs/proof.md).

The head's code is hls4ml's template compiled alone: a one-layer hls4ml project (its input the logits' type, its
settings the firmware's), so what is checked is the code the firmware runs, not a model of it.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import warnings
from typing import Callable

import numpy as np

from codesign.fixed import Fixed
from codesign.hls4ml_graph import hls4ml_graph

SPAN = {"sigmoid": 16, "tanh": 8}  # hls4ml's sigmoid table covers [-8, 8), its tanh table [-4, 4)
THRESHOLD = {"sigmoid": 0.5, "tanh": 0.0}  # a sigmoid output above 0.5 is the positive class; tanh's, above 0
DEFAULT_TABLE = 1024  # hls4ml's default table size
TABLE_LIMIT = 2**16  # the largest table codesign chooses (one 2^16-entry table is ~40 BRAM_18K at 20 bits)
GRID_LIMIT = 2**21  # the most logit values checked one by one (an element-wise head: complete)
PAIR_LIMIT = 2**15  # the most neighbouring pairs a softmax's check runs (evenly spread over the logits' range)
FLOAT32_FRACTION = 20  # finer logits: QKeras's float32 head may round two different logits to one value (a tie)
BOUNDARY_PAIRS = 64  # pairs of test samples bisected towards the decision boundary when looking for an input
BOUNDARY_STEPS = 24
CONFIRMED = 128  # the most boundary inputs run through the C++ emulation


def decision_name(function: str, outputs: int) -> str:
    return "argmax" if function == "softmax" and outputs > 1 else f"above {THRESHOLD.get(function, 0.5):g}"


def chosen_settings(function: str, logit_type: Fixed, output: str) -> tuple[dict, str | None]:
    """The head's hls4ml settings (a LayerName entry) under which its decision is the model's for every logit value;
    where no table is fine enough, the largest codesign builds, and why it is not (with the smallest change).

    Softmax: hls4ml's `argmax` implementation (the first largest logit, as numpy's argmax picks it) when the decision
    is what the firmware outputs; its stable tables otherwise (sized by `table_sized`). Sigmoid / tanh: a table fine
    enough that no positive logit shares the entry of 0 (2^(f+4) entries for sigmoid at f fraction bits, 2^(f+3) for
    tanh), with log2(size)+1 fraction bits so its first positive entry stays off the threshold; hls4ml 1.3 reads the
    layer key `table_t` (it ignores `Precision: table` for activations)."""
    if function == "softmax":
        return {"Implementation": "argmax" if output == "decision" else "stable"}, None
    needed = 2 ** (logit_type.frac + int(math.log2(SPAN[function])))
    size = min(max(DEFAULT_TABLE, needed), TABLE_LIMIT)
    table = f"fixed<{int(math.log2(size)) + 3},2,RND,SAT>"
    settings = {"TableSize": size, "table_t": table, "Precision": {"result": table}}
    if needed <= TABLE_LIMIT:
        return settings, None
    fraction = int(math.log2(TABLE_LIMIT // SPAN[function]))
    return settings, (f"the logits' type {logit_type.hls4ml()} has {logit_type.frac} fraction bits: hls4ml's {function} table would need "
                      f"{needed:,} entries to tell every positive logit from 0 (codesign stops at {TABLE_LIMIT:,}); give the layer "
                      f"feeding the head at most {fraction} fraction bits, or keep the head on the host")


def table_sized(outputs: int, logit_type: Fixed, logits: np.ndarray, backend: str, io_type: str, say: Callable[[str], None]) -> dict:
    """A softmax that outputs probabilities: hls4ml's stable tables, the smallest (1,024 entries up to TABLE_LIMIT) whose
    decision is the model's on every sample's logits; the largest where none is."""
    model = model_decisions("softmax", logits)
    size = DEFAULT_TABLE
    while True:
        settings = {"Implementation": "stable", "TableSize": size}
        code = HeadCode("softmax", outputs, logit_type, settings, backend, io_type)
        try:
            flips = int((firmware_decisions("softmax", code(logits)) != model).any(axis=1).sum())
        finally:
            code.close()
        say(f"  head: softmax stable tables of {size:,} entries: {flips} of {len(logits)} samples decided otherwise")
        if not flips or size >= TABLE_LIMIT:
            return settings
        size *= 4


def model_decisions(function: str, logits: np.ndarray, exact: bool = False) -> np.ndarray:
    """The model's decision on its logits, computed as QKeras does (float32 head, numpy's argmax: the first largest), or
    with `exact` on its exact evaluation's logits (the head is strictly monotone: the first largest logit, the sign)."""
    import tensorflow as tf

    if exact:
        logits = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)
        if function == "softmax":
            return np.argmax(logits, axis=1)[:, None] if logits.shape[1] > 1 else np.ones_like(logits, dtype=bool)
        return logits > 0
    logits = np.asarray(logits, dtype=np.float32).reshape(len(logits), -1)
    if function == "softmax" and logits.shape[1] > 1:
        return np.argmax(tf.nn.softmax(logits, axis=-1).numpy(), axis=1)[:, None]
    if function == "softmax":  # a one-output softmax is 1.0 whatever the logit
        return np.ones_like(logits, dtype=bool)
    head = tf.math.sigmoid if function == "sigmoid" else tf.math.tanh
    return head(logits).numpy() > THRESHOLD[function]


def firmware_decisions(function: str, outputs: np.ndarray) -> np.ndarray:
    """The decision read off the firmware's head outputs (probabilities, a one-hot class, or table values)."""
    outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    if function == "softmax" and outputs.shape[1] > 1:
        return np.argmax(outputs, axis=1)[:, None]
    if function == "softmax":
        return outputs > 0
    return outputs > THRESHOLD[function]


def decisions_on_samples(function: str, outputs: np.ndarray, model_logits: np.ndarray) -> dict:
    """The firmware's decisions (its head's outputs) against the model's (on its logits), sample by sample."""
    model = model_decisions(function, model_logits)
    flipped = (firmware_decisions(function, outputs) != model).any(axis=1)
    return {"decision": decision_name(function, model.shape[1] if function != "softmax" else np.shape(model_logits)[-1]),
            "agreement": float(1 - flipped.mean()) if len(flipped) else 1.0, "flips": int(flipped.sum()), "samples": int(len(flipped))}


def firmware_settings(layer: dict) -> dict:
    """The LayerName entry that gives a head layer of hls/codesign_graph.json its settings again (implementation,
    table size, every type)."""
    attributes, types = layer["attributes"], layer["types"]
    settings = {key: value["text"] for key, value in types.items() if key not in ("result_t", "inp_norm_t")}  # hls4ml reads `*_t` keys
    settings["Precision"] = {"result": types["result_t"]["text"]}
    if attributes.get("implementation") is not None:
        settings["Implementation"] = attributes["implementation"]
    if attributes.get("table_size") is not None:
        settings["TableSize"] = int(attributes["table_size"])
    return settings


def described(settings: dict, function: str) -> dict:
    """What a head's settings are, for reports: implementation, table size, table types (hls4ml's defaults where unset)."""
    implementation = str(settings.get("Implementation") or ("stable" if function == "softmax" else "table")).lower()
    if implementation == "argmax":
        return {"implementation": implementation, "table_size": None, "types": {}}
    types = {key[:-2]: value for key, value in settings.items() if key in ("table_t", "exp_table_t", "inv_table_t")}
    return {"implementation": implementation, "table_size": settings.get("TableSize", DEFAULT_TABLE),
            "types": {**types, "result": (settings.get("Precision") or {}).get("result")} if types else {}}


class HeadCode:
    """hls4ml's head template for these settings, compiled alone: outputs for any logits of the type."""

    def __init__(self, function: str, outputs: int, logit_type: Fixed, settings: dict, backend: str = "Vitis", io_type: str = "io_parallel"):
        from tensorflow import keras

        self.function, self.outputs = function, outputs
        self._folder = tempfile.TemporaryDirectory(prefix="codesign-head-")
        logits = keras.Input((outputs,), name="logits")
        model = keras.Model(logits, keras.layers.Activation(function, name="head")(logits))
        config = {"Model": {"Precision": "fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"},
                  "LayerName": {"logits": {"Precision": {"result": logit_type.hls4ml()}}, "head": settings}}
        self.graph = hls4ml_graph(model, config, f"hls4ml cannot convert its {function} head alone", output_dir=self._folder.name,
                                  project_name="head", backend=_backend(backend), io_type=io_type)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.graph.compile()

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, dtype=np.float64).reshape(-1, self.outputs)
        with contextlib.redirect_stdout(io.StringIO()):
            return np.asarray(self.graph.predict(np.ascontiguousarray(logits, dtype=np.float64)), dtype=np.float64).reshape(len(logits), -1)

    def close(self) -> None:
        self._folder.cleanup()


def _backend(backend: str) -> str:
    """The hls4ml backend whose head templates the firmware's are (VivadoAccelerator wraps Vivado's)."""
    return "Vivado" if backend.lower().startswith("vivado") else backend


def logit_values(logit_type: Fixed, low: float, high: float, limit: int = GRID_LIMIT) -> np.ndarray:
    """The values of the logits' type in [low, high]: every one, or `limit` of them evenly spread (the ends kept)."""
    first, last = math.ceil(low / logit_type.lsb), math.floor(high / logit_type.lsb)
    if last - first + 1 <= limit:
        return np.arange(first, last + 1, dtype=np.float64) * logit_type.lsb
    return np.unique(np.linspace(first, last, limit).round()) * logit_type.lsb


def _flips(head: HeadCode, rows: np.ndarray, exact: bool) -> np.ndarray:
    return rows[(firmware_decisions(head.function, head(rows)) != model_decisions(head.function, rows, exact)).any(axis=1)]


def prove_decision(head: HeadCode, logit_type: Fixed, bounds: list[float] | None, logits_proof: dict) -> dict:
    """The decision over the domain: 'proven' (the logits are proven exact, and the head's code takes the model's
    decision on every value they can take), 'unproven' with why, and the logit vectors found to flip. Element-wise
    heads: every value of the type in the bounds, each output at once (complete). Softmax: vectors of neighbouring
    values a < b, the smaller first (where the first-largest rule and a merged table entry part), the other classes at
    the lowest value or at a: every pair, or PAIR_LIMIT of them evenly spread."""
    exact = logits_proof.get("reference") == "exact"
    if logits_proof.get("status") == "proven" and bounds:
        return _head_alone(head, logit_type, *bounds, exact)
    alone = _head_alone(head, logit_type, *(bounds or (logit_type.low * logit_type.lsb, logit_type.high * logit_type.lsb)), exact)
    besides = ("the head alone takes the model's decision on every value they can take" if alone["status"] == "proven"
               else f"the head alone: {alone['why']}")
    return {**alone, "status": "unproven", "head_alone": alone["status"],
            "why": f"the logits, of type {logit_type.hls4ml()}, are not shown to be the model's over the domain "
                   f"({logits_proof.get('why') or logits_proof.get('status')}); {besides}"}


def _head_alone(head: HeadCode, logit_type: Fixed, low: float, high: float, exact: bool) -> dict:
    """prove_decision's check of the head's code on the logit values in [low, high], the logits taken as exact (`exact`:
    against the exact evaluation's decision, where the logits' proof is against it)."""
    function, n = head.function, head.outputs
    where = f"{logit_type.hls4ml()} in [{low:g}, {high:g}]"
    if function == "softmax" and n > 1:
        a = logit_values(logit_type, low, high - logit_type.lsb, PAIR_LIMIT)
        b = a + logit_type.lsb
        rows = []
        for fill in (np.full_like(a, low), a):
            row = np.repeat(fill[:, None], n, axis=1)
            row[:, 0], row[:, -1] = a, b
            rows.append(row)
        rows = np.concatenate(rows)
    else:
        values = logit_values(logit_type, low, high, GRID_LIMIT + 1)
        if len(values) > GRID_LIMIT:
            return {"status": "unproven", "flipping_logits": [], "why": f"the logits take more than {GRID_LIMIT:,} values of {where}"}
        rows = np.resize(values, math.ceil(len(values) / n) * n).reshape(-1, n)
    flips, checked = _flips(head, rows, exact), len(rows) if function == "softmax" else len(values)
    if len(flips):
        rounding = (f"; QKeras's float32 {function} rounds logits closer than about 2^-{FLOAT32_FRACTION} to one value, a tie the firmware "
                    f"does not make" if logit_type.frac > FLOAT32_FRACTION and not exact else "")
        return {"status": "unproven", "checked": checked, "flipping_logits": flips[:3].tolist(),
                "why": f"{len(flips):,} of {checked:,} logit vectors of {where} take another decision in the head's code than in the "
                       f"model's (first: {_logit_text(flips[0])}){rounding}"}
    if function == "softmax" and n > 1 and logit_type.frac > FLOAT32_FRACTION and not exact:
        return {"status": "unproven", "checked": checked, "flipping_logits": [],
                "why": f"the logits' type {logit_type.hls4ml()} has {logit_type.frac} fraction bits: QKeras's float32 softmax may round two "
                       f"logits closer than 2^-{FLOAT32_FRACTION} to one probability (a tie the firmware does not make)"}
    if function == "softmax" and n > 1:
        argmax = _is_argmax(head)
        how = (f"the firmware outputs the first largest logit, as numpy's argmax of QKeras's softmax does for logits at least "
               f"2^-{FLOAT32_FRACTION} apart; checked on {checked:,} vectors of neighbouring values of {where}" if not exact else
               f"the firmware outputs the first largest logit, as the argmax of the exact evaluation's softmax does; checked on "
               f"{checked:,} vectors of neighbouring values of {where}") if argmax else (
               f"checked on {checked:,} vectors of neighbouring values of {where}; the tables' decision depends on every logit through their sum")
        return {"status": "proven" if argmax else "unproven", "checked": checked, "flipping_logits": [], "why": None if argmax else how, "how": how}
    if function == "softmax":  # one output: always the class
        return {"status": "proven", "checked": checked, "flipping_logits": [], "why": None, "how": "a one-output softmax is 1 whatever its logit"}
    exact = 1 / (1 + np.exp(-values)) if function == "sigmoid" else np.tanh(values)
    error = float(np.abs(head(rows).ravel()[:len(values)] - exact).max())
    return {"status": "proven", "checked": checked, "flipping_logits": [], "why": None, "max_abs_error": error,
            "how": f"every value of {where} ({checked:,}) through the head's code; its values are within {error:.3g} of the exact "
                   f"{function} on all of them"}


def _is_argmax(head: HeadCode) -> bool:
    return str(list(head.graph.get_layers())[-1].get_attr("implementation", "")).lower() == "argmax"


def _logit_text(row: np.ndarray) -> str:
    return "[" + ", ".join(f"{value:g}" for value in np.asarray(row).ravel()[:6]) + (", ...]" if np.size(row) > 6 else "]")


def boundary_inputs(x: np.ndarray, decisions: np.ndarray, logits_of: Callable[[np.ndarray], np.ndarray], function: str,
                    snap: Callable[[np.ndarray], np.ndarray], exact: bool = False, seed: int = 0) -> np.ndarray:
    """Inputs beside the model's decision boundary, where a head's rounding can flip the decision: pairs of samples
    the model decides differently (`decisions`, the model's on x), bisected (on the input grid) until both ends are
    neighbours."""
    decisions = decisions.reshape(len(x), -1)
    rng = np.random.default_rng(seed)
    first, second = rng.integers(0, len(x), size=(2, BOUNDARY_PAIRS * 8))
    differ = (decisions[first] != decisions[second]).any(axis=1)
    first, second = first[differ][:BOUNDARY_PAIRS], second[differ][:BOUNDARY_PAIRS]
    if not len(first):
        return x[:0]
    low, high = x[first].astype(np.float64), x[second].astype(np.float64)
    low_decision = decisions[first]
    for _ in range(BOUNDARY_STEPS):
        middle = snap((low + high) / 2).astype(np.float32)
        same = (model_decisions(function, logits_of(middle), exact).reshape(len(middle), -1) == low_decision).all(axis=1)
        low[same], high[~same] = middle[same], middle[~same]
    return np.concatenate([low, high]).astype(np.float32)


def judge(layout, function: str, x: np.ndarray, outputs: np.ndarray, logits: np.ndarray, logits_proof: dict, model_logits_of: Callable,
          firmware_of: Callable, backend: str, say: Callable[[str], None]) -> dict:
    """validate.json's head fields: the head's settings, its decision against the model's on the samples, the decision
    proof (or a counterexample saved in reports/head_counterexample.npz that replays through the C++ emulation and
    QKeras), and hls4ml's default tables judged the same way beside it. `firmware_of(x)`: the C++ emulation's head
    outputs and logits; `model_logits_of(x)`: QKeras's logits."""
    from codesign.errors import InternalError
    from codesign.fixed import from_float
    from codesign.layout import read_json

    graph = read_json(layout.graph_description)
    layers = graph["layers"]
    head_layer = layers[-1]
    logit_layer = next(layer for layer in layers if layer["name"] == head_layer["inputs"][0])
    logit_type, input_type = Fixed.of(logit_layer["types"]["result_t"]), Fixed.of(layers[0]["types"]["result_t"])
    bounds = next((finding["bounds"]["result"] for finding in logits_proof.get("layers") or [] if finding["name"] == logit_layer["name"]
                   and "result" in finding.get("bounds", {})), None)
    logits = np.asarray(logits, dtype=np.float64).reshape(len(x), -1)
    exact = logits_proof.get("reference") == "exact"  # the logits are claimed equal to the exact evaluation's: so is the decision
    model = model_decisions(function, model_logits_of(x), exact)

    def snap(values):
        return np.clip(from_float(values, input_type), input_type.low, input_type.high) * input_type.lsb

    def judged(settings: dict, own: bool) -> dict:
        code = HeadCode(function, logits.shape[1], logit_type, settings, backend, graph.get("io_type") or "io_parallel")
        try:
            on_samples = code(logits)
            if own and not np.array_equal(on_samples, np.asarray(outputs, dtype=np.float64).reshape(len(x), -1)):
                raise InternalError(f"{layout.root}: hls4ml's {function} compiled alone differs from the firmware's head on the same logits: "
                                    "the decision proof would not be about the firmware (a codesign defect; please report it)")
            flipped = np.flatnonzero((firmware_decisions(function, on_samples) != model).any(axis=1))
            proof = prove_decision(code, logit_type, bounds, logits_proof)
            result = {**described(settings, function), "agreement": float(1 - len(flipped) / max(1, len(x))), "flips": int(len(flipped)),
                      "samples": int(len(x)), "proof": proof}
            if proof["status"] == "proven" and len(flipped):
                result["proof"] = {**proof, "status": "contradicted", "why": (
                    f"the decision proof said proven, but {len(flipped)} test samples are decided otherwise: a codesign defect, not a claim")}
                return result
            found = x[flipped]
            if not len(found) and proof["status"] != "proven":
                found = _flipping_inputs(x, model, code, function, model_logits_of, firmware_of, snap, own, logits_proof.get("status") == "proven", exact)
            if len(found):
                result["proof"] = {**proof, "status": "counterexample", "inputs": int(len(found)),
                                   "why": (f"{len(found)} inputs decided otherwise by the firmware than by the model" +
                                           (f": {proof['why']}" if proof.get("why") else ""))}
                result["counterexample"] = _saved(layout, "head" if own else "hls4ml_head", found[:16], code, function, model_logits_of, firmware_of, own, exact)
            return result
        finally:
            code.close()

    chosen = judged(firmware_settings(head_layer), own=True)
    default = judged({}, own=False)
    domain = (logits_proof.get("domain") or {}).get("text")
    return {"decision": decision_name(function, logits.shape[1]), **chosen, "domain": domain, "reference": "exact" if exact else "qkeras",
            "hls4ml_default": default}


def _flipping_inputs(x, decisions: np.ndarray, code: HeadCode, function: str, model_logits_of, firmware_of, snap, own: bool, exact_logits: bool,
                     exact: bool) -> np.ndarray:
    """Inputs beside the model's decision boundary on which the firmware takes another decision, kept where the C++
    emulation confirms it: screened on QKeras's logits through the head's code when the logits are proven exact (only the
    head can flip), else the first CONFIRMED of them straight through the C++ emulation (the logits may flip it too)."""
    candidates = boundary_inputs(x, decisions, model_logits_of, function, snap, exact)
    if not len(candidates):
        return candidates
    if exact_logits:
        model_logits = model_logits_of(candidates)
        candidates = candidates[(firmware_decisions(function, code(model_logits)) != model_decisions(function, model_logits, exact)).any(axis=1)]
    candidates = candidates[:CONFIRMED]
    if not len(candidates):
        return candidates
    head_outputs, logits = firmware_of(candidates)
    decided = firmware_decisions(function, head_outputs if own else code(logits))
    return candidates[(decided != model_decisions(function, model_logits_of(candidates), exact)).any(axis=1)]


def _saved(layout, name: str, x: np.ndarray, code: HeadCode, function: str, model_logits_of, firmware_of, own: bool, exact: bool) -> str:
    """reports/<name>_counterexample.npz: the inputs, the C++ emulation's logits and head outputs (hls4ml's default head
    run on those logits, for its own), both decisions."""
    head_outputs, logits = firmware_of(x)
    if not own:
        head_outputs = code(logits)
    path = layout.reports_dir / f"{name}_counterexample.npz"
    np.savez(path, x=x, logits=logits, firmware=head_outputs, firmware_decision=firmware_decisions(function, head_outputs),
             model_decision=model_decisions(function, model_logits_of(x), exact))
    return str(path.relative_to(layout.root))


def head_line(head: dict) -> str:
    """The head's first line in reports: what the firmware outputs, whether its decision is proven the model's, and how
    hls4ml's default tables fare on the same samples and domain."""
    what = "the class" if head["implementation"] == "argmax" else f"{head['function']} values ({_tables(head)})"
    proof = head["proof"]
    verdict = {
        "proven": f"its decision proven identical to the model's{' (its exact evaluation)' if head.get('reference') == 'exact' else ''} for "
                  f"{head.get('domain') or 'every input of the domain'}",
        "counterexample": f"its decision differs from the model's on inputs saved in {head.get('counterexample')}",
    }.get(proof["status"], f"its decision not proven ({proof.get('why')})") + (f" ({head['note']})" if head.get("note") and proof["status"] != "proven" else "")
    default = head.get("hls4ml_default") or {}
    beside = ""
    if default.get("proof"):
        found = {"proven": "no flip over the domain", "counterexample": f"flips over the domain ({default.get('counterexample')})"}.get(
            default["proof"]["status"], "not proven")
        beside = f"; hls4ml's default ({_tables(default)}): {default['flips']} of {default['samples']} samples flipped, {found}"
    return (f"head in firmware: outputs {what}; {head['decision']} agreement {head['agreement']:.4f} on {head['samples']} samples; "
            f"{verdict}{beside}")


def _tables(head: dict) -> str:
    if head["implementation"] == "argmax":
        return "argmax"
    size = head.get("table_size") or DEFAULT_TABLE
    return f"{head['implementation']}, {size:,}-entry tables"
