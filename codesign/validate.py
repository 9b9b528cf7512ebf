"""Bit-exactness of the firmware against the QKeras model (or its exact evaluation), sample by sample, where it first
diverges, and over a whole input domain (the proof, or a counterexample); what a run's validation reports and prints."""

from __future__ import annotations

from typing import Callable

import numpy as np

from codesign.config import Spec
from codesign.layers import keras_owner
from codesign.layout import RunLayout
from codesign.model import load_keras_model
from codesign.outputs import described, outputs_line, predicted, scored_shape
from codesign.records import ConversionRecord, EmulationMeta, TrainRecord

DIVERGENCE_SAMPLES = 16  # mismatching samples traced layer by layer to find the first diverging layer
EXACT_REFERENCE_SAMPLES = 256  # samples the exact evaluation runs on when the firmware equals QKeras on every one (compare_with_model)
REPLAY_CPP = 64  # inputs of a proven domain run through the C++ emulation itself before 'proven' is written


def task_of(output_shape: tuple[int, ...], labels: np.ndarray | None) -> tuple[str | None, str | None]:
    """'classification' (one score per class, integer labels), 'regression' (labels shaped like the output) or None,
    with a note saying why there is no metric."""
    if labels is None or not len(labels):
        return None, "no labels"
    outputs = int(np.prod(output_shape))
    integer = labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer)
    if integer and len(output_shape) == 1 and outputs > 1 and int(labels.max()) < outputs:
        return "classification", None
    if int(np.prod(labels.shape[1:])) == outputs and (not integer or outputs == 1):
        return "regression", None
    return None, (
        f"labels of shape {tuple(labels.shape[1:])} ({labels.dtype}) and outputs of shape {tuple(output_shape)} are neither "
        "a classifier's (one score per class) nor a regression's (one target per output): no accuracy or error"
    )


