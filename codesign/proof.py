"""Bit-exact for every input of a domain, not only the test samples: bounds propagated through the converted graph.

Every value a layer can hold is bounded, per element, from the domain and the layer's own weights (interval
arithmetic with each weight's sign), and three conditions are checked at every layer (docs/proof.md):
  overflow  no accumulator leaves its type, and no cast saturates or wraps where QKeras does not;
  float32   every sum QKeras computes in float32 is exact: its partial sums stay below 2^24 steps of the products'
            resolution, whatever the order of summation;
  rounding  the firmware's weights are QKeras's quantized weights, products and biases enter the accumulator
            exactly, and every cast that rounds or saturates equals the QKeras quantizer at that point on every
            value the bounds allow (checked value by value over that finite grid).
"proven" when every condition holds at every layer; otherwise the layers and conditions that fail. The analysis
covers the layer kinds of the `proof` column of codesign/layers.py; any other layer leaves the claim "unproven", with
its name.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from codesign.exact import PASSIVE_FUNCTIONS
from codesign.fixed import EXACT_FLOAT32, XNOR_VALUES, Fixed, from_float, quantize
from codesign.layers import (
    ACTIVATION, APPLY_ALPHA, BATCH_NORMALIZATION, BATCHNORM_QUANTIZED_TANH, CLONE, CONCATENATE, CONV1D, CONV2D, CONV2D_BATCHNORM, CROPPING1D, CROPPING2D, DENSE,
    DEPTHWISE_CONV1D, DEPTHWISE_CONV2D, GLOBAL_POOLING1D, GLOBAL_POOLING2D, HARD_ACTIVATION, MERGE, DOT, PARAMETRIZED_ACTIVATION, POINTWISE_CONV1D, POINTWISE_CONV2D,
    POOLING1D, POOLING2D, PRELU, REPACK, RESHAPE, RESIZE, TRANSPOSE, ZERO_PADDING1D, ZERO_PADDING2D, graph_kind, implements, inputs_of, is_hgq_proxy_layer, is_identity,
    is_quantizer_layer, kind_of, padded, planar_attributes, producer_past_identities, split_activation, split_owner, unhandled, weights_in_firmware, writes_xnor_bits,
)
from codesign.quantizers import activation_quantizer, first_layer, is_step_quantizer, quantizer_type, unquantized_weights
from codesign.vectorized import VectorizedEmulator, exponent_width, max_pool_padding, shifts_lost

GRID_LIMIT = 2**22  # the most values a cast is checked on, one by one
FLOAT_LIMIT = 2.0**40  # an unbounded domain is cut here before the input type's cast (which saturates far below)


@dataclass(frozen=True)
class Domain:
    """The inputs a claim is about: per input element a [low, high] range of floats, and how to say it."""

    low: np.ndarray
    high: np.ndarray
    text: str

    @classmethod
    def of(cls, ranges, size: int, input_type: Fixed, quantized_input: bool) -> "Domain":
        """The spec's `validation.domain` (None, [low, high], or one [low, high] per input element) over `size`
        elements. Without one: every float32 input when the model starts with a QKeras quantizer (which maps them to
        a finite set), else every value of the firmware's input type."""
        if ranges is None:
            if quantized_input:  # QKeras quantizes as x + (q - x) in float32: exact while x * 2^frac stays below 2^23
                limit = max(2.0 ** (23 - input_type.frac), -input_type.low * input_type.lsb)
                return cls(np.full(size, -limit), np.full(size, limit),
                           f"every float32 input in [-{limit:g}, {limit:g}] (quantized to {input_type.hls4ml()})")
            low, high = input_type.low * input_type.lsb, input_type.high * input_type.lsb
            return cls(np.full(size, low), np.full(size, high), f"every value of the input type {input_type.hls4ml()}")
        pairs = np.asarray(ranges, dtype=np.float64).reshape(-1, 2)
        if len(pairs) not in (1, size):
            raise ValueError(f"validation.domain: {len(pairs)} [low, high] pairs for an input of {size} values (give 1 or {size})")
        pairs = np.broadcast_to(pairs, (size, 2))
        text = f"[{pairs[0, 0]:g}, {pairs[0, 1]:g}]" if len(np.unique(pairs, axis=0)) == 1 else f"{size} per-feature ranges"
        text = f"every float32 input in {text}" if quantized_input else f"every value of the input type {input_type.hls4ml()} in {text}"
        return cls(pairs[:, 0].copy(), pairs[:, 1].copy(), text)

    def dump(self) -> dict:
        return {"text": self.text, "low": float(self.low.min()), "high": float(self.high.max())}


@dataclass
class Bounds:
    """Per element, the smallest and largest raw integer a tensor can hold (value = raw / 2^frac)."""

    low: np.ndarray
    high: np.ndarray
    frac: int

    def values(self) -> list[float]:
        return [float(self.low.min() / 2.0**self.frac), float(self.high.max() / 2.0**self.frac)]


@dataclass
class Finding:
    """What the analysis found at one layer: whether every condition holds, and else which one fails and why."""

    name: str
    kind: str
    holds: bool
    condition: str | None = None  # overflow, float32, rounding, padding, or 'not analysed'
    why: str | None = None
    bounds: dict = field(default_factory=dict)  # value ranges: 'accum' (the exact sums), 'result'
    types: dict = field(default_factory=dict)
    extremes: list[int] = field(default_factory=list)  # the output elements whose sums reach the lowest and highest bound
    float32: str | None = None  # against the exact reference: where QKeras's float32 arithmetic may round instead
    witness: float | None = None  # a value at this layer's input on which its cast and QKeras differ


@dataclass
class Proof:
    """The outcome over a domain: 'proven', or 'unproven' with the layers that fail (a counterexample search follows)."""

    status: str
    domain: dict
    layers: list[Finding]
    seconds: float
    why: str | None = None
    counterexample: str | None = None
    inputs: Domain | None = field(default=None, repr=False)  # the domain as arrays (not written out)
    input_type: Fixed | None = field(default=None, repr=False)
    quantized_input: bool = False  # the model starts with a QKeras quantizer: the domain is floats, not the type's grid
    reference: str = "qkeras"  # what the firmware is proven equal to: QKeras, or its exact evaluation (codesign/exact.py)

    def failing(self) -> list[Finding]:
        return [finding for finding in self.layers if not finding.holds]

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Per sample, whether the claim is about it: inside the ranges and, unless a quantizer takes every float, on
        the input type's grid."""
        flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        inside = ((flat >= self.inputs.low) & (flat <= self.inputs.high)).all(axis=1)
        if not self.quantized_input:
            scaled = flat / self.input_type.lsb
            inside &= (scaled == np.round(scaled)).all(axis=1)
        return inside

    def dump(self) -> dict:
        data = {key: value for key, value in asdict(self).items() if key not in ("inputs", "input_type")}
        return {**data, "layers": [asdict(finding) for finding in self.layers]}


def prove(hls_dir: Path, keras_model, domain_ranges=None, logits: bool = False) -> Proof:
    """Bound every layer of the run's converted graph (hls/codesign_graph.json) over the domain and check the three
    conditions against the QKeras model; with `logits`, stops before the last layer, a head in firmware (its lookup
    tables are judged apart from bit-exactness, as validation does). Where only QKeras's float32 rounding stands in the
    way and the model has an exact evaluation (codesign/exact.py), the claim is made against that evaluation instead:
    the float32 condition becomes a note, and casts of values float32 cannot hold are checked against the quantizer's
    exact cast."""
    from codesign.exact import why_unavailable

    proof = _prove(hls_dir, keras_model, domain_ranges, logits, exact=False)
    failing = proof.failing()
    if failing and all(finding.condition == "float32" for finding in failing) and why_unavailable(keras_model) is None:
        against_exact = _prove(hls_dir, keras_model, domain_ranges, logits, exact=True)
        if _exact_values_fit_float64(against_exact):
            return against_exact
    return proof


def _exact_values_fit_float64(proof: Proof) -> bool:
    """Whether the exact evaluation can be computed wherever the claim holds: it returns its values as float64, exact
    below 2^53, so a layer whose bounds reach past that (a PReLU's float32 alpha times a 33-bit value, 63 bits: fuzz seed
    1400 model 4) has no exact reference on some inputs, and a claim against it could not be checked there."""
    for finding in proof.layers:
        result, bounds = Fixed.parse(finding.types.get("result_t")), finding.bounds.get("result")
        if result is not None and bounds and max(abs(bound) for bound in bounds) * 2.0**result.frac >= 2.0**53:
            return False
    return True


def _prove(hls_dir: Path, keras_model, domain_ranges, logits: bool, exact: bool) -> Proof:
    started = time.perf_counter()
    analysis = _Analysis(VectorizedEmulator(hls_dir), keras_model, exact)
    layers = analysis.emulator.layers
    last_layer = layers[-1]["inputs"][0] if logits else None  # the layer feeding the head in firmware (its tables: apart)
    input_type = Fixed.of(layers[0]["types"]["result_t"])
    size = int(np.prod(keras_model.input_shape[1:]))
    quantizer = analysis.input_quantizer()
    domain = Domain.of(domain_ranges, size, (quantizer_type(quantizer) if quantizer is not None else None) or input_type, quantizer is not None)
    hgq = next((layer for layer in keras_model.layers if is_hgq_proxy_layer(layer)), None)
    if hgq is not None:  # its casts give each value a type of its own: the bounds would be checked against no QKeras quantizer
        finding = Finding(hgq.name, type(hgq).__name__, True)
        _fail(finding, "not analysed", "an HGQ proxy model (a type per value): the proof does not analyse HGQ's quantizers; the firmware "
                                       "is compared with the proxy model sample by sample and on the inputs drawn to break it")
        return Proof("unproven", domain.dump(), [finding], round(time.perf_counter() - started, 3), _describe(finding), inputs=domain,
                     input_type=input_type, quantized_input=quantizer is not None)
    findings = analysis.run(domain, last_layer)
    if all(finding.holds for finding in findings):
        findings += analysis.quantizers_in_no_layer(last_layer)
    failing = [finding for finding in findings if not finding.holds]
    why = "; ".join(_describe(finding) for finding in failing[:3]) or None
    return Proof("proven" if not failing else "unproven", domain.dump(), findings, round(time.perf_counter() - started, 3), why,
                 inputs=domain, input_type=input_type, quantized_input=quantizer is not None, reference="exact" if exact else "qkeras")


