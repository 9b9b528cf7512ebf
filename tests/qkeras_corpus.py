"""Small QKeras models written after hls4ml's own QKeras tests (test/pytest/test_qkeras.py) and QKeras's docs.

Each entry builds a model with seeded random weights and the data it is validated on: the constructs users
bring (quantizer-only models, po2/binary/ternary kernels, auto_po2 scales, batchnorm, 1D/separable/depthwise
convolutions, pooling, skip connections, feature-map and regression outputs), none written for codesign.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pathlib import Path

import numpy as np

GRID = 2.0**-8  # inputs of models without an input quantizer lie on this grid, as in hls4ml's tests


@dataclass(frozen=True)
class CorpusModel:
    name: str
    build: Callable[[], object]  # -> a keras.Model with its weights set
    input_shape: tuple[int, ...]
    io_type: str = "io_parallel"
    labels: str = "classes"  # 'classes' (integer labels), 'regression' (float targets), 'none' (integer labels, feature-map output)
    on_grid: bool = True  # inputs rounded to GRID (models without an input quantizer see exact fixed-point inputs)


def _seeded(model, seed: int):
    """Replace every weight with seeded values of a trained model's size, batchnorm statistics included."""
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        name, shape = weight.name, tuple(weight.shape)
        if "moving_variance" in name:
            values.append(rng.uniform(0.5, 2.0, shape))
        elif "gamma" in name:
            values.append(rng.uniform(0.5, 1.5, shape))
        else:
            values.append(rng.normal(0.0, 0.5, shape))
    model.set_weights([value.astype(np.float32) for value in values])
    return model


def _sequential(layers, input_shape, seed):
    from tensorflow import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = inputs
    for layer in layers:
        x = layer(x)
    return _seeded(keras.Model(inputs, x), seed)


def _q():
    import qkeras

    return qkeras


def dense_relu():
    q = _q()
    return _sequential(
        [
            q.QDense(16, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="fc1"),
            q.QActivation(q.quantized_relu(4, 0), name="relu1"),
            q.QDense(5, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="out"),
        ],
        (16,),
        1,
    )


def input_quantizer(bits: int, integer: int):
    def build():
        q = _q()
        return _sequential([q.QActivation(q.quantized_bits(bits, integer), name="quant")], (16,), 2)

    return build


def input_relu_quantizer():
    q = _q()
    return _sequential([q.QActivation(q.quantized_relu(6, 2), name="quant")], (16,), 2)


def kernel(quantizer: str, seed: int = 3):
    """QDense with the given kernel quantizer, a quantized_bits bias and a quantized_relu, then a QDense."""

    def build():
        q = _q()
        kernels = {
            "po2": q.quantized_po2(4),
            "po2_max": q.quantized_po2(5, 2),
            "auto_po2": q.quantized_bits(8, 0, alpha="auto_po2"),
            "binary": q.binary(alpha=1),
            "ternary": q.ternary(alpha=1),
            "stochastic_free_bits": q.quantized_bits(4, 1, alpha=1),
        }
        return _sequential(
            [
                q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
                q.QDense(8, kernel_quantizer=kernels[quantizer], bias_quantizer=q.quantized_bits(8, 3, alpha=1), name="fc1"),
                q.QActivation(q.quantized_relu(8, 3), name="relu1"),
                q.QDense(4, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="out"),
            ],
            (10,),
            seed,
        )

    return build


def coarse_kernel():
    """A QDense whose kernel quantizer has more integer bits than bits (quantized_bits(3,4): multiples of 4), so its
    products lie on a grid coarser than its inputs', and a bias of multiples of 2."""

    def build():
        q = _q()
        model = _sequential(
            [
                q.QActivation(q.quantized_bits(10, 3, alpha=1), name="in_quant"),
                q.QDense(6, kernel_quantizer=q.quantized_bits(3, 4, alpha=1), bias_quantizer=q.quantized_bits(4, 5, alpha=1), name="fc1"),
                q.QActivation(q.quantized_bits(8, 6, alpha=1), name="act1"),
                q.QDense(3, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="out"),
            ],
            (8,),
            5,
        )
        rng = np.random.default_rng(5)
        fc1 = model.get_layer("fc1")
        fc1.set_weights([4.0 * rng.integers(-4, 4, (8, 6)).astype(np.float32), 2.0 * rng.integers(-8, 8, 6).astype(np.float32)])
        return model

    return build