def task_metrics(outputs: np.ndarray | None, labels: np.ndarray | None, task: str | None) -> dict | None:
    """{'accuracy'} for a classifier, {'mae', 'rmse'} for a regression, None otherwise."""
    if outputs is None or task is None:
        return None
    flat = np.asarray(outputs, dtype=np.float64).reshape(len(labels), -1)
    if task == "classification":
        return {"accuracy": float((flat.argmax(axis=1) == labels).mean())}
    error = flat - labels.reshape(len(labels), -1).astype(np.float64)
    return {"mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error**2).mean()))}


def compare_outputs(
    reference: np.ndarray,
    emulated: np.ndarray,
    labels: np.ndarray | None,
    float_outputs: np.ndarray | None = None,
    reference_kind: str = "qkeras",
    qkeras_outputs: np.ndarray | None = None,
    scored: tuple[int, ...] | None = None,
) -> tuple[dict, np.ndarray]:
    """Every output element of every sample compared exactly; accuracy (classifier) or MAE/RMSE (regression) only
    where outputs and labels make them meaningful. `reference_kind` is 'float' when the model is a float model,
    'exact' when the reference is QKeras's model evaluated exactly (then `qkeras_outputs` gives QKeras's accuracy).
    `scored`: for a model of several outputs side by side (codesign/outputs.py), the first's shape, which is scored.

    Returns the summary and the indices of the samples whose outputs differ.
    """
    samples = len(reference)
    output_shape = tuple(reference.shape[1:])
    reference = reference.reshape(samples, -1).astype(np.float64)
    emulated = emulated.reshape(samples, -1).astype(np.float64)
    if reference.shape != emulated.shape:
        raise ValueError(f"reference has {reference.shape[1]} outputs per sample, the emulation {emulated.shape[1]}")
    differs = reference != emulated
    mismatched = differs.any(axis=1)
    scored = scored or output_shape
    first = int(np.prod(scored))
    task, note = task_of(scored, labels)
    outputs = {"float": float_outputs, "qkeras": qkeras_outputs, "emulation": emulated, reference_kind: reference}
    metrics = {kind: task_metrics(None if values is None else np.asarray(values).reshape(samples, -1)[:, :first], labels, task)
               for kind, values in outputs.items()}
    classifier_outputs = len(scored) == 1 and first > 1
    result = {
        "samples": samples,
        "outputs_per_sample": int(reference.shape[1]),
        "mismatched_samples": int(mismatched.sum()),
        "mismatched_elements": int(differs.sum()),
        "max_abs_diff": float(np.abs(reference - emulated).max()) if samples else 0.0,
        "bit_exact": bool(samples and not mismatched.any()),
        "reference": reference_kind,
        "argmax_agreement": float((reference[:, :first].argmax(axis=1) == emulated[:, :first].argmax(axis=1)).mean()) if classifier_outputs else None,
        "task": task,
        "task_note": note,
        "accuracy": {kind: (value or {}).get("accuracy") for kind, value in metrics.items()},
        "error": metrics if task == "regression" else None,
    }
    return result, np.flatnonzero(mismatched)


def exact_reference(keras_model, x: np.ndarray, qkeras_outputs: np.ndarray, firmware: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """validate.json's `exact_reference`: the quantized model evaluated exactly (codesign/exact.py), the layers where
    QKeras's float32 arithmetic may round on these samples and by how much at most there, on how many samples QKeras
    and the firmware differ from it; with the exact outputs. Without an exact evaluation, why not."""
    from dataclasses import asdict

    from codesign.exact import NotExact, evaluate

    try:
        evaluation = evaluate(keras_model, x)
    except NotExact as error:
        return {"available": False, "why": str(error)}, None
    exact = evaluation.outputs.reshape(len(x), -1)
    qkeras = np.asarray(qkeras_outputs, dtype=np.float64).reshape(len(x), -1)
    firmware = np.asarray(firmware, dtype=np.float64).reshape(len(x), -1)
    return {
        "available": True,
        "samples": len(x),
        "float32_layers": [asdict(note) for note in evaluation.float32_layers],
        "qkeras_mismatched_samples": int((qkeras != exact).any(axis=1).sum()),
        "qkeras_max_abs_diff": float(np.abs(qkeras - exact).max(initial=0)),
        "firmware_mismatched_samples": int((firmware != exact).any(axis=1).sum()),
    }, evaluation.outputs


def keras_layer_outputs(keras_model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output of the Keras model on x, flattened per sample, keyed by layer name."""
    from tensorflow import keras

    layers = [layer for layer in keras_model.layers if not isinstance(layer, keras.layers.InputLayer)]
    probe = keras.Model(keras_model.inputs, [layer.output for layer in layers])
    outputs = probe.predict(x, batch_size=256, verbose=0)
    if len(layers) == 1:
        outputs = [outputs]
    return {layer.name: np.asarray(out, dtype=np.float64).reshape(len(x), -1) for layer, out in zip(layers, outputs)}


def first_divergence(traced_order: list[dict], firmware: dict[str, np.ndarray], keras: dict[str, np.ndarray],
                     merged: dict[str, str] | None = None) -> dict | None:
    """Walk the firmware's layers in order; the first whose output differs from the same Keras layer's is the culprit.
    A Keras layer hls4ml split ('conv' and 'conv_alpha', an auto_po2 scale; 'conv_linear') is compared where its
    last part ends: its first part holds a value Keras never shows. One into which hls4ml merged the QActivation
    after it (`merged`: Keras layer -> that QActivation) is compared with the QActivation's output."""
    merged = merged or {}
    owners = [keras_owner(layer["name"], keras) for layer in traced_order]
    for position, layer in enumerate(traced_order):
        name, owner = layer["name"], owners[position]
        shown = merged.get(owner, owner) if merged.get(owner) in keras else owner
        if owner is None or owner in owners[position + 1:] or name not in firmware or firmware[name].shape != keras[shown].shape:
            continue  # layers hls4ml added (padding, reshapes), a split layer's first part, or another layout
        difference = np.abs(firmware[name] - keras[shown])
        if difference.max() > 0:
            return {
                "name": name,
                "keras_layer": owner,
                "class": layer["class"],
                "max_abs_diff": float(difference.max()),
                "mismatched_elements": int((difference > 0).sum()),
                "samples_traced": int(len(difference)),
            }
    return None


def traced_divergence(layout: RunLayout, model, x: np.ndarray, traced_layers: dict[str, np.ndarray]) -> dict | None:
    """The first diverging layer of the compiled emulation traced on x, against the model's own layers."""
    from codesign.layers import inputs_of, is_quantizer_layer

    order = EmulationMeta.read(layout.emulation_meta).traced_layers
    names = {layer.name for layer in model.layers}
    in_firmware = {layer["name"] for layer in order} | {keras_owner(layer["name"], names) for layer in order}
    merged = {inputs_of(layer)[0]: layer.name for layer in model.layers
              if is_quantizer_layer(layer) and layer.name not in in_firmware and len(inputs_of(layer)) == 1}
    return first_divergence(order, _xnor_as_numbers(layout, traced_layers), keras_layer_outputs(model, x), merged)


def _xnor_as_numbers(layout: RunLayout, traced_layers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The traced outputs with a merged binary activation's xnor bits (0 for -1) read as the -1 and +1 they stand for,
    as its readers take them (it was named the first diverging layer of any binary model that differed later)."""
    from codesign.layers import writes_xnor_bits
    from codesign.vectorized import VectorizedEmulator

    xnor = {layer["name"] for layer in VectorizedEmulator(layout.hls_dir).layers if writes_xnor_bits(layer)}
    return {name: 2 * values - 1 if name in xnor else values for name, values in traced_layers.items()}


# --- a run's firmware against its model --------------------------------------------------------------------------


def exact_outputs(model, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """The model's exact evaluation on x when QKeras's float32 sums may round on it (a second reference), else none."""
    from codesign.exact import NotExact, evaluate

    try:
        evaluation = evaluate(model, x)
    except NotExact:
        return ()
    return (evaluation.outputs,) if evaluation.float32_layers else ()


def head_of(spec: Spec, layout: RunLayout) -> dict | None:
    """The model's float head ({layer, function, folded}): a spec's final softmax, or what the train step found at
    the end of a user's model; None when the model ends on its logits."""
    if spec.model.file:
        train = TrainRecord.read_if_exists(layout.report("train"))
        return train.head if train else None
    return {"layer": spec.model.named_layers()[-1][0], "function": "softmax", "folded": False} if spec.has_softmax() else None


def _output_heads(layout: RunLayout) -> list[dict]:
    """The float heads on the outputs of a user's model of several (on the host), from its train step."""
    train = TrainRecord.read_if_exists(layout.report("train"))
    return (train.output_heads if train else None) or []


def firmware_model(spec: Spec, layout: RunLayout):
    """The Keras model the firmware computes: the run's QKeras model (its logits), with the head when it is in firmware."""
    model = load_keras_model(layout.qkeras_model)
    return _append_head(model, head_of(spec, layout)) if spec.hls.head == "firmware" else model


def _append_head(model, head: dict):
    """The QKeras logits model with its head on top, for firmware that computes the head itself (lookup tables)."""
    from tensorflow import keras

    name = f"{head['layer']}_{head['function']}" if head["folded"] else head["layer"]
    return keras.Model(model.inputs, keras.layers.Activation(head["function"], name=name)(model.output))


def firmware_logits(layout: RunLayout, spec: Spec, emulation) -> np.ndarray:
    """The firmware's outputs, or with the head in firmware the logits traced out of the layer feeding it."""
    if spec.hls.head != "firmware":
        return emulation.outputs
    meta = EmulationMeta.read(layout.emulation_meta)
    name = meta.last_input  # recorded at conversion; older runs: the traced layer before the last
    return emulation.layers[name if name in emulation.layers else meta.traced_layers[-2]["name"]]


def compare_with_model(layout: RunLayout, spec: Spec, x: np.ndarray, y: np.ndarray | None, logits: np.ndarray,
                       load: Callable = load_keras_model) -> tuple[dict, np.ndarray]:
    """The firmware's outputs on x against the run's model (and float twin), sample by sample, with the first
    diverging layer traced through the compiled emulation: validate.json's fields, and the model's outputs
    (`load`: how a model file is loaded, e.g. a Run's cache of them)."""
    from codesign.emulate import run_emulation
    from codesign.quantizers import computed_in_float, has_quantizers
    from codesign.typesearch import why_not_exact

    model = load(layout.qkeras_model)
    reference = predicted(model, x)
    float_outputs = predicted(load(layout.float_model), x) if layout.float_model.exists() else None
    reference_kind = "qkeras" if has_quantizers(model) else "float"
    report, mismatched = compare_outputs(reference, logits, y, float_outputs, reference_kind, scored=scored_shape(model))
    # the exact evaluation decides the reference where QKeras and the firmware differ; where they agree on every sample
    # it only measures QKeras's own float32 rounding, on the first EXACT_REFERENCE_SAMPLES (4 ms a sample on the CIFAR CNN)
    checked = len(x) if not report["bit_exact"] else min(len(x), EXACT_REFERENCE_SAMPLES)
    exact, exact_outputs = exact_reference(model, x[:checked], reference[:checked], logits[:checked]) if reference_kind == "qkeras" else (None, None)
    if not report["bit_exact"] and exact_outputs is not None and exact["firmware_mismatched_samples"] == 0:
        report, mismatched = compare_outputs(exact_outputs, logits, y, float_outputs, "exact", reference, scored_shape(model))
    conversion = ConversionRecord.read(layout.report("convert"))
    report.update(
        policy=spec.hls.precision,
        head=head_report(spec, layout),
        first_diverging_layer=None,
        input_type=conversion.input_type,
        candidates=conversion.candidates,
        computed_in_float=computed_in_float(model) if reference_kind == "qkeras" else [],
        exact_reference=exact,
        outputs=described(model, _output_heads(layout)),
    )
    if len(mismatched):
        subset = x[mismatched[:DIVERGENCE_SAMPLES]]
        traced = run_emulation(layout.library, layout.emulation_meta, subset, lambda _: None, trace=True)
        diverging = traced_divergence(layout, model, subset, traced.layers)
        if diverging is not None:
            float32 = not (exact or {}).get("available")  # the firmware differs from the exact evaluation too: float32 is not why
            diverging["why"] = (why_not_exact(model, diverging["keras_layer"], conversion.input_type, float32)
                                or (_rounded_by_qkeras(model, diverging, subset, traced.layers) if float32 else None)
                                or _off_the_input_grid(subset, conversion.input_type) or _inexact_anywhere(model, conversion.input_type, float32))
        report["first_diverging_layer"] = diverging
    return report, reference


def _rounded_by_qkeras(model, diverging: dict, x: np.ndarray, firmware: dict[str, np.ndarray]) -> str | None:
    """The diverging layer computed exactly from QKeras's own inputs to it (which the firmware's equal: it is the first
    to differ): where that is the firmware's output and not QKeras's, QKeras's float32 arithmetic rounds there, shown
    on these samples. None where the layer is split, has no exact evaluation, or the exact value is not the firmware's;
    not asked where the whole model's exact evaluation exists (the firmware then differs from it too: float32 is not why)."""
    from tensorflow import keras

    from codesign.exact import NotExact, exact_layer
    from codesign.layers import inputs_of

    if diverging["name"] != diverging["keras_layer"] or diverging["name"] not in firmware:
        return None
    layer = model.get_layer(diverging["keras_layer"])
    probe = keras.Model(model.inputs, [*(model.get_layer(name).output for name in inputs_of(layer)), layer.output])
    *sources, qkeras = (np.asarray(out, dtype=np.float64) for out in probe.predict(x, batch_size=256, verbose=0))
    try:
        exact = exact_layer(layer, sources).reshape(len(x), -1)
    except NotExact:
        return None
    qkeras, computed = qkeras.reshape(len(x), -1), firmware[diverging["name"]]
    if exact.shape != computed.shape or not np.array_equal(exact, computed) or np.array_equal(exact, qkeras):
        return None
    return (f"QKeras computes {layer.name} in float32, which rounds here: computed exactly from QKeras's own inputs to it, "
            f"its output is the firmware's on the {len(x)} sample{'s' if len(x) != 1 else ''} traced, and QKeras's differs by up "
            f"to {float(np.abs(exact - qkeras).max()):g}")


def _off_the_input_grid(x: np.ndarray, input_type: dict | None) -> str | None:
    """Why inputs differ when the model has no input quantizer and they lie off the firmware input type's grid (or
    outside its range): the firmware rounds them, QKeras computes on them as they are."""
    from codesign.fixed import Fixed

    if not input_type or "the data" not in input_type.get("why", ""):  # a type chosen from the build's data, not a quantizer
        return None
    fixed = Fixed.parse(input_type["type"])
    scaled = np.asarray(x, dtype=np.float64).reshape(len(x), -1) / fixed.lsb
    off = ~((scaled == np.round(scaled)) & (scaled >= fixed.low) & (scaled <= fixed.high)).all(axis=1)
    if not off.any():
        return None
    return (f"{int(off.sum())} of these {len(x)} inputs are not values of the firmware's input type {fixed.hls4ml()}, which was chosen to "
            "hold the build's data exactly (the model has no input quantizer): the firmware rounds them, QKeras computes on them as they "
            "are; put a QActivation(quantized_bits(...)) first, or give inputs on that type's grid")


def _inexact_anywhere(model, input_type: dict | None, float32_reasons: bool = True) -> str | None:
    """Where the first diverging layer has no reason of its own: the first layer of the model that no firmware can
    compute exactly, named (every type candidate then differs, the kept one earlier than there)."""
    from codesign.typesearch import why_not_exact

    for layer in model.layers:
        why = why_not_exact(model, layer.name, input_type, float32_reasons)
        if why:
            return f"layer {layer.name} cannot be exact, so no type candidate is: {why}"
    return None


def with_the_proofs_reason(report: dict) -> dict:
    """The first diverging layer without a reason of its own takes the proof's finding at that layer where the
    finding is the model's own arithmetic: QKeras's float32 sums, which round where no exact evaluation stands in
    (where one does, the firmware differs from it too, and float32 is not the reason). A type that rounds or
    overflows is not taken: it is codesign's choice, and the fuzzer must see it unexplained."""
    diverging = report.get("first_diverging_layer")
    if not diverging or diverging.get("why") or (report.get("exact_reference") or {}).get("available"):
        return report
    finding = next((layer for layer in (report.get("proof") or {}).get("layers", []) if layer["name"] == diverging["name"]), None)
    if finding is None or finding.get("condition") != "float32":
        return report
    return {**report, "first_diverging_layer": {**diverging, "why": f"the proof's analysis: {finding['why']}"}}


def prove_exact(layout: RunLayout, spec: Spec, domain, say: Callable[[str], None], reference: str = "qkeras",
                samples: np.ndarray | None = None) -> dict:
    """validate.json's `proof`: the firmware equals QKeras on every input of the domain (bounds through the converted
    graph, codesign/proof.py), or inputs on which the compiled C++ emulation and QKeras differ, saved in
    reports/counterexample.npz, or the conditions the analysis could not show and no input was found to break. When
    validation found the firmware equal to the model's exact evaluation (`reference` 'exact'), inputs are searched
    against that evaluation. 'proven' is written only after the proof survives a replay of inputs of its domain
    (`samples`, the test set, among them); one that does not is 'contradicted', a codesign defect."""
    from codesign.counterexample import candidates, search
    from codesign.emulate import firmware_outputs, run_emulation
    from codesign.proof import prove

    model = load_keras_model(layout.qkeras_model)
    proof = prove(layout.hls_dir, model, domain, logits=spec.hls.head == "firmware")
    report = proof.dump()
    layout.counterexample.unlink(missing_ok=True)

    def cpp(samples: np.ndarray) -> np.ndarray:
        return firmware_logits(layout, spec, run_emulation(layout.library, layout.emulation_meta, samples, lambda _: None,
                                                           trace=spec.hls.head == "firmware"))

    screen = cpp if spec.hls.head == "firmware" else (lambda samples: firmware_outputs(layout, samples))
    against = "exact" if "exact" in (proof.reference, reference) else "qkeras"
    if proof.status == "proven":
        drawn = candidates([], proof.inputs, model, proof.input_type, on_grid=not proof.quantized_input)
        replay = drawn if samples is None else np.concatenate([np.asarray(samples, dtype=np.float32), drawn])
        replay = replay[proof.contains(replay)]  # as float32, what a caller can pass: a 32-bit input type's values may not be
        found, firmware, expected, screened = _replayed(replay, screen, cpp, reference_function(model, against), against)
        report.update(replayed=screened)
        if not len(found):
            where = " against the exact evaluation" if proof.reference == "exact" else ""
            say(f"  proof: bit-exact{where} for {proof.domain['text']} ({proof.seconds:.2f} s; {screened:,} inputs of it replayed, "
                f"the first {min(screened, REPLAY_CPP)} through the C++ emulation)")
            return report
        diverging = _saved_counterexample(layout, model, found, firmware, expected, against)
        where = f"{diverging['name']} ({diverging['class']}) first differs" if diverging else "the outputs differ"
        report.update(status="contradicted", counterexample=str(layout.counterexample.relative_to(layout.root)), first_diverging_layer=diverging,
                      why=f"codesign's proof said proven, but {len(found)} inputs of its domain differ ({where}): a codesign defect, not a claim")
        say(f"  proof: CONTRADICTED: {report['why']}; the inputs are in {report['counterexample']}")
        return report
    say(f"  proof: not shown for {proof.domain['text']}: {proof.why}; searching for an input that breaks it")
    x = candidates(proof.failing(), proof.inputs, model, proof.input_type, on_grid=not proof.quantized_input)
    if against == "exact":  # the claim is about the inputs the exact evaluation holds
        from codesign.exact import representable

        x = x[representable(x)]
    found, firmware, expected, screened = search(x, screen, cpp, reference_function(model, against))
    report.update(searched=screened, reference=against)
    if not len(found):
        left_out = f" ({len(x) - screened:,} more the exact evaluation cannot hold left out)" if screened < len(x) else ""
        say(f"  proof: unproven; none of {screened:,} inputs drawn to break it differs{left_out}")
        return report
    diverging = _saved_counterexample(layout, model, found, firmware, expected, against)
    finding = next((f for f in proof.layers if diverging and f.name == diverging["name"]), None)
    where = f"{diverging['name']} first differs, by up to {diverging['max_abs_diff']:g}" if diverging else "the outputs differ"
    known = finding is not None and finding.condition in ("overflow", "float32", "rounding", "padding")
    report.update(status="counterexample", counterexample=str(layout.counterexample.relative_to(layout.root)),
                  first_diverging_layer=diverging, why=where + (f": {finding.why}" if known else ""))
    say(f"  proof: counterexample, {len(found)} inputs in {report['counterexample']} ({report['why']})")
    return report


def _replayed(x: np.ndarray, screen, cpp, reference, against: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A proof checks itself before it is written: inputs of its domain (the test samples in it, random corners and
    draws) through the fast emulator, the first REPLAY_CPP through the C++ emulation, against the reference. What
    differs (confirmed on the C++ emulation) contradicts it."""
    from codesign.counterexample import search

    if against == "exact":
        from codesign.exact import representable

        x = x[representable(x)]
    found, firmware, expected, _ = search(x[:REPLAY_CPP], cpp, cpp, reference)
    if not len(found):
        found, firmware, expected, _ = search(x, screen, cpp, reference)
    return found, firmware, expected, len(x)


def _saved_counterexample(layout: RunLayout, model, found, firmware, expected, against: str) -> dict | None:
    """reports/counterexample.npz (the inputs, the firmware's outputs and the reference's), and the first layer where the
    C++ emulation traced on them differs from Keras."""
    from codesign.emulate import run_emulation

    np.savez(layout.counterexample, x=found, firmware=firmware, **{against: expected})  # 'qkeras', or 'exact' outputs
    traced = run_emulation(layout.library, layout.emulation_meta, found, lambda _: None, trace=True)
    return traced_divergence(layout, model, found, traced.layers)


def reference_function(model, reference: str) -> Callable[[np.ndarray], np.ndarray]:
    """What the firmware is compared with on new inputs: QKeras's predictions, or the model's exact evaluation."""
    if reference == "exact":  # NaN where the evaluation cannot hold a sample: not compared
        from codesign.exact import outputs_where_defined

        return lambda samples: outputs_where_defined(model, samples)
    return lambda samples: predicted(model, samples)


def head_report(spec: Spec, layout: RunLayout) -> dict | None:
    head = head_of(spec, layout)
    return None if head is None else {"function": head["function"], "layer": head["layer"], "runs_on": spec.hls.head}


def head_agreement(logits: np.ndarray, firmware_head: np.ndarray, function: str) -> dict:
    """How far the firmware's lookup-table head is from the exact function (float64) of the QKeras logits: the
    largest and mean absolute difference, and how often the decision agrees (argmax; for one output, sigmoid's
    side of 0.5 or tanh's sign)."""
    logits = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1)
    firmware_head = np.asarray(firmware_head, dtype=np.float64).reshape(len(firmware_head), -1)
    if function == "softmax":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        exact = shifted / shifted.sum(axis=1, keepdims=True)
    else:
        exact = 1 / (1 + np.exp(-logits)) if function == "sigmoid" else np.tanh(logits)
    if exact.shape[1] > 1:
        decision, agreement = "argmax", exact.argmax(axis=1) == firmware_head.argmax(axis=1)
    else:
        threshold = 0.5 if function == "sigmoid" else 0.0
        decision, agreement = f"above {threshold:g}", (exact > threshold) == (firmware_head > threshold)
    difference = np.abs(exact - firmware_head)
    return {"function": function, "max_abs_diff": float(difference.max()), "mean_abs_diff": float(difference.mean()),
            "decision": decision, "agreement": float(agreement.mean())}


def divergence_line(report: dict) -> str:
    """'N of M samples differ (max abs diff D), first diverging layer L (Class)'."""
    line = (
        f"{report['mismatched_samples']} of {report['samples']} samples differ "
        f"(max abs diff {report['max_abs_diff']:.6g})"
    )
    layer = report.get("first_diverging_layer")
    if layer:
        line += f"; first diverging layer: {layer['name']} ({layer['class']}, max abs diff {layer['max_abs_diff']:.6g})"
        if layer.get("why"):
            line += f": {layer['why']}"
    return line


def proof_line(proof: dict) -> str:
    """'proven: bit-exact for every input in ...', or where a counterexample lies, or what stays unproven."""
    if proof["status"] == "proven":
        against = " against the exact evaluation of the quantized model (QKeras's float32 sums may round)" if proof.get("reference") == "exact" else ""
        return f"proven: bit-exact{against} for {proof['domain']['text']}"
    if proof["status"] == "counterexample":
        return f"not for every input: counterexample in {proof['counterexample']} ({proof['why']})"
    if proof["status"] == "contradicted":
        return f"proof CONTRADICTED: {proof['why']}; inputs in {proof['counterexample']}"
    return f"not proven for {proof['domain']['text']}: {proof['why']}"


def summary_lines(report: dict) -> list[str]:
    """A few lines for the terminal: bit-exactness and the accuracies (after the synthetic-data warning)."""
    lines = [report["warning"]] if report.get("warning") else []
    if report["bit_exact"]:
        lines.append(f"bit-exact: yes, all {report['samples']} samples identical on every output" + (
            " to the exact evaluation of the quantized model" if report.get("reference") == "exact" else ""))
    else:
        lines.append(f"bit-exact: NO, {divergence_line(report)}")
    exact = report.get("exact_reference") or {}
    if exact.get("float32_layers"):
        where = ", ".join(f"{note['layer']} ({note['bits']} bits, error up to {note['error_bound']:.3g})" for note in exact["float32_layers"])
        lines.append(f"QKeras's float32 sums may round at {where}: QKeras differs from the exact evaluation on "
                     f"{exact['qkeras_mismatched_samples']} of {report['samples']} samples (max abs diff {exact['qkeras_max_abs_diff']:.3g}), "
                     f"the firmware on {exact['firmware_mismatched_samples']}")
    if report.get("proof"):
        lines.append(proof_line(report["proof"]))
    if report["bit_exact"] and report.get("computed_in_float"):
        lines.append(
            f"note: QKeras computes {', '.join(report['computed_in_float'])} in float32: identical on these samples, "
            "other inputs may differ by float32 rounding"
        )
    emulators = report.get("emulators")
    if emulators and emulators["vectorized"]["used"]:
        identical = {True: "identical", False: "DIFFERENT", None: "not run"}[emulators["cpp"]["identical_to_vectorized"]]
        lines.append(
            f"emulation: vectorized on {emulators['vectorized']['samples']} samples "
            f"({emulators['vectorized']['samples_per_s']:,.0f}/s), C++ on {emulators['cpp']['samples']}: {identical}"
        )
    elif emulators:
        lines.append(f"emulation: C++ on all {emulators['cpp']['samples']} samples ({emulators['vectorized']['reason']})")
    if report["argmax_agreement"] is not None:
        lines.append(f"argmax agreement {report['argmax_agreement']:.4f}")
    if (report.get("head") or {}).get("proof"):
        from codesign.head import head_line

        lines.append(head_line(report["head"]))
    if report.get("firmware_head"):
        head = report["firmware_head"]
        lines.append(
            f"firmware {head['function']} (lookup tables) vs exact {head['function']} of the logits: {head['decision']} agreement "
            f"{head['agreement']:.4f}, max abs diff {head['max_abs_diff']:.4g}, mean {head['mean_abs_diff']:.3g} "
            "(not part of the bit-exact check, which is on the logits)"
        )
    elif report.get("head") and report["head"]["runs_on"] == "host":
        lines.append(f"head: {report['head']['function']} of '{report['head']['layer']}' on the host, in float as QKeras "
                     "computes it; the firmware ends on the logits")
    accuracy = report["accuracy"]
    shown = [f"{key} {accuracy[key]:.4f}" for key in ("float", "qkeras", "emulation") if accuracy.get(key) is not None]
    if shown:
        lines.append("accuracy: " + "  ".join(shown))
    errors = report.get("error") or {}
    shown = [f"{key} {value['mae']:.4g}/{value['rmse']:.4g}" for key, value in errors.items() if value is not None]
    if shown:
        lines.append("error against the labels (MAE/RMSE): " + "  ".join(shown))
    if report.get("outputs"):
        lines.append(outputs_line(report["outputs"]))
    if report.get("task_note") and report["task_note"] != "no labels":
        lines.append(f"no accuracy or error: {report['task_note']}")
    return lines
