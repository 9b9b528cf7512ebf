"""The bit-exact policy: the firmware's types chosen by verification (convert, compile, compare with QKeras).

No single way of typing a QKeras model is exact on every model hls4ml converts (hls4ml's bit_exact=True emits C++
that does not compile for some, quantizer-derived types drop bits for others), so each candidate is converted,
compiled and run on the data, narrowest first, and the first one identical to QKeras on every output and proven so
over the whole input domain (codesign/proof.py) is kept; when none is proven, the first exact one, saying so.
"""

from __future__ import annotations

import shutil
from typing import Callable

import numpy as np

from codesign.config import FixedPoint, HLSSpec
from codesign.convert import BIT_EXACT_CANDIDATES, Candidate, candidate_keyed, convert
from codesign.errors import CompileFailed, ModelError
from codesign.fixed import Fixed, exact_type_of
from codesign.layers import average_window, is_batch_normalization, is_quantizer_layer, producer_past_identities
from codesign.layout import RunLayout
from codesign.outputs import several
from codesign.progress import Progress
from codesign.repairs import FLOAT_WEIGHT_WIDTH
from codesign.quantizers import (TABLE_FUNCTIONS, UNIT_SCALES, activation_function, activation_quantizer, computed_in_float, first_layer,
                                 is_quantized_layer, quantizer_type, unquantized_weights)

Say = Callable[[str], None]
FLOAT32_MANTISSA = 24  # bits of a float32 significand


def input_types(keras_model, input_quant: FixedPoint | None, x: np.ndarray) -> dict[str, tuple[Fixed, str] | None]:
    """The firmware input types to try, with why: 'narrowest' is the spec's input quantizer, the model's first
    quantizer (the cast from the float input then is the quantizer), or the narrowest type holding every value of
    the data; 'float32-exact' (models that start with a quantizer) keeps the quantizer's integer bits with 24 more
    fraction bits, saturating, which holds every float32 input near a rounding tie exactly, so the quantizer layer
    rounds as QKeras does (hls4ml cannot compile a model that is nothing but a quantizer of its input's own type)."""
    first = first_layer(keras_model)
    quantizer = quantizer_type(activation_quantizer(first)) if is_quantizer_layer(first) else None
    if input_quant is not None:
        narrowest = Fixed(input_quant.bits, input_quant.integer + 1, True, "RND_CONV", "SAT"), "the spec's input quantizer"
    elif quantizer is not None and not quantizer.signed and _read_by_a_ternary(keras_model, first):
        narrowest = Fixed(quantizer.width + 1, quantizer.integer + 1, True, quantizer.rounding, quantizer.saturation), (
            f"the quantizer of the first layer '{first.name}', signed one bit wider: a ternary reads it, whose lower threshold "
            "hls4ml holds in that type (the quantizer stays a layer, clipping as QKeras does)")
    elif quantizer is not None:
        narrowest = quantizer, f"the quantizer of the first layer '{first.name}'"
    else:
        fixed, exact = exact_type_of(x)
        why = "the narrowest type holding every value of the data exactly" if exact else (
            "32 bits over the data's range: the data are not exactly representable in fixed point"
        )
        narrowest = fixed, why
    wide = None
    if quantizer is not None:
        frac = quantizer.frac + FLOAT32_MANTISSA
        wide = Fixed(quantizer.integer + frac, quantizer.integer, quantizer.signed, "TRN", "SAT"), (
            f"the first quantizer's integer bits and {frac} fraction bits: exact for float32 inputs near its rounding ties"
        )
    return {"narrowest": narrowest, "float32-exact": wide}


def _read_by_a_ternary(keras_model, keras_layer) -> bool:
    """Whether a ternary QActivation reads this layer's values (past the identities hls4ml removes)."""
    return any(type(activation_quantizer(layer)).__name__ == "ternary" and producer_past_identities(layer) is keras_layer
               for layer in keras_model.layers if is_quantizer_layer(layer))


