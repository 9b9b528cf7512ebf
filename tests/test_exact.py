"""The exact evaluation of a QKeras model (codesign/exact.py): against integer arithmetic done independently, against
QKeras where QKeras's float32 is exact, and the layers it declines, named."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from codesign.exact import NotExact, cast, evaluate, why_unavailable
from codesign.fixed import Fixed


def _dense_model(units: int, inputs: int, bits: int, seed: int, activation=None):
    import qkeras
    from tensorflow import keras

    quantizer = qkeras.quantized_bits(bits, 1, alpha=1)
    layer = qkeras.QDense(units, kernel_quantizer=quantizer, bias_quantizer=quantizer, activation=activation, name="fc")
    model = keras.Model(*(lambda x: (x, layer(x)))(keras.Input((inputs,))))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.7, (inputs, units)).astype(np.float32), rng.normal(0, 0.7, units).astype(np.float32)])
    return model, quantizer


def _fraction_dense(model, quantizer, x: np.ndarray) -> list[list[Fraction]]:
    """x @ W + b with Python fractions: no rounding anywhere."""
    kernel, bias = (np.asarray(quantizer(w), dtype=np.float64) for w in model.layers[1].get_weights())
    return [[sum((Fraction(float(a)) * Fraction(float(w)) for a, w in zip(row, kernel[:, j])), Fraction(float(bias[j])))
             for j in range(kernel.shape[1])] for row in x.astype(np.float64)]


def test_sums_beyond_float32_are_exact_where_qkeras_rounds():
    model, quantizer = _dense_model(4, 16, 16, 0)
    rng = np.random.default_rng(1)
    x = (np.round(rng.normal(0, 1.5, (60, 16)) * 4096) / 4096).astype(np.float32)  # a 2^-12 grid: products of 27 bits
    evaluation = evaluate(model, x)
    expected = _fraction_dense(model, quantizer, x)
    assert all(Fraction(float(value)) == want for row, wants in zip(evaluation.outputs, expected) for value, want in zip(row, wants))
    qkeras = model.predict(x, verbose=0)
    assert (qkeras != evaluation.outputs).any()  # QKeras's float32 sums round; the exact ones do not
    assert [note.layer for note in evaluation.float32_layers] == ["fc"] and evaluation.float32_layers[0].bits > 24
    assert np.abs(qkeras - evaluation.outputs).max() <= evaluation.float32_layers[0].error_bound


def test_inputs_with_many_fraction_bits_are_sliced_and_stay_exact():
    """Float32 inputs near 2 beside inputs near 2^-18 (about 41 fraction bits): the sums need about 60 bits, more than
    float64's 53; the input's bits are cut into slices whose sums are exact, and recombined exactly."""
    import qkeras

    model, quantizer = _dense_model(3, 8, 16, 2, activation=qkeras.quantized_bits(53, 3, alpha=1))  # 49 fraction bits out
    rng = np.random.default_rng(3)
    x = rng.choice([-1.0, 1.0], (20, 8)) * rng.uniform(1, 2, (20, 8)) * np.where(np.arange(8) % 2, 1.0, 2.0**-18)
    x = x.astype(np.float32)
    largest = np.abs(x).max() * 2.0**41 * np.abs(np.asarray(quantizer(model.layers[1].kernel))).sum(axis=0).max() * 2.0**14
    assert largest > 2.0**53
    evaluation = evaluate(model, x)
    expected = [[Fraction(round(value * 2**49), 2**49) for value in row] for row in _fraction_dense(model, quantizer, x)]  # half to even
    assert all(abs(value) < 8 for row in expected for value in row)  # no saturation in fixed<53,4>
    exact = [[Fraction(float(value)) for value in row] for row in evaluation.outputs]
    mismatches = sum(value != want for row, wants in zip(exact, expected) for value, want in zip(row, wants))
    assert mismatches == 0


def test_a_convolutional_model_equals_qkeras_where_qkeras_is_exact():
    """Conv2D, quantizers, average and max pooling, padding, flatten, dense: every layer kind run on integers gives
    QKeras's own outputs where QKeras's float32 arithmetic cannot round (8-bit weights, inputs on a 2^-6 grid)."""
    import qkeras
    from tensorflow import keras

    bits = qkeras.quantized_bits(8, 0, alpha=1)
    inputs = keras.Input((8, 8, 2))
    x = qkeras.QConv2D(4, 3, kernel_quantizer=bits, bias_quantizer=bits, padding="same", name="c1")(inputs)
    x = qkeras.QActivation(qkeras.quantized_relu(8, 3), name="a1")(x)
    x = keras.layers.AveragePooling2D(2, name="avg")(x)
    x = keras.layers.ZeroPadding2D(1, name="pad")(x)
    x = qkeras.QDepthwiseConv2D(3, depthwise_quantizer=bits, bias_quantizer=bits, activation=qkeras.quantized_bits(10, 4, alpha=1), name="dw")(x)
    x = keras.layers.MaxPooling2D(2, name="max")(x)
    x = keras.layers.Flatten(name="flat")(x)
    model = keras.Model(inputs, qkeras.QDense(3, kernel_quantizer=bits, bias_quantizer=bits, name="out")(x))
    rng = np.random.default_rng(4)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    x = (np.round(rng.uniform(-2, 2, (50, 8, 8, 2)) * 64) / 64).astype(np.float32)
    evaluation = evaluate(model, x)
    assert evaluation.float32_layers == []
    np.testing.assert_array_equal(evaluation.outputs, model.predict(x, verbose=0))


@pytest.mark.parametrize("use_bias", [True, False])
def test_a_batchnorm_folded_convolution_is_evaluated_with_its_quantized_folded_weights(use_bias):
    """QKeras's QConv2DBatchnorm folds the batch normalization into its kernel and bias in float32, then quantizes
    them: exact values, added even without use_bias (the folded bias is beta - mean * inv). It was declined, and
    QKeras's float32 sums in the layers after it became the reference (fuzz seed 1314)."""
    import qkeras
    from tensorflow import keras

    inputs = keras.Input((5, 5, 1))
    layer = qkeras.QConv2DBatchnorm(3, 3, strides=2, padding="same", use_bias=use_bias, name="conv_bn",
                                    kernel_quantizer=qkeras.quantized_bits(9, 1, alpha="auto_po2"), bias_quantizer=qkeras.quantized_bits(9, 0, alpha=1))
    model = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(0.5, 2.0, w.shape) if "variance" in v.name else rng.normal(0, 0.5, w.shape)
                       for w, v in zip(model.get_weights(), model.weights)])
    x = (np.round(rng.uniform(-2, 2, (40, 5, 5, 1)) * 16) / 16).astype(np.float32)  # 4 + 8 fraction bits, 9 terms: exact in float32
    evaluation = evaluate(model, x)
    assert evaluation.float32_layers == []
    np.testing.assert_array_equal(evaluation.outputs, model.predict(x, verbose=0))
    at_zero = evaluate(model, np.zeros((1, 5, 5, 1), dtype=np.float32)).outputs[0, 0, 0]  # the quantized folded bias alone
    assert np.abs(at_zero).max() > 0 and np.array_equal(at_zero, layer.bias_quantizer_internal(layer.get_folded_weights()[1]).numpy())