def activation_kwarg():
    """The activation given as a quantizer string on the layer itself (hls4ml's test_qactivation_kwarg)."""
    q = _q()
    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
            q.QDense(12, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)",
                     activation="quantized_relu(6,2)", name="fc1"),
            q.QDense(3, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="out"),
        ],
        (10,),
        4,
    )


def relu_variants():
    q = _q()
    return _sequential(
        [
            q.QDense(12, kernel_quantizer=q.quantized_bits(8, 1, alpha=1), bias_quantizer=q.quantized_bits(8, 1, alpha=1), name="fc1"),
            q.QActivation(q.quantized_relu(8, 0), name="relu_frac"),
            q.QDense(12, kernel_quantizer=q.quantized_bits(8, 1, alpha=1), bias_quantizer=q.quantized_bits(8, 1, alpha=1), name="fc2"),
            q.QActivation(q.quantized_relu(3, 3), name="relu_int"),
            q.QDense(4, kernel_quantizer=q.quantized_bits(8, 1, alpha=1), bias_quantizer=q.quantized_bits(8, 1, alpha=1), name="out"),
        ],
        (10,),
        5,
    )


def standalone_batchnorm():
    q = _q()
    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
            q.QDense(8, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="fc1"),
            q.QBatchNormalization(name="bn1"),
            q.QActivation(q.quantized_relu(8, 3), name="relu1"),
            q.QDense(3, kernel_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="out"),
        ],
        (10,),
        6,
    )


def _conv_kwargs(bits=6):
    q = _q()
    return dict(kernel_quantizer=q.quantized_bits(bits, 0, alpha=1), bias_quantizer=q.quantized_bits(bits, 0, alpha=1))


def conv2d_bn_output():
    """A folded QConv2DBatchnorm as the last layer: the output is a feature map (hls4ml's test_qconv2dbn)."""
    q = _q()
    return _sequential(
        [q.QConv2DBatchnorm(4, (3, 3), **_conv_kwargs(), name="convbn")],
        (6, 6, 2),
        7,
    )


def depthwise_output():
    q = _q()
    return _sequential(
        [q.QDepthwiseConv2D((3, 3), depthwise_quantizer=q.quantized_bits(6, 0, alpha=1), bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="dw")],
        (6, 6, 3),
        8,
    )


def conv1d():
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QConv1D(4, 3, **_conv_kwargs(), name="conv1"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (12, 2),
        9,
    )


def separable_conv1d():
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QSeparableConv1D(4, 3, depthwise_quantizer=q.quantized_bits(6, 0, alpha=1), pointwise_quantizer=q.quantized_bits(6, 0, alpha=1),
                               bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="sep1"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (12, 2),
        10,
    )


def separable_conv2d():
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QSeparableConv2D(4, (3, 3), depthwise_quantizer=q.quantized_bits(6, 0, alpha=1), pointwise_quantizer=q.quantized_bits(6, 0, alpha=1),
                               bias_quantizer=q.quantized_bits(6, 0, alpha=1), name="sep1"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (6, 6, 2),
        11,
    )