def search_types(
    keras_model,
    hls: HLSSpec,
    layout: RunLayout,
    inputs: dict[str, tuple[Fixed, str] | None],
    x: np.ndarray,
    references: tuple[np.ndarray, ...],
    say: Say,
    domain=None,
) -> tuple[dict, list[dict]]:
    """Try the candidates in order and leave the run's hls/ holding the first one that is exact on the test set (equal
    on every sample to one of the `references`: QKeras's outputs, and its exact evaluation where QKeras's float32 sums
    round) and
    proven exact over the domain (codesign/proof.py); when only test-set exactness can be had, the first exact one,
    saying so; when none is exact, the one with the fewest differing samples. After the first exact but unproven
    candidate, later ones are converted and proven before any is compiled, except where its proof found one of its
    types rounding, overflowing or padding where QKeras does not: then a later one whose proof finds none is compiled
    too, and kept if it is exact on the test set (fuzz seed 1318: an ApplyAlpha kept at fixed<16,6> beside a wider
    candidate held back only by a layer the proof does not analyse). Returns the kept candidate's conversion report
    (with its input type) and what every candidate gave."""
    from codesign.emulate import require_gxx

    require_gxx()
    tried: list[dict] = []
    reports: dict[str, dict] = {}
    kept_aside = layout.hls_set_aside
    shutil.rmtree(kept_aside, ignore_errors=True)
    exact_unproven: dict | None = None
    with Progress(len(BIT_EXACT_CANDIDATES), "type candidates (convert, g++, emulate)", "candidate") as bar:
        for candidate in BIT_EXACT_CANDIDATES:
            compile_unproven = exact_unproven is None or exact_unproven["proof_type_failure"]
            outcome, report = _verify(candidate, keras_model, hls, layout, inputs, x, references, domain, compile_unproven)
            tried.append(outcome)
            bar.advance(1, candidate.name)
            say(f"  {candidate.name}: {_describe(outcome)}")
            if report is not None:
                reports[candidate.key] = report
            if outcome["outcome"] == "exact" and outcome["proof"] == "proven":
                break
            if outcome["outcome"] == "exact" and (exact_unproven is None or (exact_unproven["proof_type_failure"] and not outcome["proof_type_failure"])):
                exact_unproven = outcome
                shutil.rmtree(kept_aside, ignore_errors=True)
                layout.hls_dir.rename(kept_aside)  # kept as it is (compiled): restored if no candidate is proven
    kept = next((entry for entry in tried if entry["outcome"] == "exact" and entry["proof"] == "proven"), None)
    if kept is None and exact_unproven is not None:
        shutil.rmtree(layout.hls_dir, ignore_errors=True)
        kept_aside.rename(layout.hls_dir)
        kept = exact_unproven
    shutil.rmtree(kept_aside, ignore_errors=True)
    if kept is None:
        kept = _best(tried)
        if kept is None:
            own = [entry["detail"].replace(f" ({entry['candidate']})", "") for entry in tried  # hls4ml's error, without which candidate met it
                   if entry["key"] != "hls4ml-bit-exact" and entry["outcome"] != "not tried"]
            if len(own) > 1 and len(set(own)) == 1:  # one reason, each of codesign's candidates': said once
                raise ModelError(f"no way of converting this model compiled (each of codesign's type candidates: {own[0]})")
            reasons = "; ".join(f"{entry['candidate']}: {entry['detail']}" for entry in tried)
            raise ModelError(f"no way of converting this model compiled ({reasons})")
        if kept["key"] != tried[-1]["key"]:  # hls/ holds the last candidate tried
            _verify(candidate_keyed(kept["key"]), keras_model, hls, layout, inputs, x, references, domain, True)
    kept["kept"] = True
    return reports[kept["key"]], tried