def _describe(finding: Finding) -> str:
    return f"{finding.name} ({finding.kind}): {finding.condition}: {finding.why}"


class _Analysis:
    """One pass over the graph: each layer's bounds from its input's, and its findings."""

    def __init__(self, emulator: VectorizedEmulator, keras_model, exact: bool = False):
        self.emulator = emulator
        self.exact = exact  # the claim is against the exact evaluation: QKeras's float32 rounding is a note
        self.keras = {layer.name: layer for layer in keras_model.layers}
        self.keras_model = keras_model
        self.bounds: dict[str, Bounds] = {}
        self.checked: set[str] = set()  # layers whose cast was already checked with the input's
        self.folded: set[str] = set()  # QActivations whose cast a firmware layer was checked against

    def run(self, domain: Domain, last_layer: str | None) -> list[Finding]:
        findings = []
        for layer in self.emulator.layers:
            kind = graph_kind(layer)
            types = {key: value.get("text") for key, value in layer["types"].items() if key != "table_t"}
            finding = Finding(layer["name"], layer["class"], True, types=types)
            source = next((self.bounds[name] for name in layer["inputs"] if name in self.bounds), None)
            other = next((value["text"] for key, value in layer["types"].items() if key != "table_t" and "width" not in value
                          and not (key == "weight_t" and (value["text"] == "uint<1>" or exponent_width(value) is not None))
                          and not (key == "result_t" and kind in (BATCHNORM_QUANTIZED_TANH, RESHAPE))), None)  # xnor bits: _thresholded
            if other is not None:  # binary / xnor or exponent (po2) values, which hls4ml encodes its own way
                _fail(finding, "not analysed", f"type {other} is not fixed point (binary, xnor or power-of-two values): not analysed")
                findings.append(finding)
                break
            if kind is not None and kind.role == "input":
                self.bounds[layer["name"]] = self._input(layer, domain, finding)
            elif kind is None or kind.handler("proof") is None or source is None or weights_in_firmware(layer):
                _fail(finding, "not analysed", weights_in_firmware(layer) or unhandled(layer["class"], "proof"))
                findings.append(finding)
                break
            else:
                try:
                    self.bounds[layer["name"]] = kind.handler("proof")(self, layer, source, finding)
                except (KeyError, ValueError, IndexError) as error:  # a layout or a value the analysis does not know
                    _fail(finding, "not analysed", f"{type(error).__name__}: {error}")
                except OverflowError:  # a power-of-two kernel of 2^-1000 and the like: bounds scaled past float64's exponents
                    _fail(finding, "not analysed", "its bounds need more than float64's exponent range (2^-1022 to 2^1023): not analysed")
                if finding.condition == "not analysed" or layer["name"] not in self.bounds:  # no bounds past this layer
                    findings.append(finding)
                    break
            for output in layer.get("outputs", ()):  # a Clone's copies are read by their own names
                self.bounds.setdefault(output, self.bounds[layer["name"]])
            if "result" not in finding.bounds:
                finding.bounds["result"] = self.bounds[layer["name"]].values()
            findings.append(finding)
            if layer["name"] == last_layer:
                break
        return findings

    # --- where the model meets the domain ---------------------------------------------------------------------

    def input_quantizer(self):
        """The QKeras quantizer the model applies to its raw input first (hls4ml folds it into the input type)."""
        layer = first_layer(self.keras_model)
        return activation_quantizer(layer) if is_quantizer_layer(layer) else None

    def _input(self, layer: dict, domain: Domain, finding: Finding) -> Bounds:
        """The input type's cast of the domain; with an input quantizer, checked against it on every float32 at which
        either could change its value (each rounding tie of the quantized grid and its float32 neighbours, the
        saturation range, the domain's ends). Where hls4ml keeps the quantizer as a layer after a wider input type,
        the pair (input cast, then that layer's cast) is what is checked."""
        result = Fixed.of(layer["types"]["result_t"])
        low = from_float(np.clip(domain.low, -FLOAT_LIMIT, FLOAT_LIMIT), result)
        high = from_float(np.clip(domain.high, -FLOAT_LIMIT, FLOAT_LIMIT), result)
        quantizer = self.input_quantizer()
        if quantizer is None:
            return Bounds(low, high, result.frac)
        firmware, grid = lambda x: from_float(x, result) * result.lsb, result  # noqa: E731
        quantizer_layer = next((other for other in self.emulator.layers if other["name"] == first_layer(self.keras_model).name), None)
        if quantizer_layer is not None:
            if quantizer_layer["inputs"] != [layer["name"]] or graph_kind(quantizer_layer) is not ACTIVATION:
                _fail(finding, "not analysed", f"the input quantizer is firmware layer '{quantizer_layer['name']}', not right after the input")
                return Bounds(low, high, result.frac)
            grid = Fixed.of(quantizer_layer["types"]["result_t"])
            relu = quantizer_layer["attributes"].get("activation") == "relu"
            firmware = lambda x: quantize(np.maximum(from_float(x, result), 0) if relu else from_float(x, result), result.frac, grid) * grid.lsb  # noqa: E731
            self.checked.add(quantizer_layer["name"])
        lo = max(float(domain.low.min()), grid.low * grid.lsb - 4 * grid.lsb)
        hi = min(float(domain.high.max()), grid.high * grid.lsb + 4 * grid.lsb)
        count = np.ceil(hi / grid.lsb) - np.floor(lo / grid.lsb) + 1
        if count > GRID_LIMIT:
            _fail(finding, "rounding", f"{count:,.0f} rounding steps of {grid.hls4ml()} to check against the input quantizer (limit {GRID_LIMIT:,})")
            return Bounds(low, high, result.frac)
        steps = np.arange(np.floor(lo / grid.lsb), np.ceil(hi / grid.lsb) + 1)
        extremes = [float(domain.low.min()), float(domain.high.max())]
        powers = 2.0 ** np.arange(np.floor(np.log2(grid.lsb)), 128)  # where both saturate: powers of two, their neighbours
        points = np.concatenate([((steps + 0.5) * grid.lsb).astype(np.float32), (steps * grid.lsb).astype(np.float32), powers.astype(np.float32),
                                 -powers.astype(np.float32), np.float32([0.0, lo, hi] + [value for value in extremes if np.isfinite(value)])])
        points = np.concatenate([points, np.nextafter(points, np.float32(np.inf)), np.nextafter(points, np.float32(-np.inf))])
        points = points[np.isfinite(points) & (points >= extremes[0]) & (points <= extremes[1])]
        expected = np.asarray(quantizer(points), dtype=np.float64)
        cast = firmware(points.astype(np.float64))
        wrong = np.flatnonzero(expected != cast)
        if len(wrong):
            value = finding.witness = float(points[wrong[0]])
            _fail(finding, "rounding", f"the firmware's input cast{' and ' + quantizer_layer['name'] if quantizer_layer else ''} "
                                       f"take {value!r} to {cast[wrong[0]]!r}, the input quantizer to {expected[wrong[0]]!r}")
        return Bounds(low, high, result.frac)

    # --- casts ------------------------------------------------------------------------------------------------

    def _cast(self, finding: Finding, source: Bounds, result: Fixed, keras_function, pre: Callable | None = None, check: bool = True) -> Bounds:
        """The cast of `source` into `result` (after `pre`, e.g. a relu), checked: with no QKeras function at this
        point it must be exact over the bounds; with one, equal to it on every raw value the bounds allow."""
        pre = pre or (lambda raw: raw)
        low, high = pre(source.low.copy()), pre(source.high.copy())
        bounds = Bounds(quantize(low.copy(), source.frac, _saturating(result)), quantize(high.copy(), source.frac, _saturating(result)), result.frac)
        shift = 2.0 ** (result.frac - source.frac)
        exact = result.frac >= source.frac and float(low.min(initial=0)) * shift >= result.low and float(high.max(initial=0)) * shift <= result.high
        if not check:
            return bounds
        if keras_function is None:
            if not exact:
                condition = "overflow" if result.frac >= source.frac else "rounding"
                finding.holds, finding.condition = False, condition
                finding.why = (f"result type {result.hls4ml()} {'saturates or wraps' if condition == 'overflow' else 'rounds'} values "
                               f"in {Bounds(low, high, source.frac).values()}, where QKeras keeps them exact")
            return bounds
        if exact and getattr(keras_function, "__name__", None) in PASSIVE_FUNCTIONS:  # a relu or identity into a type holding
            if max(-float(low.min(initial=0)), float(high.max(initial=0))) >= 2.0**24:  # every value: none to enumerate
                self._float32(finding, f"QKeras holds values of {Bounds(low, high, source.frac).values()} in float32, not all exactly")
            return bounds
        raw = _grid(float(source.low.min()), float(source.high.max()), source.frac, result)
        if raw is None:
            _fail(finding, "rounding", f"too many values reach the cast into {result.hls4ml()} to check them one by one, or its steps")
            return bounds
        values = raw * 2.0**-source.frac
        firmware = quantize(pre(raw.copy()), source.frac, result) * 2.0**-result.frac
        if not np.array_equal(values.astype(np.float32), values):
            why = f"QKeras holds values of {Bounds(source.low, source.high, source.frac).values()} in float32, not all exactly"
            if not self.exact:
                _fail(finding, "float32", why)
                return bounds
            finding.float32 = why
            expected = _exact_function(keras_function, pre(raw.copy()), source.frac)
            if expected is None:
                _fail(finding, "rounding", f"{keras_function!r} has no exact fixed-point cast to compare with")
                return bounds
        else:
            expected = np.asarray(keras_function(values.astype(np.float32)), dtype=np.float64).reshape(-1)
        wrong = np.flatnonzero(firmware != expected)
        if len(wrong):
            value = finding.witness = float(values[wrong[0]])
            _fail(finding, "rounding", (f"result type {result.hls4ml()} gives {firmware[wrong[0]]!r} for {value!r}, QKeras {expected[wrong[0]]!r} "
                           f"({len(wrong):,} of the {len(raw):,} values checked differ)"))
        return bounds

    def keras_function(self, name: str):
        """What QKeras applies elementwise at this firmware layer's output: a QActivation's quantizer, a Q-layer's
        activation (found by the firmware layer's name, or the Keras layer it was split from), or None."""
        layer = self.keras.get(name)
        if layer is None:  # hls4ml splits 'fc1' with activation=... into 'fc1' and 'fc1_<activation>'
            owner = self._split_from(name)
            function = activation_quantizer(self.keras[owner]) if owner else None
            if function is not None or owner is None:
                return function
            activation = split_activation(self.keras[owner])
            if name == activation and not name.endswith("_linear"):  # 'fc1_relu' holding the next QActivation's cast: both
                quantizer = self._folded_quantizer(owner, name)
                return None if quantizer is None else _Composed(self.keras[owner].activation, quantizer)
            return self._folded_quantizer(owner, name if self._separable_half(name) else None)  # else its '<owner>_linear'
        if is_quantizer_layer(layer):
            return layer.quantizer
        if is_step_quantizer(activation_quantizer(layer)):  # computed by the activation hls4ml splits off, '<name>_binary'
            return None
        folded = activation_quantizer(layer) or self._folded_quantizer(name, name)
        if folded is not None and kind_of(layer) is ACTIVATION:  # a Keras relu holding the next QActivation's cast
            return _Composed(layer.activation, folded)
        return folded

    def _split_from(self, name: str) -> str | None:
        """The Keras layer a firmware layer hls4ml split off was part of ('fc1' for 'fc1_alpha', 'fc1_relu'), or None."""
        return split_owner(name, self.keras)

    def _folded_quantizer(self, keras_name: str, firmware_name: str | None = None):
        """The quantizer of the QActivation that alone follows Keras layer `keras_name`, when hls4ml moved its cast
        into firmware layer `firmware_name` (whose result type is then the quantizer's own type), or into the layer
        hls4ml split off as '<layer>_linear' (`firmware_name` None). None otherwise."""
        consumers = [other for other in self.keras.values() if len(inputs_of(other)) == 1 and not is_identity(other)
                     and producer_past_identities(other) is self.keras[keras_name]]  # hls4ml removes the identities between
        if len(consumers) != 1 or not is_quantizer_layer(consumers[0]):
            return None
        if firmware_name is None:
            self.folded.add(consumers[0].name)
            return consumers[0].quantizer
        if any(layer["name"] == f"{firmware_name}_alpha" for layer in self.emulator.layers):
            return None  # its scale follows: QKeras's quantizer acts on the scaled value, at '<layer>_alpha'
        result = next(layer["types"]["result_t"] for layer in self.emulator.layers if layer["name"] == firmware_name)
        moved = "width" in result and Fixed.of(result) == quantizer_type(consumers[0].quantizer)
        if moved:
            self.folded.add(consumers[0].name)
        return consumers[0].quantizer if moved else None

    def quantizers_in_no_layer(self, last_layer: str | None) -> list[Finding]:
        """The proof checks itself: each QActivation's cast must be a firmware layer, the input type or a cast a
        firmware layer was checked against; a quantizer that is none of them (hls4ml merged it away, as after a
        Dropout: 100 of 100 samples off while every layer held) fails the claim at that quantizer."""
        present = {layer["name"] for layer in self.emulator.layers} | self.folded
        first = first_layer(self.keras_model)
        present |= {first.name} if self.input_quantizer() is not None else set()
        heads = {self.keras_model.layers[-1].name} if last_layer is not None else set()  # a firmware head is judged apart
        findings = []
        for layer in self.keras_model.layers:
            if is_quantizer_layer(layer) and layer.name not in present | heads:
                finding = Finding(layer.name, type(layer).__name__, True)
                _fail(finding, "rounding", f"QKeras applies {layer.quantizer} here and no firmware layer does "
                                           "(hls4ml merged it into no layer's result type)")
                findings.append(finding)
        return findings

    def _float32(self, finding: Finding, why: str) -> None:
        """QKeras's float32 arithmetic may round here: a failing condition against QKeras, a note against the exact
        evaluation."""
        if self.exact:
            finding.float32 = why
        else:
            _fail(finding, "float32", why)

    # --- layers -----------------------------------------------------------------------------------------------

    @implements("proof", DENSE)
    def _dense(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        attributes = layer["attributes"]
        kernel = self.emulator.weights(layer, "weight").reshape(attributes["n_in"], attributes["n_out"])
        return self._weighted(layer, finding, source.low[np.newaxis], source.high[np.newaxis], source.frac, kernel)

    @implements("proof", CONV1D, CONV2D, CONV2D_BATCHNORM, DEPTHWISE_CONV1D, DEPTHWISE_CONV2D, POINTWISE_CONV1D, POINTWISE_CONV2D)
    def _convolution(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        kind = graph_kind(layer)
        if layer["name"] not in self.keras and self._separable_half(layer["name"]) is None:
            _fail(finding, "not analysed", f"made by hls4ml from part of Keras layer '{self._split_from(layer['name'])}': "
                                           "its weights cannot be compared with QKeras's")
            return source
        a = planar_attributes(layer)  # a Conv1D: a row of height one
        channels = a["n_chan"]
        if padded(a) and self._reads_xnor(layer):
            _fail(finding, "padding", "hls4ml pads a binary activation's xnor bits with 0, which this convolution's binary product reads as "
                                      "-1, where Keras pads with 0 (fuzz seed 1479 model 4): pad with padding='valid', or feed it a "
                                      "quantizer other than binary")
        low, high = (VectorizedEmulator.patches(raw[np.newaxis], 1, a, channels) for raw in (source.low, source.high))
        if kind in (DEPTHWISE_CONV1D, DEPTHWISE_CONV2D):
            return self._depthwise(layer, finding, low[0], high[0], source.frac, a)
        kernel = self.emulator.weights(layer, "weight").reshape(-1, a["n_filt"])
        taps = kernel.shape[0]
        return self._weighted(layer, finding, low.reshape(-1, taps), high.reshape(-1, taps), source.frac, kernel)

    def _depthwise(self, layer: dict, finding: Finding, low: np.ndarray, high: np.ndarray, frac: int, a: dict) -> Bounds:
        """Per channel and multiplier: the window's products, each bounded by its weight's sign (`a`: the layer's
        attributes, a 1D one's as its 2D twin's)."""
        kernel = self.emulator.weights(layer, "weight").reshape(a["filt_height"], a["filt_width"], a["n_chan"], -1)
        positive, negative = np.maximum(kernel, 0), np.minimum(kernel, 0)
        sums = lambda x, w: np.einsum("hwyxc,yxcm->hwcm", x, w).reshape(-1)  # noqa: E731
        bounds = (sums(low, positive) + sums(high, negative), sums(high, positive) + sums(low, negative))
        largest = sums(np.maximum(np.abs(low), np.abs(high)), np.abs(kernel))
        return self._accumulate(layer, finding, bounds, largest, frac, kernel)

    def _weighted(self, layer: dict, finding: Finding, low: np.ndarray, high: np.ndarray, frac: int, kernel: np.ndarray) -> Bounds:
        """Rows of inputs (one per output position) times the kernel: the exact sums' bounds with each weight's sign."""
        positive, negative = np.maximum(kernel, 0), np.minimum(kernel, 0)
        bounds = ((low @ positive + high @ negative).reshape(-1), (high @ positive + low @ negative).reshape(-1))
        largest = (np.maximum(np.abs(low), np.abs(high)) @ np.abs(kernel)).reshape(-1)
        return self._accumulate(layer, finding, bounds, largest, frac, kernel)

    def _accumulate(self, layer: dict, finding: Finding, bounds, largest: np.ndarray, frac: int, kernel: np.ndarray) -> Bounds:
        """The accumulator (products and bias, exact?), QKeras's float32 sums (exact?), the weights (QKeras's?) and the
        cast into the result type."""
        types = layer["types"]
        accum, weight = Fixed.of(types["accum_t"]), self.emulator.weight_type(layer, "weight")
        product_frac = frac + weight.frac
        bias, _, bias_frac = self.emulator.bias(layer, int(layer["attributes"].get("n_filt", layer["attributes"].get("n_out", 0))))
        common = max(product_frac, bias_frac, accum.frac)
        tiled = np.resize(bias, len(bounds[0]))  # outputs are position-major, channel-minor: the bias repeats per position
        scale = 2.0 ** (common - product_frac)
        low = bounds[0] * scale + tiled * 2.0 ** (common - bias_frac)
        high = bounds[1] * scale + tiled * 2.0 ** (common - bias_frac)
        magnitude = largest * scale + np.abs(tiled) * 2.0 ** (common - bias_frac)  # every partial sum, in any order
        finding.bounds["accum"] = [float(low.min() / 2.0**common), float(high.max() / 2.0**common)]
        finding.extremes = [int(low.argmin()), int(high.argmax())]
        if types["weight_t"].get("text") == "uint<1>" and self._reads_xnor(layer) and np.any(bias != 0):
            _fail(finding, "rounding", "hls4ml casts a sum of binary inputs times binary weights as 2 * acc - n_in, an integer "
                                       "(nnet::cast for xnor data and weights): the bias is doubled and its fraction dropped")
        alpha = self._alpha_after(layer)
        alpha_scale = self._alpha_scale(alpha)[0] if alpha else self._merged_alpha_scale(layer)
        alpha = alpha or alpha_scale is not None
        self._check_weights(layer, finding, kernel * (1 if alpha_scale is None else alpha_scale), weight, alpha)
        self._check_shifts(layer, finding, kernel, weight)
        # a kernel whose weights all end in zero bits needs that many fewer (a power-of-two kernel's 2^-8 grid), even past
        # its type's fraction (quantized_bits(3,4) weights, multiples of 4, make products coarser than the inputs)
        nonzero = np.abs(kernel[kernel != 0]).astype(np.int64)
        product_frac -= int(np.min(nonzero & -nonzero)).bit_length() - 1 if nonzero.size else 0
        finest = max(product_frac, bias_frac)  # QKeras's float32 sums are multiples of 2^-finest
        scaled = 2.0 ** (accum.frac - common)
        in_range = float(low.min(initial=0)) * scaled >= accum.low and float(high.max(initial=0)) * scaled <= accum.high
        if accum.saturation != "WRAP":  # saturation depends on the partial sums, whatever their order
            in_range = float(magnitude.max(initial=0)) * scaled <= min(-accum.low, accum.high)
        if finest > accum.frac:
            _fail(finding, "rounding", (f"accumulator {accum.hls4ml()} keeps {accum.frac} fraction bits; the products need {product_frac}"
                           + (f", the bias {bias_frac}" if bias_frac > accum.frac else "") + ": it rounds where QKeras does not"))
        if not in_range:
            _fail(finding, "overflow", f"accumulator {accum.hls4ml()} holds [{accum.low * accum.lsb:g}, {accum.largest:g}]; the sums reach {finding.bounds['accum']}")
        if float(magnitude.max(initial=0)) * 2.0 ** (finest - common) >= EXACT_FLOAT32:
            self._float32(finding, (f"QKeras sums in float32: partial sums can reach {float(magnitude.max()) / 2.0**common:g}, "
                                    f"more than 2^24 steps of {2.0 ** -finest:g}, so they may round"))
        accumulated = Bounds(np.clip(low * scaled, accum.low, accum.high), np.clip(high * scaled, accum.low, accum.high), accum.frac)
        intermediate = (self._separable_half(layer["name"]) or (None, None))[1] == "depthwise"  # QKeras keeps it in float32
        keras_function = None if alpha or intermediate else self.keras_function(layer["name"])  # QKeras's function comes after the scale
        return self._cast(finding, accumulated, Fixed.of(types["result_t"]), keras_function)

    def _reads_xnor(self, layer: dict) -> bool:
        """Whether the layer reads a merged binary activation's xnor bits (through reshapes)."""
        layers = {other["name"]: other for other in self.emulator.layers}
        producer = layers.get(layer["inputs"][0])
        while producer is not None and graph_kind(producer) is RESHAPE:
            producer = layers.get(producer["inputs"][0])
        return producer is not None and writes_xnor_bits(producer)

    def _check_shifts(self, layer: dict, finding: Finding, kernel: np.ndarray, weight: Fixed) -> None:
        """A power-of-two kernel's products: hls4ml shifts the input by each exponent e inside
        ap_fixed<2(E + W), E + W> (nnet::product::weight_exponential; E the exponent's bits, W the input's width), which
        drops the bits of a right shift past its fraction bits and wraps a left shift past its integer bits."""
        exponent_bits = exponent_width(layer["types"]["weight_t"])
        if exponent_bits is None:
            return
        data = self.emulator.input_type(layer)
        room = exponent_bits + data.width  # the product type's integer bits, and its fraction bits
        lost = shifts_lost(data, exponent_bits, np.log2(np.abs(kernel[kernel != 0])).astype(np.int64) - weight.frac)
        if lost:
            _fail(finding, "rounding", f"hls4ml shifts the {data.hls4ml()} input by each power-of-two weight inside ap_fixed<{2 * room},{room}> "
                                       f"(weight_exponential), which cannot hold x * 2^{lost[0]} exactly where QKeras does")

    def _separable_half(self, name: str) -> tuple | None:
        """(the Keras separable convolution, 'depthwise' or 'pointwise') for a half hls4ml split off one
        ('<name>_depthwise', '<name>_pointwise'); None for any other layer."""
        owner = self._split_from(name)
        half = name[len(owner) + 1:] if owner else None
        if half in ("depthwise", "pointwise") and getattr(self.keras[owner], "pointwise_kernel", None) is not None:
            return self.keras[owner], half
        return None

    def _check_weights(self, layer: dict, finding: Finding, kernel: np.ndarray, weight: Fixed, scaled: bool = False) -> None:
        """The firmware's weights and bias against what QKeras multiplies by and adds: its quantized kernel and bias
        (of the batch-normalization-folded ones for a QConv2DBatchnorm; a separable convolution's depthwise or pointwise
        kernel for the half hls4ml split off it, the bias the pointwise half's). `scaled`: the kernel is times the
        scales of the ApplyAlpha after it, which holds the bias (checked there)."""
        keras_layer, half = self.keras.get(layer["name"]), None
        if keras_layer is None:
            keras_layer, half = self._separable_half(layer["name"]) or (None, None)
        if keras_layer is None or not keras_layer.get_weights():
            _fail(finding, "rounding", f"no Keras layer '{layer['name']}' with weights to compare the firmware's with")
            return
        values, keras_bias = unquantized_weights(keras_layer)
        quantizer = getattr(keras_layer, "kernel_quantizer_internal", None) or getattr(keras_layer, "depthwise_quantizer_internal", None)
        if half is not None:
            values = np.asarray(getattr(keras_layer, f"{half}_kernel").numpy(), dtype=np.float32)
            quantizer = getattr(keras_layer, f"{half}_quantizer_internal", None)
            keras_bias = np.float32(0) if half == "depthwise" else keras_bias  # QKeras adds the bias after the pointwise half
        expected = _quantized(values, quantizer)
        if not np.array_equal(expected, kernel.reshape(-1) * weight.lsb) and not np.array_equal(
                self._rows_before_a_removed_permute(layer, keras_layer, expected), kernel.reshape(-1) * weight.lsb):
            _fail(finding, "rounding", f"the firmware's weights ({weight.hls4ml()}) are not QKeras's quantized kernel (rescaled weights)")
            return
        if not scaled and "bias" in layer["weights"] and keras_bias is not None:
            bias, _, bias_frac = self.emulator.bias(layer, 0)
            expected = _quantized(keras_bias, getattr(keras_layer, "bias_quantizer_internal", None))
            if not np.array_equal(np.broadcast_to(expected, bias.shape) if expected.size == 1 else expected, bias * 2.0**-bias_frac):
                _fail(finding, "rounding", "the firmware's bias is not QKeras's quantized bias")

    def _rows_before_a_removed_permute(self, layer: dict, keras_layer, kernel: np.ndarray) -> np.ndarray | None:
        """QKeras's kernel (flat) with its rows in the order of the values before a Keras Permute that feeds this Dense
        through a Flatten, where hls4ml removed that transpose and reordered the Dense's weights instead
        (remove_transpose_before_flatten; repairs.keep_user_transposes keeps the orders it would get wrong); None where
        the Keras model has no such Permute or the firmware kept it."""
        from tensorflow import keras

        flatten = producer_past_identities(keras_layer)
        permute = producer_past_identities(flatten) if isinstance(flatten, keras.layers.Flatten) else None
        if not isinstance(permute, keras.layers.Permute) or any(other["name"] == permute.name for other in self.emulator.layers):
            return None
        before = [int(size) for size in permute.input_shape[1:]]
        order = np.arange(int(np.prod(before))).reshape(before).transpose([axis - 1 for axis in permute.dims]).reshape(-1)
        rows = np.empty_like(order)
        rows[order] = np.arange(order.size)  # the firmware's input j is Keras's Flatten's value rows[j]
        return kernel.reshape(order.size, -1)[rows].reshape(-1)

    def _alpha_after(self, layer: dict) -> dict | None:
        """The ApplyAlpha hls4ml put right after a weighted layer (an alpha='auto'/'auto_po2' kernel's scales), or None."""
        return next((other for other in self.emulator.layers if other["inputs"] == [layer["name"]] and graph_kind(other) is APPLY_ALPHA), None)

    def _merged_alpha_scale(self, layer: dict) -> np.ndarray | None:
        """QKeras's scales of an alpha kernel whose ApplyAlpha hls4ml fused into the binary or ternary compare reading
        this layer (which holds the bias: checked there, thresholds.step_of), or None."""
        from codesign.thresholds import fused_alpha_scale, scale_and_bias

        keras_layer = self.keras.get(layer["name"])
        names = [other["name"] for other in self.emulator.layers]
        read = any(other["inputs"] == [layer["name"]] and graph_kind(other) is BATCHNORM_QUANTIZED_TANH for other in self.emulator.layers)
        if not read or not fused_alpha_scale(self.keras_model, keras_layer, names):
            return None
        scaled = scale_and_bias(keras_layer)
        return None if scaled is None else scaled[0].astype(np.float64)

    def _alpha_scale(self, layer: dict) -> tuple[np.ndarray, int]:
        """An ApplyAlpha's per-channel scales as values (float64) and their fraction bits."""
        if "width" not in layer["types"]["scale_t"]:  # plain hls4ml's power-of-two exponents (codesign's repairs store fixed point)
            raise ValueError(f"the scales of {layer['name']} are of type {layer['types']['scale_t']['text']}, power-of-two exponents, not fixed point")
        scale_type = Fixed.of(layer["types"]["scale_t"])
        return self.emulator.weights(layer, "scale").reshape(-1) * scale_type.lsb, scale_type.frac

    @implements("proof", APPLY_ALPHA)
    def _alpha(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """An alpha kernel's scales, applied after the sums (hls4ml) where QKeras scales the kernel first: equal
        where every scale is a power of two (alpha * q is then exact in float32), the scaled sums plus the bias QKeras
        adds stay exact in float32, the bias is QKeras's, and the result type holds the value (QKeras's quantizer
        comes after, as its own layer)."""
        scale, scale_frac = self._alpha_scale(layer)
        if not np.all(np.log2(np.abs(scale[scale != 0])) % 1 == 0):
            _fail(finding, "rounding", "alpha scales that are not powers of two: QKeras multiplies its kernel by them in float32, "
                                       "which rounds where the firmware's scaling after the sums does not")
            return source
        channels = len(scale)
        bias = self.emulator.weights(layer, "bias").reshape(-1) if "bias" in layer["weights"] else np.zeros(channels)
        bias_frac = Fixed.of(layer["types"]["bias_t"]).frac if "bias" in layer["weights"] else 0
        owner = self._split_from(layer["name"])
        keras_bias = unquantized_weights(self.keras[owner])[1] if owner else None
        keras_bias = np.zeros(channels) if keras_bias is None else keras_bias
        quantized = _quantized(keras_bias, getattr(self.keras[owner], "bias_quantizer_internal", None)) if owner else keras_bias
        if not np.array_equal(np.resize(quantized, channels), bias * 2.0**-bias_frac):
            _fail(finding, "rounding", "the firmware's bias (in the ApplyAlpha) is not QKeras's quantized bias")
        frac = max(source.frac + scale_frac, bias_frac)
        raw_scale = np.resize(np.round(scale * 2.0**scale_frac), len(source.low))
        tiled = np.resize(bias, len(source.low)) * 2.0 ** (frac - bias_frac)
        shift = 2.0 ** (frac - source.frac - scale_frac)
        ends = (source.low * raw_scale * shift, source.high * raw_scale * shift)
        low, high = np.minimum(*ends) + tiled, np.maximum(*ends) + tiled
        magnitude = np.maximum(np.abs(source.low), np.abs(source.high)) * np.abs(raw_scale) * shift + np.abs(tiled)
        if float(magnitude.max(initial=0)) >= EXACT_FLOAT32:
            self._float32(finding, f"QKeras adds the bias to sums of up to {float(magnitude.max()) / 2.0**frac:g} in float32, "
                                   f"more than 2^24 steps of {2.0**-frac:g}, so they may round")
        result = Fixed.of(layer["types"]["result_t"])
        return self._cast(finding, Bounds(low, high, frac), result, self._quantizer_cast_here(owner, result) if owner else None)

    def _quantizer_cast_here(self, owner: str, result: Fixed):
        """The QKeras quantizer whose cast hls4ml put in the ApplyAlpha after Keras layer `owner` (its result type is then
        the quantizer's own type): the layer's activation, or the QActivation that alone follows it. None otherwise."""
        consumers = [other for other in self.keras.values() if inputs_of(other) == [owner]]
        follower = consumers[0] if len(consumers) == 1 and is_quantizer_layer(consumers[0]) else None
        for function in (activation_quantizer(self.keras[owner]), follower.quantizer if follower is not None else None):
            if function is not None and quantizer_type(function) == result:
                if follower is not None and function is follower.quantizer:
                    self.folded.add(follower.name)  # checked here: the self-check finds its cast in a firmware layer
                return function
        return None

    @implements("proof", BATCH_NORMALIZATION)
    def _batchnorm(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's batch normalization, x * scale + bias cast into the result type per channel, against the Keras layer
        (QBatchNormalization or BatchNormalization, in float32) on every input value the bounds allow, channel by
        channel (the cast is monotone in x for a channel's scale, so the bounds out are its ends)."""
        keras_layer = self.keras.get(layer["name"])
        scale_t, bias_t, result = (Fixed.of(layer["types"][key]) for key in ("scale_t", "bias_t", "result_t"))
        scale, bias = self.emulator.weights(layer, "scale"), self.emulator.weights(layer, "bias")
        frac = max(source.frac + scale_t.frac, bias_t.frac)
        channel = np.arange(len(source.low)) % len(scale)

        def firmware(raw: np.ndarray, index: np.ndarray) -> np.ndarray:
            total = raw * scale[index] * 2.0 ** (frac - source.frac - scale_t.frac) + bias[index] * 2.0 ** (frac - bias_t.frac)
            return quantize(total, frac, result)

        ends = (firmware(source.low, channel), firmware(source.high, channel))
        bounds = Bounds(np.minimum(*ends), np.maximum(*ends), result.frac)
        if keras_layer is None:
            _fail(finding, "not analysed", "no Keras layer of this name to check the firmware's batch normalization against")
            return bounds
        low = np.array([source.low[channel == c].min() for c in range(len(scale))])
        high = np.array([source.high[channel == c].max() for c in range(len(scale))])
        if float(np.sum(high - low + 1)) > GRID_LIMIT:
            _fail(finding, "rounding", f"{float(np.sum(high - low + 1)):,.0f} input values to check one by one against the Keras layer (limit {GRID_LIMIT:,})")
            return bounds
        count = int((high - low).max()) + 1
        raw = np.minimum(low[None, :] + np.arange(count)[:, None], high[None, :])  # each channel's values down a column
        values = raw * 2.0**-source.frac
        if not np.array_equal(values.astype(np.float32), values):
            self._float32(finding, "QKeras holds this layer's inputs in float32, not all exactly")
        shape = (count, *([1] * (len(keras_layer.input_shape) - 2)), len(scale))
        keras_values = np.asarray(keras_layer(values.astype(np.float32).reshape(shape), training=False), dtype=np.float64).reshape(count, -1)
        got = firmware(raw, np.arange(len(scale))[None, :].repeat(count, axis=0)) * result.lsb
        from codesign.exact import NotExact, batchnorm_values

        try:  # QKeras rounds x * inv + shift in float32; the exact evaluation (codesign/exact.py) does not
            exact = batchnorm_values(keras_layer, raw.reshape(shape), source.frac).reshape(count, -1)
        except NotExact:
            exact = None
        folded = self._folded_quantizer(layer["name"], layer["name"])  # the next QActivation, its cast in this result type
        if folded is not None:
            keras_values = np.asarray(folded(keras_values.astype(np.float32)), dtype=np.float64).reshape(count, -1)
            exact = None if exact is None else from_float(exact, result) * result.lsb
        expected = exact if exact is not None and not np.array_equal(got, keras_values) and np.array_equal(got, exact) else keras_values
        wrong = np.argwhere(got != expected)
        if len(wrong):
            row, column = wrong[0]
            finding.witness = float(values[row, column])
            _fail(finding, "rounding", f"channel {column}: x = {values[row, column]!r} gives {got[row, column]!r} in the firmware "
                                       f"({result.hls4ml()}), {expected[row, column]!r} in Keras ({len(wrong):,} of {raw.size:,} values differ)")
        elif expected is exact:
            differ = int(np.sum(got != keras_values))
            self._float32(finding, f"the firmware computes x * scale + bias exactly; QKeras rounds it in float32 ({differ:,} of {raw.size:,} values differ)")
        return bounds

    @implements("proof", ACTIVATION)
    def _activation(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        result = Fixed.of(layer["types"]["result_t"])
        relu = layer["attributes"].get("activation") == "relu"
        pre = (lambda raw: np.maximum(raw, 0)) if relu else None
        if layer["attributes"].get("activation") == "binary_tanh":
            keras_function = self.keras_function(layer["name"])
            reference = None if keras_function is None else (lambda values: np.asarray(keras_function(values.astype(np.float32)), dtype=np.float64).reshape(values.shape))
            return self._steps(layer, source, finding, [np.zeros(1)], [0], reference)
        if layer["attributes"].get("activation") not in ("relu", "linear"):
            _fail(finding, "not analysed", f"activation '{layer['attributes'].get('activation')}' (a lookup table) is not analysed")
            return source
        if layer["name"] in self.checked:  # the input quantizer, checked with the input cast on float32 inputs
            return self._cast(finding, source, result, None, pre, check=False)
        keras_function = self.keras_function(layer["name"])
        if keras_function is None and relu:
            from tensorflow import keras

            keras_function = keras.activations.relu  # a float relu: exact on every value it sees
        return self._cast(finding, source, result, keras_function, pre)

    @implements("proof", BATCHNORM_QUANTIZED_TANH)
    def _thresholded(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's compare per channel where it merged a scale with the binary or ternary activation after it (the
        ternary's own threshold scale, a Keras batch normalization, an alpha kernel's scale and bias:
        thresholds.step_of): binary +1 from its threshold on (xnor bits, 0 for -1, that a Dense or convolution reads
        as -1: bounded here as the values -1 and +1), ternary +1 above threshold_hi and -1 at or below threshold_lo,
        the thresholds in the input's type. Checked against QKeras's own arithmetic and quantizer there."""
        from codesign.thresholds import step_of

        step = step_of(self.keras_model, layer["name"], layer["inputs"][0], [other["name"] for other in self.emulator.layers])
        if step is None:
            _fail(finding, "not analysed", "hls4ml merged a scale QKeras computes otherwise (an alpha scale that is not a power of two, "
                                           "or a normalization not followed by one binary or ternary activation) with the activation after it")
            return source
        keys = ("threshold",) if "threshold" in layer["weights"] else ("threshold_lo", "threshold_hi")
        thresholds = [self.emulator.weights(layer, key) for key in keys]
        fracs = [Fixed.of(layer["types"][f"{key}_t"]).frac for key in keys]
        self.folded.add(step.activation)  # the QActivation this layer computes, under another name
        return self._steps(layer, source, finding, thresholds, fracs, step.levels)

    def _steps(self, layer: dict, source: Bounds, finding: Finding, thresholds: list[np.ndarray], fracs: list[int],
               reference: Callable[[np.ndarray], np.ndarray] | None) -> Bounds:
        """A step function of -1, 0 and +1 cast into the result type: binary (-1 below its threshold, +1 from it: one
        threshold, 0 for binary_tanh) or a ternary (-1 at or below its lower threshold, +1 above its upper one),
        thresholds per channel. Checked against `reference` (QKeras's levels for (values, channels) arrays) on every
        input value the bounds allow, or, past GRID_LIMIT values over all channels, on both sides of each step and at
        the ends (QKeras's levels are monotone in the input: agreeing there, they agree everywhere)."""
        xnor = writes_xnor_bits(layer)  # a merged binary's bits, read by the next layer as -1 and +1
        result = XNOR_VALUES if xnor else Fixed.of(layer["types"]["result_t"])
        frac = max(source.frac, *fracs)
        channels = len(thresholds[0])
        channel = np.arange(len(source.low)) % channels
        steps = [threshold.astype(np.float64) * 2.0 ** (frac - threshold_frac) for threshold, threshold_frac in zip(thresholds, fracs)]

        def firmware(raw: np.ndarray, index: np.ndarray) -> np.ndarray:  # raw at the source's frac
            scaled = raw * 2.0 ** (frac - source.frac)
            if len(steps) == 1:  # binary: data >= threshold
                level = np.where(scaled >= steps[0][index], 1.0, -1.0)
            else:  # normalize_ternary_tanh: data > hi, data <= lo
                level = np.where(scaled > steps[1][index], 1.0, np.where(scaled <= steps[0][index], -1.0, 0.0))
            return quantize(level, 0, result)

        bounds = Bounds(firmware(source.low, channel), firmware(source.high, channel), result.frac)  # both monotone
        if reference is None:
            _fail(finding, "not analysed", "no QKeras quantizer at this layer to compare its steps with")
            return bounds
        ranges = [(float(source.low[channel == index].min()), float(source.high[channel == index].max())) for index in range(channels)]
        every = max(high - low + 1 for low, high in ranges) * channels <= GRID_LIMIT  # one (values, channels) array
        columns = []
        for index, (low, high) in enumerate(ranges):
            if every:
                columns.append(np.arange(low, high + 1))
                continue
            edges = np.array([step[index] * 2.0 ** (source.frac - frac) for step in steps])
            columns.append(np.unique(np.clip(np.concatenate([np.floor(edges) + offset for offset in (-2, -1, 0, 1, 2)] + [[low, high]]), low, high)))
        length = max(len(column) for column in columns)
        raw = np.stack([np.pad(column, (0, length - len(column)), mode="edge") for column in columns], axis=1)  # (values, channels)
        values = raw * 2.0**-source.frac
        if not np.array_equal(values.astype(np.float32), values):
            self._float32(finding, f"QKeras holds values of {source.values()} in float32, not all exactly")
            if not self.exact:
                return bounds
        got = firmware(raw, np.broadcast_to(np.arange(channels), raw.shape)) * result.lsb
        expected = reference(values)
        wrong = np.argwhere(got != expected)
        if len(wrong):
            row, column = wrong[0]
            finding.witness = float(values[row, column])
            _fail(finding, "rounding", f"channel {column}: x = {values[row, column]!r} gives {got[row, column]!r} in the firmware "
                                       f"({'xnor bits' if xnor else result.hls4ml()}), {expected[row, column]!r} in QKeras ({len(wrong):,} of "
                                       f"{raw.size:,} values differ)")
        return bounds

    @implements("proof", HARD_ACTIVATION)
    def _hard_activation(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's hard_sigmoid, clip(slope * x + shift, 0, 1), and hard_tanh, twice that minus 1 (slope and shift in
        their types, the arithmetic exact), cast into the result type; checked value by value against the function
        QKeras applies there (quantized_sigmoid's or quantized_tanh's hard version, or Keras's hard_sigmoid)."""
        attributes, types = layer["attributes"], layer["types"]
        function = attributes.get("activation")
        keras_function = self.keras_function(layer["name"])
        if function not in ("hard_sigmoid", "hard_tanh") or keras_function is None or "slope" not in attributes:
            _fail(finding, "not analysed", f"activation '{function}' with no QKeras function to compare with: not analysed")
            return source
        result, slope_t, shift_t = (Fixed.of(types[key]) for key in ("result_t", "slope_t", "shift_t"))
        frac = source.frac + max(slope_t.frac, shift_t.frac)
        slope = int(from_float(np.float64([attributes["slope"]]), slope_t)[0]) * 2 ** (frac - source.frac - slope_t.frac)
        shift = int(from_float(np.float64([attributes["shift"]]), shift_t)[0]) * 2 ** (frac - shift_t.frac)
        one = 2**frac

        def firmware(raw: np.ndarray) -> np.ndarray:  # raw at `frac`: exact in float64 while below 2^52 (checked below)
            line = np.clip(np.asarray(raw, dtype=np.float64) * slope + shift, 0, one)
            return quantize(line if function == "hard_sigmoid" else 2 * line - one, frac, result)

        low, high = int(source.low.min()), int(source.high.max())
        if high - low + 1 > GRID_LIMIT or max(-low, high) * max(slope, 1) >= 2**50:
            _fail(finding, "not analysed", f"{high - low + 1:,} input values of up to {max(-low, high):,} raw to check one by one (limit {GRID_LIMIT:,})")
            return source
        raw = np.arange(low, high + 1, dtype=np.int64)
        values = raw * 2.0**-source.frac
        if not np.array_equal(values.astype(np.float32), values):
            _fail(finding, "float32", f"QKeras holds values of {source.values()} in float32, not all exactly")
            return Bounds(firmware(source.low), firmware(source.high), result.frac)
        import tensorflow as tf

        got = firmware(raw) * 2.0**-result.frac
        expected = np.asarray(keras_function(tf.constant(values, tf.float32)), dtype=np.float64).reshape(-1)  # a Keras activation takes tensors
        wrong = np.flatnonzero(got != expected)
        if len(wrong):
            value = finding.witness = float(values[wrong[0]])
            _fail(finding, "rounding", f"{function} (slope {attributes['slope']:g} in {slope_t.hls4ml()}, shift {attributes['shift']:g}) into "
                                       f"{result.hls4ml()} gives {got[wrong[0]]!r} for {value!r}, QKeras {expected[wrong[0]]!r} "
                                       f"({len(wrong):,} of the {len(raw):,} values checked differ)")
        return Bounds(firmware(source.low), firmware(source.high), result.frac)  # monotone: slope >= 0

    @implements("proof", PARAMETRIZED_ACTIVATION, PRELU)
    def _leaky_relu(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's leaky_relu (and prelu, an alpha per value): x where x > 0, else alpha * x (alpha the call's literal,
        or the value's stored weight, in param_t; the product exact), cast into the result type; checked value by value
        for each alpha against Keras's float32 leaky relu (or the exact evaluation's x times Keras's float32 alpha),
        then the quantizer hls4ml moved into the layer, if any."""
        from tensorflow import keras

        attributes = layer["attributes"]
        keras_layer = self.keras.get(layer["name"])
        if isinstance(keras_layer, keras.layers.ThresholdedReLU) and str(attributes.get("activation")).lower() == "thresholdedrelu":
            return self._thresholded_relu(layer, keras_layer, source, finding)
        prelu = isinstance(keras_layer, keras.layers.PReLU) and "param" in layer["weights"]
        # a QActivation(quantized_relu(..., negative_slope=...)): hls4ml's leaky_relu cast into the quantizer's type
        leaky_quantizer = keras_layer.quantizer if is_quantizer_layer(keras_layer) and attributes.get("activation") == "leaky_relu" else None
        if not prelu and leaky_quantizer is None and (str(attributes.get("activation")).lower() != "leakyrelu" or "activ_param" not in attributes
                                                      or not isinstance(keras_layer, keras.layers.LeakyReLU)):
            _fail(finding, "not analysed", f"activation '{attributes.get('activation')}' of {type(keras_layer).__name__} "
                                           "(a table, or a leaky quantized_relu's clip) is not analysed")
            return source
        result, param = Fixed.of(layer["types"]["result_t"]), Fixed.of(layer["types"]["param_t"])
        shape = source.low.shape
        if prelu:  # the firmware's stored alphas and Keras's, value by value
            alphas = self.emulator.weights(layer, "param").astype(np.int64).reshape(shape)
            keras_alphas = np.asarray(keras_layer.alpha.numpy(), dtype=np.float32).reshape(shape)
        else:
            alphas = np.full(shape, int(from_float(np.float64([attributes["activ_param"]]), param)[0]), dtype=np.int64)
            keras_alpha = attributes["activ_param"] if leaky_quantizer is not None else keras_layer.alpha
            keras_alphas = np.full(shape, np.float32(keras_alpha), dtype=np.float32)
        pairs = sorted({(int(alpha), float(keras_alpha)) for alpha, keras_alpha in zip(alphas.reshape(-1), keras_alphas.reshape(-1))})
        ranges = [(source.low[(alphas == alpha) & (keras_alphas == keras_alpha)], source.high[(alphas == alpha) & (keras_alphas == keras_alpha)])
                  for alpha, keras_alpha in pairs]
        quantizer = leaky_quantizer or self.keras_function(layer["name"])  # the next QActivation's cast, where hls4ml moved it here
        values = sum(int(high.max()) - int(low.min()) + 1 for low, high in ranges)
        largest = max(max(-int(low.min()), int(high.max())) for low, high in ranges)
        if values > GRID_LIMIT or largest * max(int(np.abs(alphas).max()), 2**param.frac, 2**24) >= 2**52:
            held = None if quantizer is not None else self._held_products(source, alphas, keras_alphas, param, result, finding)
            if held is not None:
                return held
            _fail(finding, "not analysed", f"{values:,} input values of up to {largest:,} raw to check one by one (limit {GRID_LIMIT:,})")
            return source
        frac = source.frac + param.frac

        def firmware(x: np.ndarray, alpha) -> np.ndarray:  # float64 holds every product exactly (checked above)
            x = np.asarray(x, dtype=np.float64)
            return quantize(np.where(x > 0, x * 2.0**param.frac, x * alpha), frac, result)

        rounded = 0  # values Keras's float32 product rounds
        for (alpha, keras_alpha), (low, high) in zip(pairs, ranges):
            raw = np.arange(int(low.min()), int(high.max()) + 1, dtype=np.int64)
            got = firmware(raw, alpha) * 2.0**-result.frac
            expected, differ = (self._quantizer_on(quantizer, raw, source.frac, finding), 0) if leaky_quantizer is not None else \
                self._keras_leaky_relu(np.float32(keras_alpha), quantizer, raw, source.frac, finding)
            rounded += differ
            wrong = np.flatnonzero(got != expected) if expected is not None else []
            if len(wrong):
                value = finding.witness = float(raw[wrong[0]] * 2.0**-source.frac)
                _fail(finding, "rounding", f"result type {result.hls4ml()} (alpha {alpha * 2.0**-param.frac!r} in {param.hls4ml()}) gives "
                                           f"{got[wrong[0]]!r} for {value!r}, {'the exact evaluation' if self.exact else 'Keras'} "
                                           f"{expected[wrong[0]]!r} ({len(wrong):,} of the {len(raw):,} values checked differ)")
                break
        if rounded:
            self._float32(finding, f"Keras multiplies by alpha in float32 ({rounded:,} of {values:,} values round)")
        return Bounds(*_leaky_extremes(firmware(source.low, alphas), firmware(source.high, alphas), source), result.frac)

    def _thresholded_relu(self, layer: dict, keras_layer, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's thresholded_relu: x where x > theta (theta the call's literal in param_t), else 0, cast into the
        result type; Keras's compares float32 values and multiplies x by 1. Equal for every input where theta in
        param_t is Keras's float32 theta, the input fits float32 (24 bits), the result type holds every input value and
        no quantizer's cast was moved into the layer; not analysed otherwise. Monotone for theta >= 0 (Keras's rule)."""
        result, param = Fixed.of(layer["types"]["result_t"]), Fixed.of(layer["types"]["param_t"])
        theta = np.float32(keras_layer.theta)
        stored = int(from_float(np.float64([theta]), param)[0]) * 2.0**-param.frac
        largest = max(-int(source.low.min()), int(source.high.max()), 1)
        if (stored != float(theta) or theta < 0 or largest >= EXACT_FLOAT32 or self.keras_function(layer["name"]) is not None
                or result.frac < source.frac or int(source.high.max()) * 2.0**-source.frac > result.largest):
            _fail(finding, "not analysed", f"thresholded relu of theta {float(theta)!r} (in {param.hls4ml()}: {stored!r}) into "
                                           f"{result.hls4ml()} is not analysed")
            return source

        def passed(raw: np.ndarray) -> np.ndarray:
            return np.where(raw * 2.0**-source.frac > stored, raw, 0) * 2 ** (result.frac - source.frac)

        return Bounds(passed(source.low), passed(source.high), result.frac)

    def _held_products(self, source: Bounds, alphas: np.ndarray, keras_alphas: np.ndarray, param: Fixed, result: Fixed,
                       finding: Finding) -> Bounds | None:
        """A leaky relu whose result type holds every product needs no value-by-value check: where its alphas are
        Keras's float32 ones, the firmware computes x * alpha exactly, as the exact evaluation does, and QKeras's float32
        product rounds only past 24 bits (fuzz seed 1386 model 10: 2.8 billion values to enumerate). None otherwise."""
        largest = max(-int(source.low.min()), int(source.high.max()), 1)
        if (result.frac < source.frac + param.frac or largest * max(int(np.abs(alphas).max()), 2**param.frac) >= 2**62
                or not np.array_equal(alphas * 2.0**-param.frac, keras_alphas.astype(np.float64))):
            return None
        low, high = _leaky_extremes(*(np.where(bound > 0, bound.astype(np.int64) << param.frac, bound.astype(np.int64) * alphas)
                                      for bound in (source.low, source.high)), source)
        shift = result.frac - source.frac - param.frac
        if int(low.min()) * 2**shift < result.low or int(high.max()) * 2**shift > result.high:
            return None
        product_bits = (largest * int(np.abs(alphas).max())).bit_length()
        if product_bits > 24:
            self._float32(finding, f"Keras multiplies by alpha in float32: products of up to {product_bits} significant bits may round")
        return Bounds(low.astype(np.float64) * 2.0**shift, high.astype(np.float64) * 2.0**shift, result.frac)

    def _quantizer_on(self, quantizer, raw: np.ndarray, frac: int, finding: Finding) -> np.ndarray | None:
        """A QKeras quantizer on raw / 2^frac, which QKeras holds in float32 (against the exact evaluation: its exact
        cast, where it has one); None, with the condition failing, where neither holds."""
        from codesign.exact import NotExact, Raw, apply_function

        values = raw * 2.0**-frac
        if self.exact:
            try:
                return apply_function("quantizer", quantizer, Raw(raw, frac)).values()
            except NotExact:
                _fail(finding, "rounding", f"{quantizer!r} has no exact fixed-point cast to compare with")
                return None
        if not np.array_equal(values.astype(np.float32), values):
            _fail(finding, "float32", f"QKeras holds values of [{values.min():g}, {values.max():g}] in float32, not all exactly")
            return None
        return np.asarray(quantizer(values.astype(np.float32)), dtype=np.float64).reshape(-1)

    def _keras_leaky_relu(self, alpha: np.float32, quantizer, raw: np.ndarray, frac: int, finding: Finding) -> tuple[np.ndarray | None, int]:
        """What QKeras computes at a leaky relu of this alpha (then `quantizer`) on raw / 2^frac: in float32 (Keras's
        x where x > 0, else x * alpha, as tf.nn.leaky_relu and PReLU compute it), or in exact arithmetic (x times the
        float32 alpha) where the claim is against the exact evaluation, None where neither holds; and how many of
        the values Keras's float32 product rounds."""
        from codesign.exact import NotExact, Raw, apply_function, exact_leaky_relu

        values = raw * 2.0**-frac
        floats = np.where(values > 0, values, values.astype(np.float32) * alpha).astype(np.float64)
        exact = exact_leaky_relu(alpha, Raw(raw, frac), "alpha")
        try:
            exact_values = exact.values()
        except NotExact as error:  # a product float64 cannot hold
            _fail(finding, "not analysed", f"alpha {float(alpha)!r}: {error}")
            return None, 0
        differ = int(np.sum(floats != exact_values))
        if self.exact and quantizer is not None:
            try:
                return apply_function("alpha", quantizer, exact).values(), differ
            except NotExact:
                _fail(finding, "rounding", f"{quantizer!r} has no exact fixed-point cast to compare with")
                return None, differ
        if self.exact:
            return exact_values, differ
        if differ:  # the float32 condition fails (reported once by the caller): nothing to compare with
            return None, differ
        return (floats if quantizer is None else np.asarray(quantizer(floats.astype(np.float32)), dtype=np.float64)), 0

    @implements("proof", POOLING1D, POOLING2D)
    def _pooling(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        a = planar_attributes(layer)
        a.update(filt_height=a["pool_height"], filt_width=a["pool_width"])
        pads = padded(a)
        if a.get("pool_op") != "Max":  # windows as the last axis: (out_h, out_w, channels, window)
            if pads and self.emulator.graph["io_type"] == "io_stream":
                _fail(finding, "not analysed", "streamed average pooling over padded windows (rescaled in its input type): not analysed")
                return source
            low, high, inside = (VectorizedEmulator.patches(raw[np.newaxis], 1, a, a["n_filt"])[0]
                                 for raw in (source.low, source.high, np.ones_like(source.low)))
            windows = [np.moveaxis(bound, 4, 2).reshape(*bound.shape[:2], bound.shape[4], -1) for bound in (low, high)]
            # hls4ml's pooling2d_cl divides by the pixels inside the image (count_pad false), as Keras does
            counts = None if not pads or a.get("count_pad") else inside.sum(axis=(2, 3)).reshape(-1).astype(np.int64)
            return self._average(layer, finding, *windows, source.frac, counts)
        data = self.emulator.input_type(layer)
        fill = max_pool_padding(data, source.frac)
        if pads and not data.signed and source.low.min() < fill:
            _fail(finding, "padding", f"hls4ml pads this max pooling's border windows with {fill * 2.0 ** -source.frac:g} (nnet::pad_val sets "
                  f"the top bit of its unsigned input type {data.hls4ml()}), which wins over smaller values, where Keras ignores the padding: "
                  "make the layer before it signed, or pool with padding='valid'")
        low, high = (VectorizedEmulator.patches(raw[np.newaxis], 1, a, a["n_filt"], fill)[0] for raw in (source.low, source.high))
        low, high = (bound.max(axis=(2, 3)).reshape(-1) for bound in (low, high))
        return self._cast(finding, Bounds(low, high, source.frac), Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", GLOBAL_POOLING1D, GLOBAL_POOLING2D)
    def _global_pooling(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        a = layer["attributes"]
        channels = a.get("n_filt") or a["n_chan"]
        if a.get("pool_op") != "Max":
            return self._average(layer, finding, source.low.reshape(-1, channels).T, source.high.reshape(-1, channels).T, source.frac)
        low, high = (raw.reshape(-1, channels).max(axis=0) for raw in (source.low, source.high))
        return self._cast(finding, Bounds(low, high, source.frac), Fixed.of(layer["types"]["result_t"]), None)

    def _average(self, layer: dict, finding: Finding, low: np.ndarray, high: np.ndarray, frac: int, counts: np.ndarray | None = None) -> Bounds:
        """Averages over windows (the last axis): hls4ml sums in accum_t and divides by the window's size (or, over a
        padded border, by `counts`, the values of each window inside the image), QKeras sums in float32 and divides.
        Exact when every divisor is a power of two, the float32 sums are exact, and the accumulator holds the sum and
        the quotient's fraction bits."""
        window = low.shape[-1]
        types = layer["types"]
        accum, result = Fixed.of(types.get("accum_t") or types["result_t"]), Fixed.of(types["result_t"])
        sum_low, sum_high = low.sum(axis=-1).reshape(-1), high.sum(axis=-1).reshape(-1)
        finding.bounds["accum"] = [float(sum_low.min() / 2.0**frac), float(sum_high.max() / 2.0**frac)]
        counts = np.full(sum_low.shape, window, dtype=np.int64) if counts is None else counts
        uneven = sorted({int(count) for count in counts if count & (count - 1)})
        if uneven:
            _fail(finding, "rounding", f"the average of {uneven[0]} values divides by {uneven[0]}, which no fixed-point type does "
                                       "exactly (only powers of two): QKeras computes it in float")
            return Bounds(np.floor(sum_low / counts), np.ceil(sum_high / counts), frac)
        shift = int(counts.max()).bit_length() - 1
        if float(np.maximum(np.abs(low), np.abs(high)).sum(axis=-1).max(initial=0)) >= EXACT_FLOAT32:
            self._float32(finding, f"QKeras sums {window} values in float32: partial sums can exceed 2^24 steps of {2.0**-frac:g}")
        if accum.frac < frac + shift:
            _fail(finding, "rounding", f"accumulator {accum.hls4ml()} keeps {accum.frac} fraction bits; the average of {window} "
                                       f"values needs {frac + shift}: it rounds where QKeras does not")
        scaled = 2.0 ** (accum.frac - frac)
        if float(sum_low.min(initial=0)) * scaled < accum.low or float(sum_high.max(initial=0)) * scaled > accum.high:
            _fail(finding, "overflow", f"accumulator {accum.hls4ml()} holds [{accum.low * accum.lsb:g}, {accum.largest:g}]; "
                                       f"the sums reach {finding.bounds['accum']}")
        to_quotient = 2 ** (shift - np.log2(counts).astype(np.int64))  # each sum over its count, at frac + shift
        return self._cast(finding, Bounds(sum_low * to_quotient, sum_high * to_quotient, frac + shift), result, None)

    @implements("proof", RESHAPE)
    def _reshape(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        return source

    @implements("proof", TRANSPOSE)
    def _transpose(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's transpose puts each value where the permuted tensor has it (its output shape is its input's in the
        order `perm`), in its result type."""
        perm, shape = list(layer["attributes"]["perm"]), layer["output_shape"]
        before = [shape[perm.index(axis)] for axis in range(len(perm))]
        order = np.arange(source.low.size).reshape(before).transpose(perm).reshape(-1)
        return self._cast(finding, Bounds(source.low[order], source.high[order], source.frac), Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", CLONE)
    def _clone(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """io_stream's copy of a stream that feeds two layers (nnet::clone_stream): its values, in its result type."""
        return self._cast(finding, source, Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", REPACK)
    def _repack(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        return self._cast(finding, source, Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", ZERO_PADDING2D)
    def _padding(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        a = layer["attributes"]
        low, high = (VectorizedEmulator.padded(raw[np.newaxis], 1, a, a["n_chan"]).reshape(-1) for raw in (source.low, source.high))
        return self._cast(finding, Bounds(low, high, source.frac), Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", ZERO_PADDING1D)
    def _padding1d(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's zeropad1d copies the sequence between pad_left and pad_right zeros (every channel), in its result type."""
        a = layer["attributes"]
        low, high = (np.pad(raw.reshape(a["in_width"], a["n_chan"]), ((a["pad_left"], a["pad_right"]), (0, 0))).reshape(-1)
                     for raw in (source.low, source.high))
        return self._cast(finding, Bounds(low, high, source.frac), Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", CROPPING1D, CROPPING2D)
    def _cropping(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's cropping copies the window Keras keeps (its rows from crop_top, its columns from crop_left, every
        channel), then casts it into its result type."""
        a = layer["attributes"]
        grid = np.arange(source.low.size).reshape(a.get("in_height", 1), a["in_width"], a["n_chan"])
        top, left = a.get("crop_top", 0), a["crop_left"]
        kept = grid[top:top + a.get("out_height", 1), left:left + a["out_width"]].reshape(-1)
        return self._cast(finding, Bounds(source.low[kept], source.high[kept], source.frac), Fixed.of(layer["types"]["result_t"]), None)

    @implements("proof", MERGE, DOT)
    def _merge(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's element-wise merges (nnet_merge.h) combine the two inputs at full precision, then cast (an average
        halves the sum exactly); Keras combines the same values in float32, exact below 2^24 steps."""
        op = layer["attributes"]["op"]
        first, second = (self.bounds[name] for name in layer["inputs"])
        if first.low.shape != second.low.shape:
            _fail(finding, "not analysed", f"a {op} of {first.low.size} and {second.low.size} values (hls4ml repeats the smaller): not analysed")
            return source
        frac = max(first.frac, second.frac)
        a_low, a_high, b_low, b_high = (raw * 2.0 ** (frac - bounds.frac) for bounds in (first, second) for raw in (bounds.low, bounds.high))
        if op in ("add", "average"):
            low, high = a_low + b_low, a_high + b_high
        elif op == "subtract":
            low, high = a_low - b_high, a_high - b_low
        elif op == "multiply":
            corners = [x * y for x in (first.low, first.high) for y in (second.low, second.high)]
            low, high, frac = np.minimum.reduce(corners), np.maximum.reduce(corners), first.frac + second.frac
        elif op in ("maximum", "minimum"):
            pick = np.maximum if op == "maximum" else np.minimum
            low, high = pick(a_low, b_low), pick(a_high, b_high)
        else:
            _fail(finding, "not analysed", f"merge '{op}' is not analysed")
            return source
        largest = float(np.maximum(np.abs(low), np.abs(high)).max(initial=0))
        if op not in ("maximum", "minimum") and largest >= EXACT_FLOAT32:
            self._float32(finding, f"QKeras's {op} in float32 reaches {largest / 2.0**frac:g}, more than 2^24 steps of {2.0**-frac:g}: it may round")
        combined = Bounds(low, high, frac + 1) if op == "average" else Bounds(low, high, frac)
        finding.bounds["accum"] = combined.values()
        return self._cast(finding, combined, Fixed.of(layer["types"]["result_t"]), self.keras_function(layer["name"]))

    @implements("proof", CONCATENATE)
    def _concatenate(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's concatenations (nnet_merge.h) cast each input's values into the result type and lay them side by
        side along Keras's axis."""
        result, axis = Fixed.of(layer["types"]["result_t"]), int(layer["attributes"]["axis"])
        keras_function = self.keras_function(layer["name"])
        shapes = {name: other["output_shape"] for other in self.emulator.layers for name in (other["name"], *other.get("outputs", ()))}
        parts = [(self._cast(finding, self.bounds[name], result, keras_function), shapes[name]) for name in layer["inputs"]]
        low, high = (np.concatenate([getattr(cast, end).reshape(shape) for cast, shape in parts], axis=axis - 1 if axis > 0 else axis).reshape(-1)
                     for end in ("low", "high"))
        return Bounds(low, high, result.frac)

    @implements("proof", RESIZE)
    def _resize(self, layer: dict, source: Bounds, finding: Finding) -> Bounds:
        """hls4ml's resize_nearest copies, for each output pixel, the input pixel its 16-bit fixed-point ratios pick;
        Keras's UpSampling repeats each pixel `size` times. Equal where the two pick the same pixels; a Keras layer
        that interpolates (bilinear: hls4ml still writes resize_nearest) is a different function."""
        interpolation = getattr(self.keras.get(layer["name"]), "interpolation", "nearest")
        if interpolation != "nearest":
            _fail(finding, "rounding", f"Keras interpolates ('{interpolation}') where hls4ml's resize_nearest copies pixels")
        picked, repeated = _nearest_pixels(layer["attributes"])
        if not np.array_equal(picked, repeated):
            where = int(np.flatnonzero(picked != repeated)[0])
            _fail(finding, "rounding", f"hls4ml's resize_nearest copies input element {int(picked[where])} to output element {where}, "
                                       f"where Keras's UpSampling copies {int(repeated[where])}")
        return self._cast(finding, Bounds(source.low[picked], source.high[picked], source.frac), Fixed.of(layer["types"]["result_t"]), None)


def _nearest_pixels(a: dict) -> tuple[np.ndarray, np.ndarray]:
    """The input element each output element of a Resize copies: as nnet::resize_nearest computes it
    ((i * ((height << 16) / new_height + 1)) >> 16), and as Keras's UpSampling repeats (i * height / new_height)."""
    height, width, new_height, new_width, channels = (int(a.get(key, 1)) for key in ("in_height", "in_width", "out_height", "out_width", "n_chan"))
    rows, columns = np.arange(new_height), np.arange(new_width)
    cpp = ((rows * (((height << 16) // new_height) + 1)) >> 16, (columns * (((width << 16) // new_width) + 1)) >> 16)
    keras = (rows * height // new_height, columns * width // new_width)

    def flat(row: np.ndarray, column: np.ndarray) -> np.ndarray:
        return ((row[:, None, None] * width + column[None, :, None]) * channels + np.arange(channels)[None, None, :]).reshape(-1)

    return flat(*cpp), flat(*keras)


def _quantized(values, quantizer) -> np.ndarray:
    """Weights as QKeras uses them: float32, through the layer's quantizer when it has one; flattened."""
    values = np.asarray(values, dtype=np.float32)
    return np.asarray(quantizer(values) if quantizer is not None else values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class _Composed:
    """An activation, then the next QActivation's quantizer hls4ml moved into the same layer: in float32 as QKeras
    computes it, and function by function in the exact evaluation (a lambda had no exact value: 'unproven')."""

    first: Callable
    then: Callable

    def __call__(self, values):
        return self.then(self.first(values))


def _exact_function(keras_function, raw: np.ndarray, frac: int) -> np.ndarray | None:
    """What the exact evaluation applies at a cast (exact.apply_function: a quantizer's fixed-point cast of the exact
    value, a relu; each in turn for a composition), as values; None where it has none."""
    from codesign.exact import NotExact, Raw, apply_function

    functions = (keras_function.first, keras_function.then) if isinstance(keras_function, _Composed) else (keras_function,)
    result = Raw(raw.astype(np.int64), frac)
    try:
        for function in functions:
            result = apply_function("cast", function, result)
    except NotExact:
        return None
    return result.raw.astype(np.float64) * 2.0**-result.frac


def _grid(low: float, high: float, frac: int, result: Fixed) -> np.ndarray | None:
    """The raw values (at `frac` fraction bits) a cast into `result` is checked on: every one in [low, high] when there
    are at most GRID_LIMIT; else the values on both sides of each of the cast's steps (its rounding ties, its levels,
    zero for a relu) and the range's ends. Both the cast and a QKeras quantizer are monotone, so agreeing on either
    side of every step of the cast, where the cast is constant between checked values, they agree everywhere."""
    if high - low + 1 <= GRID_LIMIT:
        return np.arange(low, high + 1)
    step = 2.0 ** (frac - result.frac)  # input values per output level
    count = np.ceil(high / step) - np.floor(low / step) + 3
    if step < 4 or 8 * count > GRID_LIMIT:  # counted before any array is made: a wide result has billions of levels
        return None
    levels = np.arange(np.floor(low / step) - 1, np.ceil(high / step) + 2)
    edges = np.concatenate([levels * step, levels * step + step / 2, [0.0]])
    points = np.concatenate([np.floor(edges) + offset for offset in (-1, 0, 1, 2)] + [[low, high]])
    return np.unique(np.clip(points, low, high))


def _leaky_extremes(at_low: np.ndarray, at_high: np.ndarray, source: Bounds) -> tuple[np.ndarray, np.ndarray]:
    """A leaky relu's bounds from its values at each element's ends: piecewise linear (an alpha of either sign), its
    extremes are at the ends or at 0."""
    crossing = (source.low <= 0) & (source.high >= 0)
    low, high = np.minimum(at_low, at_high), np.maximum(at_low, at_high)
    return np.where(crossing, np.minimum(low, 0), low), np.where(crossing, np.maximum(high, 0), high)


def _fail(finding: Finding, condition: str, why: str) -> None:
    """Mark a condition that fails at this layer: the first one names the condition, every one adds its reason."""
    if finding.holds:
        finding.holds, finding.condition, finding.why = False, condition, why
    else:
        finding.why = f"{finding.why}; {why}"


def _saturating(fixed: Fixed) -> Fixed:
    """The same type, saturating: bounds past a failing cast stay ordered so the analysis can go on. A symmetric
    saturation keeps its range (fixed<9,2,SAT_SYM> stops at -1.9921875, not -2: seed 1344 model 11's next cast was
    checked on a -2 its input never holds)."""
    return Fixed(fixed.width, fixed.integer, fixed.signed, fixed.rounding, "SAT_SYM" if fixed.saturation == "SAT_SYM" else "SAT")