def conv2d_pooling(kind: str):
    def build():
        q = _q()
        from tensorflow import keras

        pools = {
            "max": keras.layers.MaxPooling2D(2, name="pool"),
            "average": keras.layers.AveragePooling2D(2, name="pool"),
            "average_same": keras.layers.AveragePooling2D(2, strides=1, padding="same", name="pool"),  # border windows of 2 and 1
            "global_average": keras.layers.GlobalAveragePooling2D(name="pool"),
            "global_max": keras.layers.GlobalMaxPooling2D(name="pool"),
        }
        layers = [
            q.QActivation(q.quantized_bits(8, 1, alpha=1), name="in_quant"),
            q.QConv2D(4, (3, 3), padding="same", **_conv_kwargs(), name="conv1"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            pools[kind],
        ]
        if not kind.startswith("global"):
            layers.append(keras.layers.Flatten(name="flat"))
        layers.append(q.QDense(3, **_conv_kwargs(), name="out"))
        return _sequential(layers, (8, 8, 1), 12)

    return build


def pooling_1d():
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QConv1D(4, 3, padding="same", **_conv_kwargs(), name="conv1"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            keras.layers.AveragePooling1D(2, name="pool"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (12, 2),
        13,
    )


def tagger_global_average(length: int):
    """A Conv1D jet tagger as published: raw inputs, a Conv1D encoder, global average pooling over the sequence and a
    float sigmoid head. QKeras averages in float; over a length that is not a power of two no fixed-point type holds
    the mean."""

    def build():
        q = _q()
        from tensorflow import keras

        return _sequential(
            [
                q.QConv1D(4, 3, padding="same", **_conv_kwargs(8), name="conv1"),
                q.QActivation(q.quantized_relu(8, 3), name="relu1"),
                keras.layers.GlobalAveragePooling1D(name="pool"),
                q.QDense(1, **_conv_kwargs(8), name="logit"),
                keras.layers.Activation("sigmoid", name="sigmoid"),
            ],
            (length, 2),
            22,
        )

    return build


def skip_connection(merge: str):
    """A functional model with a residual Add or a Concatenate of two branches."""

    def build():
        q = _q()
        from tensorflow import keras

        inputs = keras.Input(shape=(10,), name="inputs")
        x = q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant")(inputs)
        a = q.QDense(8, **_conv_kwargs(), name="branch_a")(x)
        a = q.QActivation(q.quantized_relu(6, 2), name="relu_a")(a)
        b = q.QDense(8, **_conv_kwargs(), name="branch_b")(x)
        b = q.QActivation(q.quantized_bits(6, 2, alpha=1), name="lin_b")(b)
        merged = keras.layers.Add(name="merge")([a, b]) if merge == "add" else keras.layers.Concatenate(name="merge")([a, b])
        out = q.QDense(3, **_conv_kwargs(), name="out")(merged)
        return _seeded(keras.Model(inputs, out), 14)

    return build


def conv_stream():
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 1, alpha=1), name="in_quant"),
            q.QConv2D(4, (3, 3), **_conv_kwargs(), name="conv1"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            keras.layers.MaxPooling2D(2, name="pool"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (8, 8, 1),
        15,
    )


def regression():
    q = _q()
    return _sequential(
        [
            q.QDense(8, **_conv_kwargs(8), name="fc1"),
            q.QActivation(q.quantized_relu(8, 3), name="relu1"),
            q.QDense(1, **_conv_kwargs(8), name="out"),
        ],
        (6,),
        16,
    )


def float_input_dense():
    """A QDense straight on the raw inputs, no input quantizer (hls4ml's test_single_dense_activation_exact without
    its rounding of the data)."""
    q = _q()
    return _sequential([q.QDense(4, **_conv_kwargs(8), name="fc1")], (10,), 18)


def softmax_head():
    """A tagger as users train it: raw float inputs, no input quantizer, and the softmax as the last QDense's
    activation (QKeras computes it in float)."""
    q = _q()
    return _sequential(
        [
            q.QDense(8, **_conv_kwargs(8), name="fc1"),
            q.QActivation(q.quantized_relu(8, 3), name="relu1"),
            q.QDense(3, **_conv_kwargs(8), activation="softmax", name="out"),
        ],
        (10,),
        19,
    )


def sigmoid_head():
    """A binary tagger: a Conv1D encoder on raw inputs and a standalone float sigmoid on one output."""
    from tensorflow import keras

    q = _q()
    return _sequential(
        [
            q.QConv1D(4, 3, **_conv_kwargs(8), name="conv1"),
            q.QActivation(q.quantized_relu(8, 3), name="relu1"),
            keras.layers.Flatten(name="flat"),
            q.QDense(1, **_conv_kwargs(8), name="logit"),
            keras.layers.Activation("sigmoid", name="sigmoid"),
        ],
        (12, 2),
        20,
    )


def conv_then_quantizer(activation: str):
    """A Conv1D encoder as users write it: raw inputs, a QConv1D with 12-bit weights (QKeras leaves its sums
    unquantized) and then its quantizer, the only rounding in QKeras: a QActivation after it ('standalone') or the
    conv's own activation= ('kwarg', which hls4ml splits into a layer of its own), or a QActivation after a max
    pooling ('after pooling': the pooled sums stay unquantized in QKeras until then)."""

    def build():
        from tensorflow import keras

        q = _q()
        if activation == "kwarg":
            encoder = [q.QConv1D(4, 3, **_conv_kwargs(12), activation=q.quantized_relu(8, 3), name="conv1")]
        elif activation == "after pooling":
            encoder = [q.QConv1D(4, 3, **_conv_kwargs(12), name="conv1"), keras.layers.MaxPooling1D(2, name="pool1"),
                       q.QActivation(q.quantized_bits(8, 3, alpha=1), name="q1")]
        else:
            encoder = [q.QConv1D(4, 3, **_conv_kwargs(12), name="conv1"), q.QActivation(q.quantized_bits(8, 3, alpha=1), name="q1")]
        return _sequential([*encoder, keras.layers.Flatten(name="flat"), q.QDense(3, **_conv_kwargs(8), name="out")], (12, 2), 21)

    return build


def float32_sums():
    """A tagger with 16-bit weights on raw inputs (no input quantizer) and logits straight out of its last QDense: its
    products and sums need more than float32's 24 significant bits, so QKeras rounds them where the firmware's
    accumulators do not (exact against the model's exact evaluation, codesign/exact.py)."""
    q = _q()
    return _sequential(
        [
            q.QDense(8, **_conv_kwargs(16), name="fc1"),
            q.QActivation(q.quantized_relu(10, 3), name="relu1"),
            q.QDense(3, **_conv_kwargs(16), name="out"),
        ],
        (10,),
        22,
    )


def dense_batchnorm(activation: bool):
    """A classifier head as users write it: raw inputs, a QDense, a float BatchNormalization (Keras computes
    x * inv + shift in float32), then a quantized relu ('activation') or straight into the output QDense."""

    def build():
        from tensorflow import keras

        q = _q()
        after = [q.QActivation(q.quantized_relu(8, 3), name="relu1")] if activation else []
        return _sequential([q.QDense(24, **_conv_kwargs(8), name="fc1"), keras.layers.BatchNormalization(name="bn1"), *after,
                            q.QDense(3, **_conv_kwargs(8), name="out")], (10,), 23)

    return build


def _between_quantizers(middle, seed: int, after=None):
    """A layer between quantized values, as users put it after a hidden QDense: an input quantizer, a QDense, `middle`
    (a layer), a QActivation of `after` (the quantizer after it, if any) and the output QDense."""
    q = _q()
    layers = [q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"), q.QDense(6, **_conv_kwargs(), name="fc1"), middle]
    if after is not None:
        layers.append(q.QActivation(after, name="act1"))
    return _sequential([*layers, q.QDense(3, **_conv_kwargs(), name="out")], (10,), seed)


def leaky_relu(alpha: float):
    """A Keras LeakyReLU (Keras's float32 alpha) before a QActivation."""
    def build():
        from tensorflow import keras

        return _between_quantizers(keras.layers.LeakyReLU(alpha, name="leaky"), 21, "quantized_bits(6,2,alpha=1)")

    return build


def prelu():
    """A Keras PReLU (an alpha per value, trained: any float32, negative too) between quantizers."""
    from tensorflow import keras

    return _between_quantizers(keras.layers.PReLU(name="prelu"), 24, "quantized_bits(6,2,alpha=1)")


def hard_activation(quantizer: str):
    """A QKeras quantized_tanh or quantized_sigmoid between QDenses: hls4ml's hard_tanh / hard_sigmoid (a clipped line,
    slope and shift 0.5) cast into the quantizer's type."""
    def build():
        return _between_quantizers(_q().QActivation(quantizer, name="act1"), 28)

    return build


def step_activation(quantizer: str):
    """A QKeras binary or ternary activation between QDenses: hls4ml's binary_tanh (-1 below 0, +1 from 0), or for a
    ternary the scale it adds for QKeras's threshold merged with it into normalize_ternary_tanh (its two thresholds)."""
    def build():
        return _between_quantizers(_q().QActivation(quantizer, name="act1"), 29)

    return build


def binary_kwarg():
    """A QDense with activation='binary(alpha=1)': hls4ml splits the activation off ('fc1_binary'), the QDense's own
    result not cast by it."""
    q = _q()
    return _sequential([q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
                        q.QDense(6, **_conv_kwargs(), activation="binary(alpha=1)", name="fc1"), q.QDense(3, **_conv_kwargs(), name="out")], (10,), 30)


def binary_network():
    """A binary network as hls4ml's binary examples build one: a QDense of binary weights, a float BatchNormalization and
    a binary activation (merged by hls4ml into one compare per channel, its xnor bits read by the next binary Dense),
    twice, then a quantized output Dense."""
    from tensorflow import keras

    q = _q()
    return _sequential([q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
                        q.QDense(16, kernel_quantizer=q.binary(alpha=1), use_bias=False, name="fc1"), keras.layers.BatchNormalization(name="bn1"),
                        q.QActivation("binary(alpha=1)", name="act1"), q.QDense(16, kernel_quantizer=q.binary(alpha=1), use_bias=False, name="fc2"),
                        keras.layers.BatchNormalization(name="bn2"), q.QActivation("binary(alpha=1)", name="act2"),
                        q.QDense(3, **_conv_kwargs(), name="out")], (10,), 31)


def binary_before_average_pooling():
    """A QConv2D, a float BatchNormalization and a binary activation (one compare per channel) whose -1 and +1 an
    average pooling reads: hls4ml's xnor bits (0 for -1) would be averaged as 0 and 1."""
    from tensorflow import keras

    q = _q()
    return _sequential([q.QConv2D(3, (3, 3), **_conv_kwargs(), name="conv"), keras.layers.BatchNormalization(name="bn"),
                        q.QActivation("binary(alpha=1)", name="act"), keras.layers.AveragePooling2D(2, name="pool"),
                        keras.layers.Flatten(name="flatten"), q.QDense(3, **_conv_kwargs(), name="out")], (6, 6, 2), 32)


def softmax_inside():
    """A Keras Softmax layer inside the network (an attention-like normalization): hls4ml's lookup tables approximate
    it; hls4ml named its config struct 'Softmax_config' and called 'softmax_config' (g++ refused it)."""
    from tensorflow import keras

    return _between_quantizers(keras.layers.Softmax(name="softmax"), 23, "quantized_bits(6,0,alpha=1)")


def prelu_conv():
    """A PReLU on a feature map (an alpha per pixel and channel) with no quantizer after it: its result holds the
    products."""
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
            q.QConv2D(3, (3, 3), **_conv_kwargs(), name="conv"),
            keras.layers.PReLU(name="prelu"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (5, 5, 2),
        25,
    )


def permute_flatten(dims):
    """A Keras Permute between a QConv2D and the Flatten into the last QDense (a model ported from channels-first
    writes (3, 1, 2)); hls4ml removes the transpose and reorders the Dense's weights as if it were (3, 1, 2)."""
    def build():
        q = _q()
        from tensorflow import keras

        return _sequential(
            [
                q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
                q.QConv2D(3, (1, 1), **_conv_kwargs(), name="conv"),
                q.QActivation(q.quantized_bits(6, 2, alpha=1), name="act1"),
                keras.layers.Permute(dims, name="permute"),
                keras.layers.Flatten(name="flat"),
                q.QDense(3, **_conv_kwargs(), name="out"),
            ],
            (4, 5, 2),
            26,
        )

    return build


def zero_padding1d():
    """An asymmetric ZeroPadding1D before a valid QConv1D (a sequence padded by hand, as a 'same' convolution does)."""
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
            keras.layers.ZeroPadding1D((1, 2), name="pad"),
            q.QConv1D(2, 3, **_conv_kwargs(), name="conv"),
            q.QActivation(q.quantized_bits(6, 2, alpha=1), name="act1"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (6, 2),
        27,
    )


def cropping():
    q = _q()
    from tensorflow import keras

    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant"),
            q.QConv2D(3, 3, **_conv_kwargs(), name="conv1"),
            keras.layers.Cropping2D(((1, 0), (0, 1)), name="crop"),
            q.QActivation(q.quantized_relu(6, 2), name="relu1"),
            keras.layers.Flatten(name="flat"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (7, 7, 1),
        22,
    )


def unsigned_bits():
    q = _q()
    return _sequential(
        [
            q.QActivation(q.quantized_bits(8, 2, keep_negative=False, alpha=1), name="in_quant"),
            q.QDense(6, **_conv_kwargs(), name="fc1"),
            q.QActivation(q.quantized_bits(8, 3, alpha=1), name="lin1"),
            q.QDense(3, **_conv_kwargs(), name="out"),
        ],
        (10,),
        17,
    )


def two_outputs():
    """A classifier (softmax, on the host) and a regression beside it on one shared quantized trunk, as a tagger with an
    energy estimate is built: two outputs, compared side by side."""
    from tensorflow import keras

    q = _q()
    inputs = keras.Input((10,), name="inputs")
    x = q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant")(inputs)
    x = q.QDense(8, **_conv_kwargs(), name="fc1")(x)
    x = q.QActivation(q.quantized_relu(6, 2), name="relu1")(x)
    classes = keras.layers.Activation("softmax", name="classes")(q.QDense(3, **_conv_kwargs(), name="logits")(x))
    energy = q.QDense(1, **_conv_kwargs(), name="energy")(x)
    return _seeded(keras.Model(inputs, [classes, energy]), 25)


def two_outputs_conv():
    """A convolution whose quantized feature map is an output too, beside the classifier it feeds through a max
    pooling (the relu the TensorFlow-graph emulator would run after the pooling, were it not an output)."""
    from tensorflow import keras

    q = _q()
    inputs = keras.Input((6, 6, 2), name="inputs")
    x = q.QActivation(q.quantized_bits(8, 2, alpha=1), name="in_quant")(inputs)
    features = q.QActivation(q.quantized_relu(6, 2), name="features")(q.QConv2D(3, (3, 3), **_conv_kwargs(), name="conv1")(x))
    pooled = keras.layers.MaxPooling2D(2, name="pool")(features)
    logits = q.QDense(3, **_conv_kwargs(), name="out")(keras.layers.Flatten(name="flat")(pooled))
    return _seeded(keras.Model(inputs, [logits, features]), 26)


CORPUS: list[CorpusModel] = [
    CorpusModel("dense_relu", dense_relu, (16,)),
    CorpusModel("dense_relu_stream", dense_relu, (16,), io_type="io_stream"),
    CorpusModel("input_quantizer_8_4", input_quantizer(8, 4), (16,), on_grid=False),
    CorpusModel("input_quantizer_4_2", input_quantizer(4, 2), (16,), on_grid=False),
    CorpusModel("input_quantized_relu", input_relu_quantizer, (16,), on_grid=False),
    CorpusModel("po2_kernel", kernel("po2"), (10,), on_grid=False),
    CorpusModel("po2_max_kernel", kernel("po2_max"), (10,), on_grid=False),
    CorpusModel("auto_po2_kernel", kernel("auto_po2"), (10,), on_grid=False),
    CorpusModel("coarse_kernel", coarse_kernel(), (8,), on_grid=False),
    CorpusModel("binary_kernel", kernel("binary"), (10,), on_grid=False),
    CorpusModel("ternary_kernel", kernel("ternary"), (10,), on_grid=False),
    CorpusModel("ternary_kernel_stream", kernel("ternary"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("activation_kwarg", activation_kwarg, (10,), on_grid=False),
    CorpusModel("relu_variants", relu_variants, (10,)),
    CorpusModel("standalone_batchnorm", standalone_batchnorm, (10,), on_grid=False),
    CorpusModel("conv2d_bn_output", conv2d_bn_output, (6, 6, 2), labels="none"),
    CorpusModel("depthwise_output", depthwise_output, (6, 6, 3), labels="none"),
    CorpusModel("conv1d", conv1d, (12, 2)),
    CorpusModel("conv1d_stream", conv1d, (12, 2), io_type="io_stream"),
    CorpusModel("separable_conv1d", separable_conv1d, (12, 2)),
    CorpusModel("separable_conv2d", separable_conv2d, (6, 6, 2)),
    CorpusModel("max_pooling", conv2d_pooling("max"), (8, 8, 1), on_grid=False),
    CorpusModel("average_pooling", conv2d_pooling("average"), (8, 8, 1), on_grid=False),
    CorpusModel("average_pooling_stream", conv2d_pooling("average"), (8, 8, 1), io_type="io_stream", on_grid=False),
    CorpusModel("global_average_pooling", conv2d_pooling("global_average"), (8, 8, 1), on_grid=False),
    CorpusModel("global_max_pooling", conv2d_pooling("global_max"), (8, 8, 1), on_grid=False),
    CorpusModel("average_pooling_1d", pooling_1d, (12, 2)),
    CorpusModel("skip_add", skip_connection("add"), (10,), on_grid=False),
    CorpusModel("skip_concatenate", skip_connection("concatenate"), (10,), on_grid=False),
    CorpusModel("conv_stream", conv_stream, (8, 8, 1), io_type="io_stream", on_grid=False),
    CorpusModel("regression", regression, (6,), labels="regression"),
    CorpusModel("unsigned_bits", unsigned_bits, (10,), on_grid=False),
    CorpusModel("float_input_dense", float_input_dense, (10,), on_grid=False),
    CorpusModel("softmax_head", softmax_head, (10,)),
    CorpusModel("sigmoid_head", sigmoid_head, (12, 2), labels="regression"),
    CorpusModel("conv_then_quantizer", conv_then_quantizer("standalone"), (12, 2)),
    CorpusModel("conv_quantizer_kwarg", conv_then_quantizer("kwarg"), (12, 2)),
    CorpusModel("conv_pool_then_quantizer", conv_then_quantizer("after pooling"), (12, 2)),
    CorpusModel("float32_sums", float32_sums, (10,)),
    CorpusModel("dense_batchnorm_relu", dense_batchnorm(True), (10,)),
    CorpusModel("dense_batchnorm_logits", dense_batchnorm(False), (10,)),
    CorpusModel("tagger_global_average_16", tagger_global_average(16), (16, 2), labels="regression"),
    CorpusModel("tagger_global_average_12", tagger_global_average(12), (12, 2), labels="regression"),
    # the same constructs streamed (io_stream)
    CorpusModel("input_quantizer_8_4_stream", input_quantizer(8, 4), (16,), io_type="io_stream", on_grid=False),
    CorpusModel("po2_kernel_stream", kernel("po2"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("auto_po2_kernel_stream", kernel("auto_po2"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("binary_kernel_stream", kernel("binary"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("standalone_batchnorm_stream", standalone_batchnorm, (10,), io_type="io_stream", on_grid=False),
    CorpusModel("conv2d_bn_output_stream", conv2d_bn_output, (6, 6, 2), io_type="io_stream", labels="none"),
    CorpusModel("depthwise_output_stream", depthwise_output, (6, 6, 3), io_type="io_stream", labels="none"),
    CorpusModel("separable_conv2d_stream", separable_conv2d, (6, 6, 2), io_type="io_stream"),
    CorpusModel("global_average_pooling_stream", conv2d_pooling("global_average"), (8, 8, 1), io_type="io_stream", on_grid=False),
    CorpusModel("skip_add_stream", skip_connection("add"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("regression_stream", regression, (6,), io_type="io_stream", labels="regression"),
    CorpusModel("leaky_relu", leaky_relu(0.25), (10,), on_grid=False),
    CorpusModel("leaky_relu_default_alpha", leaky_relu(0.3), (10,), on_grid=False),  # Keras's float32 0.3: QKeras's products round
    CorpusModel("prelu", prelu, (10,), on_grid=False),
    CorpusModel("prelu_conv", prelu_conv, (5, 5, 2), on_grid=False),
    CorpusModel("prelu_conv_stream", prelu_conv, (5, 5, 2), io_type="io_stream", on_grid=False),
    CorpusModel("permute_channels_first", permute_flatten((3, 1, 2)), (4, 5, 2), on_grid=False),
    CorpusModel("permute_rows_columns", permute_flatten((2, 1, 3)), (4, 5, 2), on_grid=False),  # 100 of 100 off before
    CorpusModel("permute_rows_columns_stream", permute_flatten((2, 1, 3)), (4, 5, 2), io_type="io_stream", on_grid=False),
    CorpusModel("zero_padding1d", zero_padding1d, (6, 2), on_grid=False),
    CorpusModel("zero_padding1d_stream", zero_padding1d, (6, 2), io_type="io_stream", on_grid=False),
    CorpusModel("average_pooling_same", conv2d_pooling("average_same"), (8, 8, 1), on_grid=False),
    CorpusModel("hard_tanh", hard_activation("quantized_tanh(6)"), (10,), on_grid=False),
    CorpusModel("hard_sigmoid_stream", hard_activation("quantized_sigmoid(5)"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("softmax_inside", softmax_inside, (10,), on_grid=False),
    CorpusModel("cropping", cropping, (7, 7, 1), on_grid=False),
    CorpusModel("cropping_stream", cropping, (7, 7, 1), io_type="io_stream", on_grid=False),
    CorpusModel("two_outputs", two_outputs, (10,), on_grid=False),
    CorpusModel("two_outputs_conv", two_outputs_conv, (6, 6, 2), on_grid=False),
    CorpusModel("two_outputs_conv_stream", two_outputs_conv, (6, 6, 2), io_type="io_stream", on_grid=False),
    CorpusModel("binary_activation", step_activation("binary(alpha=1)"), (10,), on_grid=False),
    CorpusModel("binary_kwarg", binary_kwarg, (10,), on_grid=False),
    CorpusModel("ternary_activation", step_activation("ternary(alpha=1)"), (10,), on_grid=False),
    CorpusModel("ternary_activation_stream", step_activation("ternary(alpha=1)"), (10,), io_type="io_stream", on_grid=False),
    CorpusModel("ternary_threshold_on_the_grid", step_activation("ternary(alpha=1, threshold=0.25)"), (10,), on_grid=False),
    CorpusModel("binary_network", binary_network, (10,), on_grid=False),
    CorpusModel("binary_before_average_pooling", binary_before_average_pooling, (6, 6, 2)),
]


def corpus_data(entry: CorpusModel, samples: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """x_train/y_train/x_test/y_test for one corpus model: inputs in [-4, 4), labels of the model's kind."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, count in (("train", samples // 2), ("test", samples)):
        x = rng.uniform(-4, 4, (count, *entry.input_shape)).astype(np.float32)
        if entry.on_grid:
            x = (np.round(x / GRID) * GRID).astype(np.float32)
        if entry.labels == "regression":
            y = rng.normal(size=(count, 1)).astype(np.float32)
        else:
            y = rng.integers(0, 3, count)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return arrays


def build_saved(entry: CorpusModel, folder: Path) -> Path:
    """`codesign build --model folder/model.h5 --data folder/data.npz` as a user would, in the entry's io type, to the
    validate step; the run directory (a CodesignError when the build fails)."""
    from codesign.commands import build_run, resolve_build_spec
    from codesign.config import spec_from_dict

    spec, name = resolve_build_spec(None, folder / "model.h5", folder / "data.npz", entry.name, None)
    data = spec.model_dump(mode="json")
    data["hls"]["io_type"] = entry.io_type
    build_run(spec_from_dict(data), folder / name, lambda _: None, to_step="validate")
    return folder / name