@pytest.mark.parametrize("layer, why", [
    ("batchnorm", "Keras normalizes a 4D feature map with its fused kernel"),
    ("average3", "QKeras averages 3 values"),
    ("tanh", "tanh is not a fixed-point cast"),
])
def test_layers_without_an_exact_value_are_declined_by_name(layer, why):
    import qkeras
    from tensorflow import keras

    inputs = keras.Input((6, 2) if layer != "batchnorm" else (6, 6, 2))
    convolution = qkeras.QConv1D if layer != "batchnorm" else qkeras.QConv2D
    x = convolution(2, 1, kernel_quantizer=qkeras.quantized_bits(8, 0, alpha=1), name="conv")(inputs)
    if layer == "batchnorm":
        x = keras.layers.BatchNormalization(name="batchnorm")(x)
    elif layer == "average3":
        x = keras.layers.AveragePooling1D(3, name="average3")(x)
    else:
        x = keras.layers.Activation("tanh", name="tanh")(x)
    model = keras.Model(inputs, x)
    with pytest.raises(NotExact, match=f"^{layer}: .*{why}"):
        evaluate(model, np.zeros((2, *model.input_shape[1:]), dtype=np.float32))
    assert why_unavailable(model).startswith(f"{layer}: ")


@pytest.mark.parametrize("quantized", [False, True])
def test_a_batch_normalization_after_a_dense_is_keras_s_own_formula_computed_exactly(quantized):
    """Keras (and QKeras) normalize as x * inv + shift with inv = rsqrt(variance + epsilon) * gamma in float32; the
    exact evaluation computes that with the same float32 inv and shift, and QKeras's outputs are its rounding."""
    import qkeras
    from tensorflow import keras

    rng = np.random.default_rng(5)
    layer = qkeras.QBatchNormalization(name="bn") if quantized else keras.layers.BatchNormalization(name="bn")
    model = keras.Model(*(lambda x: (x, layer(x)))(keras.Input((40,))))
    layer.set_weights([rng.uniform(0.5, 1.5, 40), rng.normal(0, 0.5, 40), rng.normal(0, 0.5, 40), rng.uniform(0.5, 2, 40)])
    x = (np.round(rng.normal(0, 2, (100, 40)) * 2**10) / 2**10).astype(np.float32)
    evaluation = evaluate(model, x)
    qkeras_outputs = model.predict(x, verbose=0)
    weights = layer.get_weights()
    if quantized:  # QKeras quantizes the parameters first (its defaults)
        quantizers = [layer.gamma_quantizer_internal, layer.beta_quantizer_internal, layer.mean_quantizer_internal, layer.variance_quantizer_internal]
        weights = [np.asarray(q(w), dtype=np.float32) if q is not None else w for q, w in zip(quantizers, weights)]
    gamma, beta, mean, variance = (np.asarray(w, dtype=np.float32) for w in weights)
    import tensorflow as tf

    inv = (tf.math.rsqrt(variance + np.float32(layer.epsilon)) * gamma).numpy()
    shift = beta - mean * inv
    rounded_like_keras = (x * inv).astype(np.float32) + shift
    np.testing.assert_array_equal(rounded_like_keras, qkeras_outputs)  # Keras's own formula, float32 rounding included
    expected = [[Fraction(float(a)) * Fraction(float(i)) + Fraction(float(s)) for a, i, s in zip(row, inv, shift)] for row in x]
    assert all(Fraction(float(value)) == want for row, wants in zip(evaluation.outputs, expected) for value, want in zip(row, wants))
    assert (evaluation.outputs != qkeras_outputs).any() and [note.layer for note in evaluation.float32_layers] == ["bn"]


