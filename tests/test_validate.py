"""Output comparison and divergence search, on arrays whose answer is known."""

from __future__ import annotations

import numpy as np

from codesign.validate import compare_outputs, first_divergence


def test_identical_outputs_are_bit_exact():
    reference = np.random.default_rng(0).normal(size=(50, 10)).astype(np.float32)
    labels = reference.argmax(axis=1)
    summary, mismatched = compare_outputs(reference, reference.astype(np.float64), labels)
    assert summary["bit_exact"] and summary["mismatched_samples"] == 0 and len(mismatched) == 0
    assert summary["max_abs_diff"] == 0.0 and summary["argmax_agreement"] == 1.0
    assert summary["accuracy"] == {"float": None, "qkeras": 1.0, "emulation": 1.0}


def test_one_lsb_anywhere_is_a_mismatch():
    reference = np.zeros((10, 4))
    emulated = reference.copy()
    emulated[3, 2] = 2.0**-10
    emulated[7, 0] = -(2.0**-10)
    summary, mismatched = compare_outputs(reference, emulated, None)
    assert not summary["bit_exact"]
    assert summary["mismatched_samples"] == 2 and summary["mismatched_elements"] == 2
    assert list(mismatched) == [3, 7]
    assert summary["max_abs_diff"] == 2.0**-10
    assert summary["accuracy"]["qkeras"] is None  # no labels, no accuracy


def test_regression_head_has_no_argmax():
    reference = np.linspace(0, 1, 8).reshape(8, 1)
    summary, _ = compare_outputs(reference, reference, np.linspace(0, 1, 8))
    assert summary["bit_exact"] and summary["argmax_agreement"] is None
    assert summary["accuracy"]["emulation"] is None


def test_first_divergence_walks_in_firmware_order():
    order = [{"name": "conv", "class": "Conv2D"}, {"name": "zp", "class": "ZeroPadding2D"}, {"name": "fc", "class": "Dense"}, {"name": "out", "class": "Dense"}]
    same = np.ones((2, 6))
    firmware = {"conv": same, "zp": np.zeros((2, 9)), "fc": same + 0.25, "out": same + 1}
    keras = {"conv": same, "fc": same, "out": same}
    found = first_divergence(order, firmware, keras)
    assert found["name"] == "fc" and found["max_abs_diff"] == 0.25 and found["samples_traced"] == 2
    assert first_divergence(order, {"conv": same}, {"conv": same}) is None


def test_a_split_layer_is_compared_where_its_last_part_ends_and_a_merged_quantizer_with_its_output():
    order = [{"name": "conv", "class": "Conv2D"}, {"name": "conv_alpha", "class": "ApplyAlpha"}, {"name": "fc", "class": "Dense"}]
    keras = {"conv": np.full((2, 4), 3.0), "conv_q": np.full((2, 4), 1.0), "fc": np.ones((2, 2))}
    firmware = {"conv": np.full((2, 4), 0.75), "conv_alpha": np.full((2, 4), 3.0), "fc": np.ones((2, 2))}
    assert first_divergence(order, firmware, keras) is None  # 'conv' holds the unscaled sums Keras never shows
    firmware["conv_alpha"] = np.full((2, 4), 1.0)  # hls4ml merged the QActivation 'conv_q' into the scaled result
    assert first_divergence(order, firmware, keras)["keras_layer"] == "conv"
    assert first_divergence(order, firmware, keras, {"conv": "conv_q"}) is None
    firmware["fc"] = np.zeros((2, 2))
    assert first_divergence(order, firmware, keras, {"conv": "conv_q"})["name"] == "fc"


def test_an_activation_hls4ml_split_off_is_compared_as_its_layers_end():
    order = [{"name": "fc", "class": "Dense"}, {"name": "fc_quantized_bits", "class": "Activation"}, {"name": "out", "class": "Dense"}]
    keras = {"fc": np.full((2, 4), 0.25), "out": np.ones((2, 2))}
    firmware = {"fc": np.full((2, 4), 0.3), "fc_quantized_bits": np.full((2, 4), 0.25), "out": np.ones((2, 2))}
    assert first_divergence(order, firmware, keras) is None  # 'fc' holds the sums before the quantizer Keras applies
    firmware["fc_quantized_bits"] = np.full((2, 4), 0.125)  # the split layer's own cast rounds
    assert first_divergence(order, firmware, keras)["name"] == "fc_quantized_bits"


