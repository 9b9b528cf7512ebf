"""Inputs of the domain on which the firmware and QKeras really differ, looked for where the proof fails.

Candidates are built from what the proof found: for a weighted layer fed by the input, the corner of the domain that
drives a failing accumulator to its bound (exact for the first Dense); deeper, sign-gradient ascent on that layer's
Keras output from random corners; and random corners and draws of the domain. They are screened with the fast
emulator and kept only when the compiled C++ emulation itself differs from QKeras on them (docs/proof.md).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from codesign.fixed import Fixed, from_float
from codesign.layers import INPUT, inputs_of, is_input_layer, is_keras_dense, is_quantizer_layer, kind_named
from codesign.proof import Domain, Finding

RANDOM_SAMPLES = 512
ASCENT_STEPS = 24
KEPT = 16


def candidates(findings: list[Finding], domain: Domain, keras_model, input_type: Fixed, on_grid: bool, seed: int = 0) -> np.ndarray:
    """Inputs likely to break what failed: corners for the failing layers fed by the input, gradient ascent on the
    failing layers' Keras outputs, random corners and uniform draws; snapped to the input type's grid when the
    domain is made of its values."""
    rng = np.random.default_rng(seed)
    shape = keras_model.input_shape[1:]
    low, high = domain.low.astype(np.float64), domain.high.astype(np.float64)
    rows = [rng.choice([0.0, 1.0], size=(RANDOM_SAMPLES, len(low))) * (high - low) + low,
            rng.uniform(low, high, size=(RANDOM_SAMPLES, len(low)))]
    for finding in findings:
        if kind_named(finding.kind) is INPUT and finding.witness is not None:  # the input cast itself: that value everywhere
            rows.append(np.full((1, len(low)), finding.witness))
        if finding.holds or not finding.extremes or finding.name not in {layer.name for layer in keras_model.layers}:
            continue
        rows.append(_ascent(keras_model, finding.name, finding.extremes, low, high, rng))
        corner = _corner(keras_model, finding.name, finding.extremes, low, high)
        if corner is not None:
            rows.append(corner)
    x = np.concatenate(rows)
    if on_grid:  # the domain is the input type's values: stay on its grid, inside the domain
        raw = from_float(x, input_type)
        raw = np.clip(raw, np.ceil(low / input_type.lsb), np.floor(high / input_type.lsb))
        x = raw * input_type.lsb
    return x.astype(np.float32).reshape(-1, *shape)


def _corner(keras_model, name: str, extremes: list[int], low: np.ndarray, high: np.ndarray) -> np.ndarray | None:
    """For a Dense layer on the model's input: each input at the end of its range that pushes the lowest / highest
    sum further (the sign of its weight): the exact extreme of that accumulator."""
    by_name = {layer.name: layer for layer in keras_model.layers}  # a Sequential model's input layer is not among them
    layer, sources = by_name[name], inputs_of(by_name[name])
    while len(sources) == 1 and is_quantizer_layer(by_name.get(sources[0])):  # the input quantizer
        sources = inputs_of(by_name[sources[0]])
    fed_by_input = len(sources) == 1 and is_input_layer(by_name.get(sources[0]))
    if not fed_by_input or not is_keras_dense(layer) or len(layer.get_weights()[0]) != len(low):
        return None
    kernel = layer.get_weights()[0]
    lowest, highest = extremes
    return np.stack([np.where(kernel[:, lowest] > 0, low, high), np.where(kernel[:, highest] > 0, high, low)])


def _ascent(keras_model, name: str, extremes: list[int], low: np.ndarray, high: np.ndarray, rng) -> np.ndarray:
    """Sign-gradient steps on the layer's output elements that reach the bounds, down for the lowest and up for the
    highest, from random corners, kept inside the domain."""
    import tensorflow as tf

    probe = tf.keras.Model(keras_model.inputs, keras_model.get_layer(name).output)
    shape = (-1, *keras_model.input_shape[1:])
    found = []
    for element, direction in zip(extremes, (-1.0, 1.0)):
        x = tf.Variable((rng.choice([0.0, 1.0], size=(8, len(low))) * (high - low) + low).astype(np.float32))
        step = (high - low).astype(np.float32) / 4
        for index in range(ASCENT_STEPS):
            with tf.GradientTape() as tape:
                value = tf.reshape(probe(tf.reshape(x, shape)), (8, -1))[:, element]
            gradient = tape.gradient(value, x)
            if gradient is None:
                break
            x.assign(tf.clip_by_value(x + direction * step * tf.sign(gradient) / (1 + index // 6), low.astype(np.float32), high.astype(np.float32)))
        found.append(x.numpy())
    return np.concatenate(found)


def search(x: np.ndarray, screen: Callable[[np.ndarray], np.ndarray], confirm: Callable[[np.ndarray], np.ndarray],
           reference: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The candidates on which the firmware differs from QKeras: screened with `screen` (the fast emulator), kept
    when `confirm` (the compiled C++ emulation) differs too. Returns the inputs kept, the C++ outputs and QKeras's on
    them, and how many candidates were screened: those the reference gives an output for (the exact evaluation gives
    NaN where it cannot hold a sample)."""
    expected = np.asarray(reference(x), dtype=np.float64).reshape(len(x), -1)
    defined = ~np.isnan(expected).any(axis=1)
    x, expected = x[defined], expected[defined]
    differs = np.flatnonzero((np.asarray(screen(x), dtype=np.float64).reshape(len(x), -1) != expected).any(axis=1)) if len(x) else x[:0, 0]
    if not len(differs):
        return x[:0], expected[:0], expected[:0], len(x)
    differs = differs[np.argsort(np.abs(x[differs]).reshape(len(differs), -1).max(axis=1), kind="stable")][:KEPT * 4]  # smallest first
    firmware = np.asarray(confirm(x[differs]), dtype=np.float64).reshape(len(differs), -1)
    kept = (firmware != expected[differs]).any(axis=1)
    chosen = differs[kept][:KEPT]
    return x[chosen], firmware[kept][:KEPT], expected[chosen], len(x)