def _verify(candidate: Candidate, keras_model, hls, layout: RunLayout, inputs, x, references, domain,
            compile_unproven: bool) -> tuple[dict, dict | None]:
    """Convert, prove, screen, compile and emulate one candidate; how it went (`proof_type_failure`: its proof found a
    type that rounds, overflows or pads where QKeras does not), and its conversion report when it converted. Without
    `compile_unproven`, a candidate the proof does not cover stops before the compiler. Where the
    vectorized emulator models the candidate's types (it needs no compiled library), a candidate that differs on the
    test set stops there too: only one that is exact is compiled, and checked against the C++ emulation."""
    from codesign.emulate import compile_library, firmware_outputs, vectorized_outputs
    from codesign.proof import prove

    outcome = {"key": candidate.key, "candidate": candidate.name, "outcome": None, "detail": None, "mismatched_samples": None, "proof": None,
               "proof_type_failure": None, "kept": False}
    if candidate.input != "hls4ml" and inputs[candidate.input] is None:
        return {**outcome, "outcome": "not tried", "detail": "the model does not start with a quantizer"}, None
    input_type, why = inputs[candidate.input] if candidate.input != "hls4ml" else (None, "hls4ml's default type")
    shutil.rmtree(layout.hls_dir, ignore_errors=True)
    try:
        report = convert(keras_model, hls, layout.hls_dir, input_type, layout.log("convert"), candidate)
    except ModelError as error:
        detail = str(error)
        if candidate.bit_exact:  # hls4ml's own bit-exact mode takes HGQ models and some QKeras ones: the next candidates take the rest
            detail = f"hls4ml's bit_exact=True does not take this model; codesign's own types below do. hls4ml said: {detail.split(': ', 1)[-1]}"
        return {**outcome, "outcome": "not converted", "detail": detail}, None
    report["input_type"] = {"type": input_type.hls4ml() if input_type else report["layers"][0]["types"].get("result"), "why": why}
    proof = prove(layout.hls_dir, keras_model, domain, logits=hls.head == "firmware")
    outcome["proof"] = proof.status
    outcome["proof_type_failure"] = any(finding.condition in ("overflow", "rounding", "padding") for finding in proof.failing())
    if proof.status != "proven" and not compile_unproven:
        return {**outcome, "outcome": "not proven", "detail": f"not compiled: {proof.why}"}, report
    screened = vectorized_outputs(layout.hls_dir, x)[0]
    if screened is not None and _mismatched(screened, references):
        mismatched = _mismatched(screened, references)
        detail = f"{mismatched} of {len(x)} samples differ (vectorized emulation; not compiled)"
        return {**outcome, **_contradiction(proof, x, screened, references), "outcome": "not exact", "detail": detail,
                "mismatched_samples": mismatched}, report
    try:
        compile_library(layout.hls_dir, layout.log("compile"))
    except CompileFailed as error:
        return {**outcome, "outcome": "not compiled", "detail": error.first_error}, report
    outputs = firmware_outputs(layout, x)
    mismatched = _mismatched(outputs, references)
    verdict = "exact" if mismatched == 0 else "not exact"
    detail = f"identical on all {len(x)} samples" if not mismatched else f"{mismatched} of {len(x)} samples differ"
    if not mismatched:
        detail += f"; proven for {proof.domain['text']}" if proof.status == "proven" else f"; not proven for every input ({proof.why})"
    return {**outcome, **_contradiction(proof, x, outputs, references), "outcome": verdict, "detail": detail, "mismatched_samples": mismatched}, report


