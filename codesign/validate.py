"""Bit-exactness of the firmware against the QKeras model, sample by sample, and where it first diverges."""

from __future__ import annotations

import numpy as np

DIVERGENCE_SAMPLES = 16  # mismatching samples traced layer by layer to find the first diverging layer


def compare_outputs(
    reference: np.ndarray,
    emulated: np.ndarray,
    labels: np.ndarray | None,
    float_outputs: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """Every output element of every sample compared exactly; accuracies only where labels make them meaningful.

    Returns the summary and the indices of the samples whose outputs differ.
    """
    samples = len(reference)
    reference = reference.reshape(samples, -1).astype(np.float64)
    emulated = emulated.reshape(samples, -1).astype(np.float64)
    if reference.shape != emulated.shape:
        raise ValueError(f"reference has {reference.shape[1]} outputs per sample, the emulation {emulated.shape[1]}")
    differs = reference != emulated
    mismatched = differs.any(axis=1)
    classification = labels is not None and labels.ndim == 1 and np.issubdtype(labels.dtype, np.integer)
    classifier_outputs = reference.shape[1] > 1
    result = {
        "samples": samples,
        "outputs_per_sample": int(reference.shape[1]),
        "mismatched_samples": int(mismatched.sum()),
        "mismatched_elements": int(differs.sum()),
        "max_abs_diff": float(np.abs(reference - emulated).max()) if samples else 0.0,
        "bit_exact": bool(samples and not mismatched.any()),
        "argmax_agreement": (
            float((reference.argmax(axis=1) == emulated.argmax(axis=1)).mean()) if classifier_outputs else None
        ),
        "accuracy": {"float": None, "qkeras": None, "emulation": None},
    }
    if classification and classifier_outputs:
        result["accuracy"] = {
            "float": _accuracy(float_outputs, labels) if float_outputs is not None else None,
            "qkeras": _accuracy(reference, labels),
            "emulation": _accuracy(emulated, labels),
        }
    return result, np.flatnonzero(mismatched)


def _accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose largest output is the label (softmax on the host would not change it)."""
    return float((outputs.reshape(len(labels), -1).argmax(axis=1) == labels).mean())


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
