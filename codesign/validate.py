"""Bit-exactness of the firmware against the QKeras model, sample by sample, and where it first diverges."""

from __future__ import annotations

import numpy as np

DIVERGENCE_SAMPLES = 16  # mismatching samples traced layer by layer to find the first diverging layer


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
) -> tuple[dict, np.ndarray]:
    """Every output element of every sample compared exactly; accuracy (classifier) or MAE/RMSE (regression) only
    where outputs and labels make them meaningful. `reference_kind` is 'float' when the model is a float model,
    'exact' when the reference is QKeras's model evaluated exactly (then `qkeras_outputs` gives QKeras's accuracy).

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
    task, note = task_of(output_shape, labels)
    outputs = {"float": float_outputs, "qkeras": qkeras_outputs, "emulation": emulated, reference_kind: reference}
    metrics = {kind: task_metrics(values, labels, task) for kind, values in outputs.items()}
    classifier_outputs = len(output_shape) == 1 and reference.shape[1] > 1
    result = {
        "samples": samples,
        "outputs_per_sample": int(reference.shape[1]),
        "mismatched_samples": int(mismatched.sum()),
        "mismatched_elements": int(differs.sum()),
        "max_abs_diff": float(np.abs(reference - emulated).max()) if samples else 0.0,
        "bit_exact": bool(samples and not mismatched.any()),
        "reference": reference_kind,
        "argmax_agreement": float((reference.argmax(axis=1) == emulated.argmax(axis=1)).mean()) if classifier_outputs else None,
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


def first_divergence(traced_order: list[dict], firmware: dict[str, np.ndarray], keras: dict[str, np.ndarray]) -> dict | None:
    """Walk the firmware's layers in order; the first whose output differs from the same Keras layer's is the culprit."""
    for layer in traced_order:
        name = layer["name"]
        if name not in firmware or name not in keras or firmware[name].shape != keras[name].shape:
            continue  # layers hls4ml added (padding, reshapes) or that Keras has in another layout
        difference = np.abs(firmware[name] - keras[name])
        if difference.max() > 0:
            return {
                "name": name,
                "class": layer["class"],
                "max_abs_diff": float(difference.max()),
                "mismatched_elements": int((difference > 0).sum()),
                "samples_traced": int(len(difference)),
            }
    return None