def _differing(outputs: np.ndarray, references: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per sample, whether any output differs from the reference the outputs are closest to."""
    flat = outputs.reshape(len(outputs), -1)
    masks = [(flat != reference.reshape(len(outputs), -1).astype(np.float64)).any(axis=1) for reference in references]
    return min(masks, key=lambda mask: int(mask.sum()))


def _mismatched(outputs: np.ndarray, references: tuple[np.ndarray, ...]) -> int:
    """Samples on which any output differs from the reference the outputs are closest to."""
    return int(_differing(outputs, references).sum())


def _contradiction(proof, x: np.ndarray, outputs: np.ndarray, references: tuple[np.ndarray, ...]) -> dict:
    """A proof that says 'proven' while samples of its own domain differ is contradicted (a codesign defect, never a
    claim): the candidate's `proof` says so."""
    if proof.status != "proven":
        return {}
    against = int((_differing(outputs, references) & proof.contains(x)).sum())
    return {"proof": "contradicted", "proof_detail": f"{against} samples of the proof's domain differ"} if against else {}


def _best(tried: list[dict]) -> dict | None:
    """The emulated candidate with the fewest differing samples (the earliest, narrowest, among equals)."""
    compiled = [entry for entry in tried if entry["mismatched_samples"] is not None]
    return min(compiled, key=lambda entry: entry["mismatched_samples"]) if compiled else None


def _describe(outcome: dict) -> str:
    return f"{outcome['outcome']} ({outcome['detail']})"


def _scaled_kernel_before(layer) -> str | None:
    """The weighted layer right before a batch normalization (past Dropouts) whose kernel carries a scale (an alpha
    other than 1: hls4ml's ApplyAlpha, which hls4ml then fuses into the normalization), by name; None otherwise."""
    parent = producer_past_identities(layer) if is_batch_normalization(layer) else None
    kernel = getattr(parent, "kernel_quantizer_internal", None)
    alpha = kernel.get_config().get("alpha") if hasattr(kernel, "get_config") else None
    return parent.name if kernel is not None and type(kernel).__name__ == "quantized_bits" and alpha not in UNIT_SCALES[1:] else None


def _leaky_relu_floor(quantizer) -> tuple | None:
    """A leaky quantized_relu (negative_slope set) and the lowest value hls4ml's result type for it holds,
    -2^integer; None for any other quantizer."""
    if type(quantizer).__name__ != "quantized_relu" or not getattr(quantizer, "negative_slope", 0) or getattr(quantizer, "use_sigmoid", 0):
        return None
    return quantizer, -(2.0 ** int(quantizer.integer))


def _float_weights_too_wide(layer) -> str | None:
    """'kernel holds' / 'bias holds' / 'kernel and bias hold' where a layer's unquantized weights need more than
    FLOAT_WEIGHT_WIDTH bits to be held exactly (repairs.exact_float_weights stores the others exactly); else None."""
    if not getattr(layer, "weights", None) or hasattr(layer, "get_folded_weights") or is_batch_normalization(layer):
        return None
    quantized = is_quantized_layer(layer)
    kernel, bias = unquantized_weights(layer)
    quantizers = {"kernel": ("kernel_quantizer", "depthwise_quantizer"), "bias": ("bias_quantizer",)}
    named = [(name, values) for name, values in (("kernel", kernel), ("bias", bias))
             if values is not None and not (quantized and any(getattr(layer, key, None) for key in quantizers[name]))]
    wide = [name for name, values in named if not exact_type_of(values, max_width=FLOAT_WEIGHT_WIDTH)[1]]
    return None if not wide else f"{' and '.join(wide)} {'hold' if len(wide) > 1 else 'holds'}"


def _power_of_two_kernel_too_spread(layer) -> str | None:
    """'2^a to 2^b' where a layer's quantized_po2 kernel holds weights no fixed-point type of up to 32 bits holds (the
    others repairs.power_of_two_kernels_whose_shifts_lose_bits stores as numbers, multiplied exactly); else None."""
    quantizer = getattr(layer, "kernel_quantizer_internal", None)
    if type(quantizer).__name__ != "quantized_po2":
        return None
    kernel, _ = unquantized_weights(layer)
    values = np.abs(np.asarray(quantizer(np.asarray(kernel, dtype=np.float32)), dtype=np.float64))
    values = values[values != 0]
    if not values.size or exact_type_of(values)[1]:
        return None
    return f"2^{int(np.log2(values.min()))} to 2^{int(np.log2(values.max()))}"


def _table_function(layer) -> str | None:
    """The function hls4ml computes with a lookup table at this layer: a softmax, sigmoid, tanh... (a Keras layer or
    activation), or a quantized_tanh/quantized_sigmoid with use_real_tanh/use_real_sigmoid (hls4ml's table, where
    without it hls4ml computes QKeras's hard version); None otherwise."""
    function = activation_function(layer)
    if function in TABLE_FUNCTIONS:
        return function
    quantizer = activation_quantizer(layer)
    real = type(quantizer).__name__.removeprefix("quantized_")
    return real if real in ("tanh", "sigmoid") and getattr(quantizer, f"use_real_{real}", False) else None


def why_not_exact(keras_model, layer_name: str, input_type: dict | None, float32_reasons: bool = True) -> str | None:
    """Why a layer where the firmware diverged cannot be exact, where that is known; None otherwise. Without
    `float32_reasons` (the firmware differs from the model's exact evaluation too, so QKeras's float32 is not why),
    a layer QKeras computes in float32 is no reason."""
    layer = next((layer for layer in keras_model.layers if layer.name == layer_name), None)
    if layer is None:
        return None
    if input_type and "not exactly representable" in input_type.get("why", "") and layer is first_layer(keras_model):
        return (
            "the data are not exactly representable in fixed point and the model does not quantize its input, so QKeras "
            "computes this layer on raw floats: put a QActivation(quantized_bits(...)) first, or round the data"
        )
    window = average_window(layer)
    if window and window & (window - 1):
        return (
            f"QKeras averages {window} values in float; hls4ml divides their sum by {window} in fixed point, which cannot "
            f"hold the quotient exactly (only power-of-two windows average exactly): pool over {1 << (window.bit_length() - 1)} or "
            f"{1 << window.bit_length()} values (pad or crop the input), or use max pooling"
        )
    if activation_function(layer) == "hard_sigmoid":
        return (
            "Keras's hard_sigmoid computes 0.2 * x + 0.5 in float32, which for some x lands exactly on a rounding step of "
            "the type after it (Keras rounds those half to even); 0.2 is no binary fraction, so no fixed-point slope lands "
            "on those steps (hls4ml's: 0.2 truncated to ufixed<16,0>, 0.19999695) and half of them round the other way. "
            "Use QKeras's quantized_sigmoid (its hard version: slope 0.5) or quantized_relu in its place"
        )
    scaled = _scaled_kernel_before(layer)
    if scaled is not None:
        return (
            f"hls4ml fuses the alpha scale of {scaled}'s kernel into this batch normalization (FuseConsecutiveBatchNormalization), "
            "in float64: the fused scale and bias are not QKeras's quantized sums scaled and then normalized in float32. Give "
            f"{scaled}'s kernel quantizer alpha=1, or alpha='auto_po2' (codesign folds a power-of-two scale into the kernel)"
        )
    leaky = _leaky_relu_floor(activation_quantizer(layer))
    if leaky is not None:
        quantizer, floor = leaky
        slope = float(quantizer.negative_slope)
        return (
            f"QKeras's quantized_relu({quantizer.bits},{quantizer.integer},negative_slope={slope:g}) clips its negative side at "
            f"{slope * floor:g} (negative_slope times -2^integer); hls4ml's leaky_relu casts negative_slope times the input into "
            f"the result type, down to {floor:g}: inputs whose product rounds below {slope * floor:g} differ. Use quantized_relu "
            "without negative_slope, or more integer bits"
        )
    too_wide = _float_weights_too_wide(layer)
    if too_wide:
        return (f"its {too_wide} float32 values that no fixed-point type of up to {FLOAT_WEIGHT_WIDTH} bits holds exactly (they "
                "span too many powers of two), so the firmware rounds them: quantize them (a QKeras layer's kernel_quantizer, "
                "bias_quantizer), or round the weights")
    if _pads_a_binary_activation(layer):
        return ("hls4ml pads the binary activation this convolution reads as xnor bits, 0 for -1, so its padding is -1 where Keras "
                "pads with 0: use padding='valid', or a quantizer before it whose 0 the padding keeps (ternary, quantized_bits)")
    spread = _power_of_two_kernel_too_spread(layer)
    if spread:
        return (
            f"its kernel is quantized_po2, with weights from {spread}: hls4ml multiplies by a power-of-two weight with a shift inside a "
            "product type of fixed size (nnet::product::weight_exponential: as many fraction bits as the weight's exponent bits plus the "
            "input's width), which truncates the products of small weights, and no fixed-point type of up to 32 bits holds these "
            "weights for codesign to store them as numbers instead: use quantized_bits kernels, or quantized_po2 with fewer bits "
            "(larger smallest weights)"
        )
    function = _table_function(layer)
    if function is not None and (layer is not keras_model.layers[-1] or several(keras_model)):
        ending = ("a head (on the host, or in firmware judged by its decision) ends a model of one output: build one per output"
                  if several(keras_model) else "end the network on it (a head: on the host, or in firmware judged by its decision)")
        return (
            f"hls4ml computes {function} with lookup tables, an approximation of Keras's {function} that no fixed-point type "
            f"makes exact: {ending}, or use a quantized activation in its place (quantized_relu, or quantized_tanh/quantized_sigmoid "
            "without use_real_*)"
        )
    if float32_reasons and layer.name in computed_in_float(keras_model):
        return (
            f"QKeras computes {type(layer).__name__} in float32, which fixed point reproduces only up to float32's "
            "rounding: quantize it (QKeras layers and quantizers; fold a batch normalization into the layer before it)"
        )
    return None


def _pads_a_binary_activation(layer) -> bool:
    """A convolution whose padding='same' pads its input (its windows reach past it) and that reads a binary
    activation's values (fuzz seed 1479 model 4: hls4ml's padding of the xnor bits is -1)."""
    config = layer.get_config()
    if config.get("padding") != "same" or "kernel_size" not in config:
        return False
    producer = producer_past_identities(layer)
    if producer is None or type(activation_quantizer(producer)).__name__ != "binary":
        return False
    sizes = layer.input_shape[1:-1]
    return any(max((-(-size // stride) - 1) * stride + kernel - size, 0) > 0
               for size, kernel, stride in zip(sizes, config["kernel_size"], config["strides"]))