def test_the_activations_hls4ml_splits_off_are_named_and_traced_as_hls4ml_names_them(tmp_path):
    import hls4ml
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from codesign.convert import _trace_and_override
    from codesign.layers import split_activation
    from codesign.config import HLSSpec

    inputs = keras.Input((4,), name="x")
    layers = [keras.layers.Dense(3, activation="relu", name="fc"),
              QDense(3, activation=quantized_relu(4, 0), kernel_quantizer=quantized_bits(6, 0, alpha=1), name="q"),
              QDense(3, activation="quantized_bits(6,2,0)", kernel_quantizer=quantized_bits(6, 0, alpha=1), name="q_1"),
              QActivation("quantized_relu(3,1)", name="act"), keras.layers.Activation("tanh", name="t")]
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    model = keras.Model(inputs, outputs)
    assert [split_activation(layer) for layer in layers] == ["fc_relu", "q_quantized_relu", "q_1_quantized_bits", None, None]
    config = hls4ml.utils.config_from_keras_model(model, granularity="model")  # no layer listed: tracing names them
    _trace_and_override(model, config, HLSSpec())
    graph = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(tmp_path / "prj"), backend="Vivado")
    traced = {layer.name for layer in graph.get_layers() if layer.get_attr("trace", False)}
    assert {"fc_relu", "q_quantized_relu", "fc", "q", "q_1", "act", "t"} <= traced
    assert {layer.name for layer in graph.get_layers()} == traced  # q_1's linear cast is merged into q_1 here


def test_a_diverging_layer_without_a_reason_takes_the_proofs_float32_finding_there_and_no_type_it_chose():
    from codesign.validate import with_the_proofs_reason

    proof = {"layers": [{"name": "fc", "condition": "float32", "why": "QKeras sums in float32"},
                        {"name": "alpha", "condition": "rounding", "why": "result type fixed<16,6> rounds"}]}
    report = {"first_diverging_layer": {"name": "fc", "why": None}, "proof": proof}
    assert with_the_proofs_reason(report)["first_diverging_layer"]["why"] == "the proof's analysis: QKeras sums in float32"
    assert report["first_diverging_layer"]["why"] is None  # the report given is not changed
    for diverging in ({"name": "alpha", "why": None}, {"name": "fc", "why": "its own"}, {"name": "other", "why": None}):
        assert with_the_proofs_reason({**report, "first_diverging_layer": diverging})["first_diverging_layer"] == diverging
    assert with_the_proofs_reason({**report, "exact_reference": {"available": True}})["first_diverging_layer"]["why"] is None


def test_keras_hard_sigmoid_is_named_with_the_input_it_rounds_otherwise():
    """Keras's hard_sigmoid lands 0.2 * x + 0.5 on a rounding step for some x and rounds it half to even; hls4ml's
    slope (0.2 truncated to ufixed<16,0>) lands beside it: x = -2.4609375 gives 2^-7, a step of quantized_bits(8,1)."""
    import qkeras
    import tensorflow as tf
    from tensorflow import keras

    from codesign.typesearch import why_not_exact

    inputs = keras.Input((4,))
    x = keras.layers.Activation("hard_sigmoid", name="hard")(qkeras.QDense(3, kernel_quantizer="quantized_bits(6,1,alpha=1)", name="q")(inputs))
    model = keras.Model(inputs, qkeras.QActivation("quantized_bits(8,1,alpha=1)", name="after")(x))
    assert why_not_exact(model, "hard", None).startswith("Keras's hard_sigmoid computes 0.2 * x + 0.5 in float32")
    assert why_not_exact(model, "q", None) is None
    quantizer, x = model.get_layer("after").quantizer, np.float32(-2.4609375)
    keras_value = float(quantizer(keras.activations.hard_sigmoid(tf.constant([x])))[0])
    hls4ml_slope = np.floor(0.2 * 2**16) / 2**16
    hls4ml_value = np.round((hls4ml_slope * float(x) + 0.5) * 2**6) / 2**6  # RND_CONV: no tie left to round
    assert float(keras.activations.hard_sigmoid(tf.constant([x]))[0]) == 2.0**-7 and (keras_value, hls4ml_value) == (0.0, 2.0**-6)