def test_the_cast_rounds_half_to_even_and_saturates_as_quantized_bits_does():
    import qkeras

    quantizer = qkeras.quantized_bits(6, 2, alpha=1)  # fixed<6,3>: steps of 1/8 in [-4, 3.875]
    raw = np.arange(-2**12, 2**12, dtype=np.int64)  # every value with 9 fraction bits in [-8, 8): every tie included
    got = cast(raw, 9, Fixed(6, 3, True, "RND_CONV", "SAT")) / 8
    np.testing.assert_array_equal(got, np.asarray(quantizer((raw / 2.0**9).astype(np.float32)), dtype=np.float64))


def test_inputs_that_are_not_finite_or_too_fine_have_no_exact_value():
    """The counterexample search keeps only the samples the evaluation holds (`representable`)."""
    from codesign.exact import representable

    model, _ = _dense_model(2, 4, 8, 6)
    with pytest.raises(NotExact, match="^the input: not every value is finite"):
        evaluate(model, np.array([[1.0, np.inf, 0.0, 2.0]], dtype=np.float32))
    samples = np.array([[1.0, 0.5, 0, 0], [1e-30, 1, 2, 0], [np.nan, 0, 0, 0], [0, 0, 0, 0], [3.0, 2**-20, -7, 0]], dtype=np.float32)
    assert representable(samples).tolist() == [True, False, False, True, True]
    with pytest.raises(NotExact, match="need .* fraction bits"):
        evaluate(model, samples[1:2])
    assert evaluate(model, samples[representable(samples)]).outputs.shape == (3, 2)


def test_outputs_where_defined_split_a_batch_it_cannot_hold_and_leave_out_only_what_fails_alone():
    """A batch shares its fraction bits: large coarse samples beside tiny fine ones need more than 62-bit integers
    together, not apart. The search's reference splits such a batch; a sample that fails alone is NaN, not an error."""
    from codesign.exact import SMALLEST_RETRY, outputs_where_defined

    model, _ = _dense_model(2, 4, 8, 7)
    coarse = np.full((SMALLEST_RETRY, 4), 2.0**20, dtype=np.float32)  # no fraction bits, outputs near 2^21
    fine = np.full((SMALLEST_RETRY, 4), 2.0**-40, dtype=np.float32)  # 40 fraction bits, tiny outputs
    both = np.tile(np.float32([2.0**20, 2.0**-40, 1.0, 0.0]), (2 * SMALLEST_RETRY, 1))  # 47 fraction bits of 2^21: past 2^62
    with pytest.raises(NotExact):
        evaluate(model, np.concatenate([coarse, fine]))
    with pytest.raises(NotExact):
        evaluate(model, both[:1])
    outputs = outputs_where_defined(model, np.concatenate([coarse, fine, both]))
    assert np.isnan(outputs[2 * SMALLEST_RETRY:]).all() and not np.isnan(outputs[:2 * SMALLEST_RETRY]).any()
    assert np.array_equal(outputs[:SMALLEST_RETRY], evaluate(model, coarse).outputs)
    assert np.array_equal(outputs[SMALLEST_RETRY:2 * SMALLEST_RETRY], evaluate(model, fine).outputs)
