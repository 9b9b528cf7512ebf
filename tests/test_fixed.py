"""The fixed-point module, QKeras quantizers as exact types, and which outputs get an accuracy or an error."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.fixed import Fixed, exact_type_of, from_float
from codesign.validate import compare_outputs, task_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fixed<16,6,RND_CONV,SAT,0>", Fixed(16, 6, True, "RND_CONV", "SAT")),
        ("ufixed<8,3>", Fixed(8, 3, False)),
        ("uint<3>", Fixed(3, 3, False)),
        ("int<2>", Fixed(2, 2, True)),
        ("ap_fixed<8,3,AP_RND,AP_SAT>", Fixed(8, 3, True, "RND", "SAT")),
        ("xnor", None),
        ("exponent<4>", None),
    ],
)
def test_parse_reads_every_type_text_hls4ml_writes(text, expected):
    assert Fixed.parse(text) == expected


def test_parse_ap_names_what_is_wrong():
    assert Fixed.parse_ap("ap_ufixed<8,3,RND_CONV,SAT>").hls4ml() == "ufixed<8,3,RND_CONV,SAT>"
    spelled_as_cpp = Fixed.parse_ap("ap_fixed<16,6,AP_RND,AP_SAT>")  # as hls4ml's tutorial and the C++ type write it
    assert spelled_as_cpp == Fixed(16, 6, True, "RND", "SAT") and Fixed.parse_ap(spelled_as_cpp.ap()) == spelled_as_cpp
    with pytest.raises(ValueError, match="width must be 1..64"):
        Fixed.parse_ap("ap_fixed<80,3>")
    with pytest.raises(ValueError, match="modes must be one of"):
        Fixed.parse_ap("ap_fixed<8,3,ROUND>")


def test_exact_type_holds_every_value_and_is_the_narrowest():
    values = np.array([0.0, 0.0625, 1.5, 1.9375])
    fixed, exact = exact_type_of(values)
    assert exact and fixed == Fixed(5, 1, False)
    assert np.array_equal(from_float(values, fixed) * fixed.lsb, values)
    narrower = Fixed(4, 1, False)  # one fraction bit fewer loses 0.0625
    assert not np.array_equal(from_float(values, narrower) * narrower.lsb, values)
    signed, exact = exact_type_of(np.array([-4.0, 3.75]))
    assert exact and signed == Fixed(5, 3, True)


def test_inexact_data_get_a_wide_type_over_their_range():
    values = np.random.default_rng(0).uniform(-3, 3, 100).astype(np.float32) * np.float32(1 / 3)
    fixed, exact = exact_type_of(values.astype(np.float64) / 7)
    assert not exact and fixed.width == 32 and fixed.signed and fixed.largest >= np.abs(values / 7).max()


def test_quantizer_types_match_what_qkeras_computes():
    from qkeras import quantized_bits, quantized_relu

    from codesign.quantizers import quantizer_type

    x = np.linspace(-20, 20, 20001).astype(np.float32)  # steps of 2^-9 and many rounding ties
    for quantizer in (quantized_bits(8, 4), quantized_bits(4, 2), quantized_bits(8, 2, keep_negative=False),
                      quantized_relu(6, 2), quantized_relu(3, 3), quantized_bits(6, 0, alpha=1), quantized_bits(4, 3, 1, alpha=1),
                      quantized_bits(8, 0, symmetric=True, alpha=1)):
        fixed = quantizer_type(quantizer)
        expected = quantizer(x).numpy().astype(np.float64)
        assert np.array_equal(from_float(x, fixed) * fixed.lsb, expected), quantizer.get_config()
    assert quantizer_type(quantized_bits(8, 0, alpha="auto_po2")) is None  # a scale of its own: hls4ml's business


@pytest.mark.parametrize(
    ("output_shape", "labels", "task"),
    [
        ((10,), np.array([0, 9, 3]), "classification"),
        ((1,), np.array([0.5, -1.0, 2.0], dtype=np.float32), "regression"),
        ((2,), np.zeros((3, 2), dtype=np.float32), "regression"),
        ((4, 4, 3), np.array([0, 1, 2]), None),  # a feature map with class labels
        ((3,), np.array([0, 5, 1]), None),  # a label beyond the outputs
        ((3,), None, None),
    ],
)
def test_task_follows_outputs_and_labels(output_shape, labels, task):
    assert task_of(output_shape, labels)[0] == task


def test_regression_reports_error_and_feature_maps_a_note():
    reference = np.array([[0.5], [1.0], [2.0]])
    summary, _ = compare_outputs(reference, reference, np.array([0.0, 1.0, 2.0], dtype=np.float32))
    assert summary["error"]["emulation"] == summary["error"]["qkeras"] == pytest.approx({"mae": 0.5 / 3, "rmse": np.sqrt(0.25 / 3)})
    feature_map = np.zeros((3, 4, 4, 2))
    summary, _ = compare_outputs(feature_map, feature_map.reshape(3, -1), np.array([0, 1, 1]))
    assert summary["bit_exact"] and summary["task"] is None and summary["accuracy"]["emulation"] is None
    assert summary["argmax_agreement"] is None and "neither" in summary["task_note"]


def test_a_float_reference_is_labelled_float():
    reference = np.eye(3)
    summary, _ = compare_outputs(reference, reference, np.array([0, 1, 2]), reference_kind="float")
    assert summary["accuracy"] == {"float": 1.0, "qkeras": None, "emulation": 1.0}


def test_the_exact_type_algebra_holds_every_extreme_value():
    """exact_sum / exact_scale / covering / averaged: each result type holds the extreme values its inputs allow, at
    the fraction bits they need (the repairs' types, codesign/repairs.py)."""
    from codesign.fixed import averaged, covering, exact_scale, exact_sum

    def holds(result: Fixed, value: float, frac: int) -> bool:
        return result.frac >= frac and result.low * result.lsb <= value <= result.largest

    types = [Fixed(8, 3, True), Fixed(6, 0, False), Fixed(12, 5, True), Fixed(4, 4, True), Fixed(10, -2, True)]
    for source in types:
        for weight in types:
            for terms in (1, 3, 16, 100):
                for bias in (None, *types):
                    result = exact_sum(source, weight, terms, bias)
                    corners = [a * b for a in (source.low * source.lsb, source.largest) for b in (weight.low * weight.lsb, weight.largest)]
                    biases = [0.0] if bias is None else [bias.low * bias.lsb, bias.largest]
                    frac = max(source.frac + weight.frac, bias.frac if bias else 0)
                    assert all(holds(result, terms * corner + offset, frac) for corner in corners for offset in biases)
                    scaled = exact_scale(source, weight, bias)
                    assert all(holds(scaled, corner + offset, frac) for corner in corners for offset in biases)
        assert holds(averaged(source, 8), source.low * source.lsb, source.frac + 3) and holds(averaged(source, 8), source.largest, source.frac + 3)
    cover = covering(types, carry=1)
    assert all(holds(cover, 2 * value, max(t.frac for t in types)) for t in types for value in (t.low * t.lsb, t.largest))


def test_a_dot_is_named_computed_in_float32_because_its_sums_round():
    """Keras's Dot sums its products in float32: on inputs of 12 fraction bits, the exact sum (what the firmware
    computes) differs from Keras's on some samples, so a Dot is named as computed in float32 (quantizers.FLOAT_LAYERS)."""
    import tensorflow as tf

    from codesign.quantizers import computed_in_float

    a, b = tf.keras.Input((6,)), tf.keras.Input((6,))
    model = tf.keras.Model([a, b], tf.keras.layers.Dot(axes=1, name="dot")([a, b]))
    rng = np.random.default_rng(0)
    x, y = (np.round(rng.normal(size=(200, 6)) * 2**12) / 2**12 for _ in range(2))
    keras_sums = model.predict([x.astype(np.float32), y.astype(np.float32)], verbose=0)[:, 0]
    assert np.any(keras_sums != (x * y).sum(axis=1)) and computed_in_float(model) == ["dot"]
