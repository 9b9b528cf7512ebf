"""The bad-input catalogue: one line naming the culprit, exit 2, and nothing already built is lost."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from codesign import pipeline, steps
from codesign.commands import build_run
from codesign.cli import main
from codesign.config import spec_from_dict
from codesign.errors import ModelError, RunDirError, SpecError
from codesign.layout import RunLayout, read_json, write_atomic
from codesign.pipeline import run_pipeline
from codesign.steps import Context, Step


def _cli(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def _one_line_exit_2(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()  # progress goes to stdout, the error alone to stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def spec_file(tmp_path, tiny_spec_dict):
    def write(data=None, text=None):
        path = tmp_path / "spec.yaml"
        path.write_text(text if text is not None else yaml.safe_dump(data))
        return path

    return write


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda d: d["hls"].update(part="xcu205-figd2104-2L-e"), ["hls.part", "unknown FPGA part", "xcu250"]),
        (lambda d: d["hls"].update(clock_ns=0.0), ["hls.clock_ns", "greater than 0"]),
        (lambda d: d.update(dataset={"name": "npz", "path": "missing.npz"}), ["missing.npz", "data file not found"]),
        (lambda d: d["model"]["layers"][0].update(kernel_size=12), ["model.layers[0] (conv1)", "impossible"]),
        (lambda d: d["quantization"].update(activations={"bits": 40, "integer": 3}), ["quantization.activations.bits"]),
    ],
)
def test_cli_bad_spec_values(tmp_path, spec_file, tiny_spec_dict, mutate, fragments):
    tiny_spec_dict.setdefault("hls", {})
    mutate(tiny_spec_dict)
    _one_line_exit_2(_cli("build", spec_file(tiny_spec_dict), "--output-root", tmp_path / "runs"), *fragments)


def test_cli_malformed_yaml(tmp_path, spec_file):
    result = _cli("build", spec_file(text="model: {layers: [\n"), "--output-root", tmp_path)
    _one_line_exit_2(result, "malformed YAML at line", "column")


def test_cli_bad_npz(tmp_path):
    np.savez(tmp_path / "d.npz", x_train=np.zeros((4, 3)), y_train=np.zeros(4, int))
    (tmp_path / "m.h5").write_text("x")
    result = _cli("build", "--model", tmp_path / "m.h5", "--data", tmp_path / "d.npz", "--output-root", tmp_path)
    _one_line_exit_2(result, "d.npz", "missing array(s) x_test, y_test")


def test_cli_output_root_not_writable(tmp_path, spec_file, tiny_spec_dict):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = _cli("build", spec_file(tiny_spec_dict), "--output-root", blocker / "runs")
    _one_line_exit_2(result, "cannot create the run directory")


def _npz(tmp_path, shape=(6,)):
    x = np.random.default_rng(0).random((20, *shape)).astype(np.float32)
    y = np.arange(20) % 3
    np.savez(tmp_path / "data.npz", x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    return tmp_path / "data.npz"


def test_unsupported_layer_in_a_user_model_is_named(tmp_path):
    import tensorflow as tf

    inputs = tf.keras.Input((6,))
    hidden = tf.keras.layers.Rescaling(0.5, name="scale")(inputs)
    outputs = tf.keras.layers.Dense(4, name="fc")(hidden)
    tf.keras.Model(inputs, outputs).save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path))}})
    with pytest.raises(ModelError, match=r"layer 'scale' \(Rescaling\) is not supported by hls4ml; replace or remove it$"):
        build_run(spec, tmp_path / "run", lambda _: None)


def test_a_model_tensorflow_cannot_run_is_refused_with_the_layer_and_tensorflows_reason(tmp_path):
    """TensorFlow's CPU kernel runs no depthwise convolution with unequal strides (fuzz seed 1477 model 3): the one
    line names the layer and TensorFlow's own reason, not its function-node path."""
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input((6, 9, 2))
    hidden = qkeras.QSeparableConv2D(2, 3, strides=(2, 1), depthwise_quantizer="quantized_bits(6,1,alpha=1)",
                                     pointwise_quantizer="quantized_bits(6,1,alpha=1)", bias_quantizer="quantized_bits(6,1,alpha=1)", name="sep")(inputs)
    outputs = qkeras.QDense(3, kernel_quantizer="quantized_bits(6,1,alpha=1)", name="fc")(tf.keras.layers.Flatten(name="flat")(hidden))
    tf.keras.Model(inputs, outputs).save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path, (6, 9, 2)))}})
    with pytest.raises(ModelError) as raised:
        build_run(spec, tmp_path / "run", lambda _: None)
    said = str(raised.value)
    assert said.endswith("TensorFlow cannot run this model on one sample of the data, so there is nothing to compare the firmware with: "
                         "layer 'sep' (QSeparableConv2D): Current implementation only supports equal length strides in the row and "
                         "column dimensions."), said
    assert "\n" not in said


def test_an_unsupported_qkeras_layer_is_named_with_what_hls4ml_converts_instead():
    """The alternative named for each of two refused layers converts (no refusal left)."""
    import qkeras
    import tensorflow as tf

    from codesign.refusals import unconvertible

    inputs = tf.keras.Input((8, 8, 2))
    pooled = qkeras.QAveragePooling2D(2, average_quantizer="quantized_bits(8,2,alpha=1)", name="pool")(inputs)
    outputs = qkeras.QDepthwiseConv2DBatchnorm(3, name="dw")(pooled)
    message = unconvertible(tf.keras.Model(inputs, outputs))
    assert message.startswith("layer 'pool' (QAveragePooling2D), 'dw' (QDepthwiseConv2DBatchnorm) is not supported by hls4ml")
    assert "QAveragePooling2D: an AveragePooling2D, a QActivation after it" in message and "QDepthwiseConv2DBatchnorm: a QDepthwiseConv2D, then a QBatchNormalization" in message
    pooled = qkeras.QActivation("quantized_bits(8,2,alpha=1)")(tf.keras.layers.AveragePooling2D(2)(inputs))
    outputs = qkeras.QBatchNormalization()(qkeras.QDepthwiseConv2D(3)(pooled))
    assert unconvertible(tf.keras.Model(inputs, outputs)) is None


def _unconvertible(kind: str):
    """A model hls4ml 1.3 cannot convert, or whose conversion does not compile, for one named layer."""
    import qkeras
    import tensorflow as tf

    bits = "quantized_bits(4,0,alpha=1)"
    if kind == "unsupported":
        inputs = tf.keras.Input((6,))
        return tf.keras.Model(inputs, tf.keras.layers.Dense(4)(tf.keras.layers.Rescaling(0.5, name="scale")(inputs)))
    if kind == "separable":
        inputs = tf.keras.Input((5, 5, 2))
        return tf.keras.Model(inputs, tf.keras.layers.Flatten()(qkeras.QSeparableConv2D(
            2, 3, depthwise_quantizer="quantized_bits(4,0,alpha='auto')", pointwise_quantizer=bits, name="sep")(inputs)))
    if kind in ("float_qactivation", "hswish"):
        inputs = tf.keras.Input((6,))
        function = "relu" if kind == "float_qactivation" else "quantized_hswish(6,2)"  # whose str() asserts in QKeras
        return tf.keras.Model(inputs, qkeras.QActivation(function, name="act")(qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits)(inputs)))
    if kind == "three_inputs":
        inputs = tf.keras.Input((6,))
        branches = [qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits)(inputs) for _ in range(3)]
        return tf.keras.Model(inputs, tf.keras.layers.Add(name="sum")(branches))
    if kind == "swish":
        inputs = tf.keras.Input((6,))
        return tf.keras.Model(inputs, qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits, activation="swish", name="fc")(inputs))
    if kind == "depth_multiplier":  # hls4ml converts it; its template asserts n_filt == n_chan
        inputs = tf.keras.Input((5, 5, 2))
        return tf.keras.Model(inputs, qkeras.QDepthwiseConv2D(3, depth_multiplier=2, depthwise_quantizer=bits, name="dw")(inputs))
    if kind == "layer_normalized_vector":
        inputs = tf.keras.Input((6,))
        return tf.keras.Model(inputs, tf.keras.layers.LayerNormalization(name="ln")(qkeras.QDense(5, kernel_quantizer=bits)(inputs)))
    if kind == "normalized_axis":
        inputs = tf.keras.Input((4, 3))
        return tf.keras.Model(inputs, tf.keras.layers.BatchNormalization(axis=1, name="bn")(qkeras.QDense(5, kernel_quantizer=bits)(inputs)))
    if kind == "channels_first":  # hls4ml's im2col pass fails on it in io_parallel; in io_stream g++ fails
        inputs = tf.keras.Input((2, 6, 6))
        return tf.keras.Model(inputs, tf.keras.layers.Flatten()(qkeras.QConv2D(2, 3, data_format="channels_first", kernel_quantizer=bits, name="conv")(inputs)))
    inputs = tf.keras.Input((4, 3))
    if kind == "qlstm_hard":  # QLSTM's default activation, quantized_tanh: hls4ml's recurrent converter asserts
        return tf.keras.Model(inputs, qkeras.QLSTM(4, kernel_quantizer=bits, recurrent_quantizer=bits, bias_quantizer=bits, name="rnn")(inputs))
    return tf.keras.Model(inputs, qkeras.QLSTM(4, activation="tanh", recurrent_activation="sigmoid", kernel_quantizer=bits, recurrent_quantizer=bits,
                                               bias_quantizer=bits, state_quantizer="quantized_bits(8,2,alpha=1)", name="rnn")(inputs))


@pytest.mark.parametrize(("kind", "named"), [
    ("unsupported", "layer 'scale' (Rescaling) is not supported by hls4ml; replace or remove it"),
    ("separable", "layer 'sep' (QSeparableConv2D): hls4ml 1.3 cannot convert a separable convolution"),  # hls4ml: 'NoneType' + 'str'
    ("float_qactivation", "layer 'act' (QActivation('relu')): hls4ml 1.3 does not convert it"),  # hls4ml: unsupported activation 'unknown'
    ("hswish", "layer 'act' (QActivation('quantized_hswish(6,2)')): hls4ml 1.3 does not convert it"),
    ("qlstm_state", "layer 'rnn' (QLSTM with state_quantizer quantized_bits(8,2,0,alpha=1))"),  # hls4ml converts it, g++ fails
    ("qlstm_hard", "layer 'rnn' (QLSTM with activation quantized_tanh(8)): hls4ml 1.3 converts no hard activation"),  # its assert
    ("normalized_axis", "layer 'bn' (BatchNormalization over axis 1): hls4ml 1.3 normalizes the last axis only"),  # numpy's broadcast error
    ("three_inputs", "layer 'sum' (Add of 3 inputs): hls4ml 1.3 merges two tensors at a time"),
    ("swish", "layer 'fc' (QDense with activation='swish'): hls4ml 1.3 writes nnet::swish, which its C++ library does not have"),
    ("layer_normalized_vector", "layer 'ln' (LayerNormalization over axis 1 of inputs of shape (5,)): hls4ml 1.3 normalizes the features"),
    ("depth_multiplier", "layer 'dw' (QDepthwiseConv2D with depth_multiplier=2): hls4ml 1.3's depthwise templates take a depth multiplier of 1"),
    ("channels_first", "layer 'conv' (QConv2D with data_format='channels_first'): hls4ml 1.3 converts Keras layers with the channels last only"),
])
def test_what_hls4ml_cannot_convert_is_named_by_the_estimate_of_a_model_file(kind, named, tmp_path):
    """Each layer hls4ml cannot convert (or converts into C++ that does not compile) is named in one line, exit 2,
    by `codesign estimate MODEL`, as a build names it: hls4ml's own errors name no layer."""
    _unconvertible(kind).save(tmp_path / "m.h5")
    result = CliRunner().invoke(main, ["estimate", str(tmp_path / "m.h5")])
    assert result.exit_code == 2 and named in result.stderr and "\n" not in result.stderr.strip(), result.output


@pytest.mark.parametrize(("setting", "named"), [
    ("max_value", "layer 'clip' (ReLU with max_value=1.5): hls4ml 1.3 converts it to a plain relu"),  # 42 of 100 samples off
    ("dilation_rate", "layer 'clip' (QConv1D with dilation_rate=(2,)): hls4ml 1.3 converts it as an undilated kernel"),  # 100 of 100
    ("groups", "layer 'clip' (QConv1D with groups=2): hls4ml 1.3 converts it as one ungrouped kernel"),  # 100 of 100
    ("interpolation", "layer 'clip' (UpSampling2D with interpolation='bilinear'): hls4ml 1.3 writes it as resize_nearest"),  # proven, then contradicted
])
def test_a_setting_hls4ml_drops_is_named_before_any_work(setting, named, tmp_path):
    """hls4ml converts a Keras ReLU(max_value=...) to a plain relu, a dilated or grouped convolution to a plain one (42
    and 100 of 100 samples off): refused, the layer and the setting named, nothing built."""
    import qkeras
    import tensorflow as tf

    bits = "quantized_bits(6,1,alpha=1)"
    inputs = tf.keras.Input((8, 2))
    if setting == "max_value":
        hidden = qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits, name="fc")(tf.keras.layers.Flatten()(inputs))
        outputs = tf.keras.layers.ReLU(max_value=1.5, name="clip")(hidden)
    elif setting == "interpolation":
        resized = tf.keras.layers.UpSampling2D(2, interpolation="bilinear", name="clip")(tf.keras.layers.Reshape((8, 2, 1))(inputs))
        outputs = tf.keras.layers.Flatten()(qkeras.QConv2D(2, 1, kernel_quantizer=bits, bias_quantizer=bits)(resized))
    else:
        outputs = tf.keras.layers.Flatten()(qkeras.QConv1D(2, 3, kernel_quantizer=bits, bias_quantizer=bits, name="clip", **{setting: 2})(inputs))
    tf.keras.Model(inputs, outputs).save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path, (8, 2)))}})
    with pytest.raises(ModelError, match=re.escape(named)):
        build_run(spec, tmp_path / "run", lambda _: None)
    assert not (tmp_path / "run" / "hls").exists()
    estimated = CliRunner().invoke(main, ["estimate", str(tmp_path / "m.h5"), "--json", str(tmp_path / "e.json")])  # hls4ml's design, said so
    assert estimated.exit_code == 0 and any(named in note for note in json.loads((tmp_path / "e.json").read_text())["notes"]), estimated.output


@pytest.mark.parametrize(("quantizer", "named"), [
    ("binary(alpha=2)", "hls4ml 1.3 writes -1, 0 and +1 and drops alpha=2"),  # 100 of 100 samples off
    ("binary(use_01=True)", "hls4ml 1.3 writes -1 and +1 and drops use_01"),  # 100 of 100 off
    ("ternary(alpha=1, threshold=0.5)", "hls4ml 1.3 writes no C++ for a ternary activation of threshold 0.5"),  # 200 of 200 off
    ("quantized_bits(6,2,alpha='auto_po2')", "QKeras computes alpha='auto_po2' from each batch it quantizes"),  # 12 of 200 off
    ("quantized_relu(6,2,use_sigmoid=1)", "hls4ml 1.3 computes the plain quantized relu and drops use_sigmoid"),  # 163 of 200 off
    ("quantized_sigmoid(6,symmetric=True)", "QKeras clips it below at 2^-6, where hls4ml 1.3's hard sigmoid writes 0"),  # 173 of 200 off
    ("quantized_bits(8,3,alpha=1,qnoise_factor=0.5)", "QKeras passes 0.5 of the unquantized value through (qnoise_factor=0.5)"),  # 200 of 200
])
def test_an_activation_no_firmware_computes_is_named_before_any_work(quantizer, named, tmp_path):
    """hls4ml's binary_tanh and ternary_tanh write -1, 0 and +1 whatever the quantizer's alpha or use_01, and no C++ at
    all for a ternary threshold of 0.5 (the firmware then never computes it); QKeras scales an activation with
    alpha='auto_po2' by what it finds in each batch: refused, the layer named, nothing built."""
    import qkeras
    import tensorflow as tf

    bits = "quantized_bits(6,1,alpha=1)"
    inputs = tf.keras.Input((8,))
    hidden = qkeras.QActivation(quantizer, name="step")(qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits)(inputs))
    tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer=bits, bias_quantizer=bits)(hidden)).save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path, (8,)))}})
    with pytest.raises(ModelError, match=re.escape(f"layer 'step' (QActivation of ") + ".*" + re.escape(named)):
        build_run(spec, tmp_path / "run", lambda _: None)
    assert not (tmp_path / "run" / "hls").exists()


def test_a_binary_kernel_of_zeros_and_ones_is_named_before_any_work(tmp_path):
    """QKeras's binary(use_01=True) kernel holds 0 and 1, hls4ml writes -1 and +1 (166 of 200 samples off, no reason
    given): refused, the layer and its quantizer named, nothing built."""
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input((8,))
    outputs = qkeras.QDense(3, kernel_quantizer="binary(use_01=True)", bias_quantizer="quantized_bits(6,1,alpha=1)", name="fc")(inputs)
    tf.keras.Model(inputs, outputs).save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path, (8,)))}})
    with pytest.raises(ModelError, match=re.escape("layer 'fc' (QDense with kernel_quantizer binary(use_01=1") + ".*" + re.escape("drops use_01")):
        build_run(spec, tmp_path / "run", lambda _: None)
    assert not (tmp_path / "run" / "hls").exists()


def test_a_batch_normalization_of_negative_scale_before_a_binary_activation_is_named_before_any_work(tmp_path):
    """hls4ml merges a batch normalization and the binary activation after it into x >= -bias / scale per channel,
    inverted where gamma < 0 (200 of 200 samples off): refused, its channels named; with every gamma positive it builds."""
    import qkeras
    import tensorflow as tf

    def saved(gamma: np.ndarray) -> Path:
        bits = "quantized_bits(6,1,alpha=1)"
        inputs = tf.keras.Input((8,))
        normalization = tf.keras.layers.BatchNormalization(name="bn")
        hidden = qkeras.QActivation("binary(alpha=1)", name="step")(normalization(qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits)(inputs)))
        model = tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer=bits, bias_quantizer=bits)(hidden))
        normalization.set_weights([gamma, np.full(4, 0.25), np.zeros(4), np.ones(4)])
        path = tmp_path / f"m{int(gamma.min() > 0)}.h5"
        model.save(path)
        return path

    from codesign.refusals import refusal
    from codesign.model import load_keras_model

    named = "layer 'bn' (BatchNormalization before the binary activation 'step'): hls4ml 1.3 merges them into compares per channel"
    assert named + ", x >= -bias / scale, right for a positive scale only: channels 1, 3 (gamma < 0)" in refusal(load_keras_model(saved(np.array([1.0, -2.0, 0.5, -1.0]))))
    assert refusal(load_keras_model(saved(np.array([1.0, 2.0, 0.5, 1.0])))) is None


def test_a_ternary_activation_still_reading_unsigned_values_is_named_by_the_conversion():
    """hls4ml holds a ternary compare's lower threshold in its input's type, which for unsigned values cannot lie below
    0: a 0 came out -1 (198 of 200 samples off). The repairs make such inputs signed (tests/fuzz_cases); an input still
    unsigned (here the model's own, as a user's config may type it) is named before anything is written; a signed one
    passes."""
    import hls4ml
    import qkeras
    import tensorflow as tf

    from codesign.convert import check_ternary_inputs
    from codesign.hls4ml_graph import hls4ml_graph

    bits = "quantized_bits(6,1,alpha=1)"
    inputs = tf.keras.Input((8,), name="x")
    model = tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer=bits, bias_quantizer=bits)(qkeras.QActivation("ternary(alpha=1)", name="step")(inputs)))

    def graph(input_type: str):
        config = hls4ml.utils.config_from_keras_model(model, granularity="name")
        config["LayerName"]["x"]["Precision"] = {"result": input_type}
        return hls4ml_graph(model, config, "cannot convert", backend="Vitis")

    with pytest.raises(SpecError, match=re.escape("layer 'step' (a ternary activation of the unsigned values of 'x', ufixed<6,2,TRN,WRAP>): hls4ml 1.3 "
                                                  "compares them with its lower threshold in their own type, which cannot lie below 0")):
        check_ternary_inputs(graph("ufixed<6,2>"))
    check_ternary_inputs(graph("fixed<7,3>"))


def test_a_layer_hls4ml_writes_no_call_for_is_refused_by_the_conversion():
    """The conversion's own check, whatever the layer: a graph layer with no C++ call and an array of its own (a ternary
    of threshold 0.5, past the model-level refusal) is named before anything is written; a Flatten (no call, its
    input's array under another name) is not."""
    import hls4ml
    import qkeras
    import tensorflow as tf

    from codesign.convert import check_layers_written
    from codesign.hls4ml_graph import hls4ml_graph

    def graph(quantizer: str):
        bits = "quantized_bits(6,1,alpha=1)"
        inputs = tf.keras.Input((4, 2))
        hidden = qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits)(tf.keras.layers.Flatten()(inputs))
        model = tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer=bits, bias_quantizer=bits)(qkeras.QActivation(quantizer, name="step")(hidden)))
        return hls4ml_graph(model, hls4ml.utils.config_from_keras_model(model, granularity="name"), "cannot convert", backend="Vitis")

    with pytest.raises(ModelError, match=re.escape("layer 'step' (TernaryTanh): hls4ml 1.3 writes no C++ call for it")):
        check_layers_written(graph("ternary(alpha=1, threshold=0.5)"))
    check_layers_written(graph("ternary(alpha=1)"))


@pytest.mark.parametrize(("pooling", "settings", "said"), [
    ("MaxPooling2D", {"strides": 1}, "layer 'pool' (Pooling2D with a window of (2, 2) and strides (1, 1)): hls4ml's io_stream pooling"),
    ("AveragePooling2D", {"padding": "same"}, "layer 'pool' (Pooling2D with padding [0, 1, 0, 1]): hls4ml's io_stream pooling takes no padding"),
    ("MaxPooling1D", {"padding": "same"}, "layer 'pool' (Pooling1D with padding [0, 1]): hls4ml's io_stream pooling takes no padding ("),
    ("MaxPooling2D", {}, None), ("MaxPooling1D", {"strides": 1}, None),  # what the templates take
])
def test_a_streamed_pooling_hls4ml_asserts_against_is_refused_by_the_conversion(pooling, settings, said):
    """Every backend's io_stream pooling2d_cl asserts a window equal to its strides and no padding, pooling1d_cl no
    padding: the emulation aborted after the build (fuzz seeds 1431 and 1434); the conversion names the layer first, and
    an estimate of such a graph (a user's project) says so in a note."""
    import hls4ml
    import qkeras
    import tensorflow as tf

    from codesign.convert import check_stream_kernels
    from codesign.estimate.model import estimate_graph
    from codesign.hls4ml_graph import hls4ml_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((5, 5, 2) if "2D" in pooling else (5, 2))
    pooled = getattr(tf.keras.layers, pooling)(2, name="pool", **settings)(qkeras.QActivation("quantized_bits(6,1,alpha=1)")(inputs))
    model = tf.keras.Model(inputs, tf.keras.layers.Flatten()(pooled))
    graph = hls4ml_graph(model, hls4ml.utils.config_from_keras_model(model, granularity="name"), "pooling", backend="Vitis", io_type="io_stream")
    notes = estimate_graph(graph, find_part("xcvu13p-flga2577-2-e"), 5.0, "io_stream", "Vitis")["notes"]
    if said is None:
        check_stream_kernels(graph)
        assert not any("template asserts against it" in note for note in notes)
        return
    with pytest.raises(SpecError, match=re.escape(said)):
        check_stream_kernels(graph)
    assert any(note.startswith(said.split(": hls4ml")[0].removesuffix(")") + ", io_stream): hls4ml's template asserts against it") for note in notes), notes


@pytest.mark.slow
def test_a_resource_convolution_past_its_kernels_inputs_is_refused_for_hls4ml_computes_it_wrong(tmp_path):
    """hls4ml's io_parallel Resource Conv2D pairs inputs with the wrong weights past a reuse factor of its kernel's
    inputs (2 x 2 x 2 channels = 8 here; hls4ml takes 24, the next valid factor, for 50), and its assert does not see it
    (Conv1D's does, aborting): the conversion refuses it by name, an estimate says so, and hls4ml's own compiled
    project, integers in a wide type, is shown to differ from Keras."""
    import hls4ml
    import tensorflow as tf

    from codesign.convert import check_resource_convolutions
    from codesign.estimate.model import estimate_graph
    from codesign.hls4ml_graph import hls4ml_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((6, 6, 2))
    model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(3, 2, use_bias=False, name="conv")(inputs))
    model.set_weights([np.random.default_rng(0).integers(-3, 4, size=(2, 2, 2, 3)).astype(np.float32)])

    def graph(factor: int, folder: str):
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision="fixed<32,16>")
        config["Model"]["Strategy"] = config["LayerName"]["conv"]["Strategy"] = "Resource"
        config["LayerName"]["conv"]["ReuseFactor"] = factor
        return hls4ml_graph(model, config, "resource", output_dir=tmp_path / folder, backend="Vitis", io_type="io_parallel")

    right = graph(8, "rf8")
    check_resource_convolutions(right)
    wrong = graph(50, "rf50")
    with pytest.raises(SpecError, match=re.escape("layer 'conv' (Conv2D at reuse factor 24): hls4ml's io_parallel Resource convolution "
                                                  "is correct only up to a reuse factor of its kernel's 8 inputs")):
        check_resource_convolutions(wrong)
    part = find_part("xcvu13p-flga2577-2-e")
    said = [note for note in estimate_graph(wrong, part, 5.0, "io_parallel", "Vitis")["notes"] if "computes wrong values" in note]
    assert said == ["layer 'conv' (Resource, reuse factor 24) computes wrong values: hls4ml's io_parallel Resource convolution is "
                    "correct only up to its kernel's 8 inputs (codesign build refuses it; docs/errors.md)"]
    assert not any("computes wrong values" in note for note in estimate_graph(right, part, 5.0, "io_parallel", "Vitis")["notes"])
    data = np.random.default_rng(1).integers(-4, 5, size=(20, 6, 6, 2)).astype(np.float32)
    wrong.compile()
    assert not np.array_equal(np.asarray(wrong.predict(data)).reshape(20, -1), model.predict(data, verbose=0).reshape(20, -1))


def test_an_lstm_on_inputs_of_another_type_is_refused_by_the_conversion():
    """hls4ml 1.3's lstm template passes the state (its output type) where it takes inputs: g++ failed on a QLSTM after
    an input quantizer with 'no matching function for call to dense<...>', naming no layer. One type for both is built."""
    import hls4ml
    import tensorflow as tf

    from codesign.convert import check_lstm_types
    from codesign.hls4ml_graph import hls4ml_graph

    inputs = tf.keras.Input((5, 3), name="x")
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.LSTM(4, name="rnn")(inputs)))
    config = hls4ml.utils.config_from_keras_model(model, granularity="name")
    check_lstm_types(hls4ml_graph(model, config, "one type", backend="Vitis"))
    config["LayerName"]["x"]["Precision"]["result"] = "fixed<10,4,RND_CONV,SAT>"
    with pytest.raises(ModelError, match=re.escape("layer 'rnn' (LSTM on inputs of type fixed<10,4,RND_CONV,SAT>, its state fixed<16,6")):
        check_lstm_types(hls4ml_graph(model, config, "two types", backend="Vitis"))


def test_missing_custom_objects_are_named(tmp_path):
    import tensorflow as tf

    @tf.keras.utils.register_keras_serializable(package="mine")
    class Doubler(tf.keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = tf.keras.Input((6,))
    tf.keras.Model(inputs, Doubler(name="doubler")(inputs)).save(tmp_path / "custom.h5")
    tf.keras.utils.get_custom_objects().pop("mine>Doubler")
    from codesign.model import load_keras_model

    with pytest.raises(ModelError, match=r"custom\.h5: not a loadable Keras/QKeras model \(layer classes mine>Doubler are neither"):
        load_keras_model(tmp_path / "custom.h5")


# --- nothing is lost -----------------------------------------------------------------------------


@pytest.fixture
def fake_steps(monkeypatch):
    """Four quick stand-in steps that each write their report."""

    def make(name):
        def run(ctx):
            ctx.layout.report(name).write_text(f'{{"step": "{name}", "spec": "{ctx.spec.digest()}"}}')
            return {}

        return Step(name, run, lambda ctx: {"spec": ctx.spec.digest()}, lambda layout: [layout.report(name)])

    monkeypatch.setattr(pipeline, "STEPS", [make(name) for name in steps.STEP_NAMES])


def _run(spec_dict, run_dir, say=lambda _: None):
    return run_pipeline(Context(spec_from_dict(spec_dict), RunLayout(run_dir), say))


def test_failed_rebuild_leaves_the_finished_run_untouched(tmp_path, tiny_spec_dict, fake_steps):
    run_dir = tmp_path / "run"
    messages: list[str] = []
    _run(tiny_spec_dict, run_dir, messages.append)
    before = {path.name: path.read_bytes() for path in (run_dir / "reports").iterdir()}
    manifest_before = (run_dir / "manifest.json").read_bytes()

    def broken(ctx):
        ctx.layout.report("compile").write_text("half written")
        raise RuntimeError("compiler exploded")

    pipeline.STEPS[steps.STEP_NAMES.index("compile")] = Step("compile", broken, lambda ctx: {"spec": ctx.spec.digest()}, lambda layout: [])
    tiny_spec_dict["hls"] = {"reuse_factor": 4}
    with pytest.raises(Exception, match="compiler exploded"):
        _run(tiny_spec_dict, run_dir, messages.append)
    assert {path.name: path.read_bytes() for path in (run_dir / "reports").iterdir()} == before
    assert (run_dir / "manifest.json").read_bytes() == manifest_before
    assert read_json(run_dir / "manifest.json")["complete"] is True
    assert any("is restored as it was" in line for line in messages)
    assert read_json(tmp_path / ".run.failed" / "manifest.json")["steps"]["compile"]["status"] == "failed"
    assert not (tmp_path / ".run.backup").exists()


def test_successful_rebuild_replaces_the_run(tmp_path, tiny_spec_dict, fake_steps):
    run_dir = tmp_path / "run"
    _run(tiny_spec_dict, run_dir)
    tiny_spec_dict["hls"] = {"reuse_factor": 4}
    _run(tiny_spec_dict, run_dir)
    assert read_json(run_dir / "reports" / "validate.json")["spec"] == spec_from_dict(tiny_spec_dict).digest()
    assert read_json(run_dir / "manifest.json")["complete"] is True
    assert not (tmp_path / ".run.backup").exists() and not (tmp_path / ".run.failed").exists()


def test_disk_full_during_a_step_is_a_clear_error(tmp_path, tiny_spec_dict, fake_steps):
    def full(ctx):
        raise OSError(errno.ENOSPC, "No space left on device", str(ctx.layout.hls_dir / "firmware" / "weights.h"))

    pipeline.STEPS[1] = Step("convert", full, lambda ctx: {}, lambda layout: [])
    with pytest.raises(RunDirError, match=r"step 'convert' cannot write in .*: No space left on device \(.*weights\.h\)"):
        _run(tiny_spec_dict, tmp_path / "run")
    assert read_json(tmp_path / "run" / "manifest.json")["steps"]["convert"]["status"] == "failed"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "validate.json"
    target.write_text("old, complete content")

    class FullDisk:
        def __init__(self, handle, mode):
            os.close(handle)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("codesign.layout.os.fdopen", FullDisk)
    with pytest.raises(OSError):
        write_atomic(target, "new content")
    assert target.read_text() == "old, complete content"
    assert [path.name for path in tmp_path.iterdir()] == ["validate.json"]


@pytest.mark.slow
def test_kill_9_mid_build_then_rerun_completes(tmp_path, tiny_spec_dict):
    """kill -9 while g++ compiles (in the convert step, which verifies the types): the run stays incomplete, the next
    build finishes it correctly."""
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict))
    command = [sys.executable, "-m", "codesign.cli", "build", str(spec), "--output-root", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in process.stdout:
        if line.startswith("[convert]"):
            assert _wait_for_compiler(process.pid), "g++ never started"
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL
    layout = RunLayout(tmp_path / "tiny")
    manifest = read_json(layout.manifest)
    assert manifest["complete"] is False and manifest["steps"]["convert"]["status"] == "running"
    messages: list[str] = []
    build_run(spec_from_dict(tiny_spec_dict), layout.root, messages.append)
    assert "[train] up to date, skipped" in messages and "[convert]" in messages and "[compile]" in messages
    assert read_json(layout.manifest)["complete"] is True
    assert read_json(layout.report("validate"))["bit_exact"] is True


def _wait_for_compiler(session: int, seconds: float = 120) -> bool:
    """Wait until a g++ (cc1plus) of the given session runs; False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and os.getsid(int(entry.name)) == session and b"cc1plus" in (entry / "cmdline").read_bytes():
                    return True
            except (OSError, ProcessLookupError):
                continue
        time.sleep(0.2)
    return False


def test_a_conversion_hls4ml_fails_in_one_of_its_passes_names_the_pass_and_the_layer():
    """hls4ml folds the scale it adds for a ternary's threshold (per output value) into the float Conv1D before it, and
    numpy fails on the shapes ('operands could not be broadcast together'), a message that names no layer (a fuzzer
    of 2-16 bit quantizers, 2026-12-06): the refusal names hls4ml's pass and the layer it was working on."""
    import hls4ml
    import qkeras
    import tensorflow as tf

    from codesign.hls4ml_graph import hls4ml_graph

    inputs = tf.keras.Input((6, 4))
    x = qkeras.QActivation("ternary(alpha=1)", name="t")(tf.keras.layers.Conv1D(2, 2, strides=2, padding="same", name="conv")(inputs))
    model = tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer="quantized_bits(6,1,alpha=1)", name="fc")(tf.keras.layers.Flatten()(x)))
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    with pytest.raises(ModelError, match=re.escape("cannot: its pass 'fuse_batch_normalization' failed on layer 't_scale' (ApplyAlpha): "
                                                   "operands could not be broadcast together")):
        hls4ml_graph(model, config, "cannot", backend="Vitis")


def test_a_streamed_dot_is_refused_by_name_before_the_compiler_and_an_estimate_says_why(tmp_path):
    """hls4ml 1.3 converts a Dot in io_stream but has only its io_parallel template, so the firmware does not compile:
    the conversion names the layer in one line (before, every type candidate's failure was listed), and an estimate of
    the same model notes it."""
    import qkeras
    import tensorflow as tf

    from codesign.estimate.run import estimate_model

    bits = "quantized_bits(8,2,alpha=1)"
    inputs = tf.keras.Input((6,))
    quantized = qkeras.QActivation("quantized_bits(8,3,alpha=1)", name="q")(inputs)
    left = qkeras.QDense(3, kernel_quantizer=bits, bias_quantizer=bits, name="a")(quantized)
    right = qkeras.QDense(3, kernel_quantizer=bits, bias_quantizer=bits, name="b")(quantized)
    dotted = tf.keras.layers.Dot(axes=1, name="dot")([left, right])
    model = tf.keras.Model(inputs, tf.keras.layers.Concatenate(name="cat")([dotted, left]))
    model.save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path, (6,)))},
                           "hls": {"io_type": "io_stream"}})
    said = "layer 'dot' (Dot): hls4ml 1.3 has no io_stream dot product (its firmware passes streams to the io_parallel template and does not compile): use io_parallel"
    with pytest.raises(SpecError, match=re.escape(said) + "$"):
        build_run(spec, tmp_path / "run", lambda _: None, to_step="compile")
    notes = estimate_model(model, spec.hls, None, tmp_path / "estimate.log")["notes"]
    assert any(note.startswith("layer 'dot' (Dot, io_stream): hls4ml 1.3 has no io_stream dot product") for note in notes), notes


def test_a_conversion_every_type_candidate_fails_alike_says_hls4mls_reason_once(tmp_path):
    """hls4ml 1.3 refuses a Bidirectional layer in io_stream on each of codesign's type candidates with the same error,
    which named the candidate it met: the one line says that error once, not once per candidate."""
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input((4, 3))
    quantized = qkeras.QActivation("quantized_bits(8,3,alpha=1)", name="q")(inputs)
    recurrent = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(2), name="bi")(quantized)
    tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="out")(recurrent)).save(tmp_path / "m.h5")
    spec = spec_from_dict({"name": "u", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(_npz(tmp_path, (4, 3)))},
                           "hls": {"io_type": "io_stream"}})
    with pytest.raises(ModelError) as raised:
        build_run(spec, tmp_path / "run", lambda _: None, to_step="compile")
    said = str(raised.value)
    assert said.startswith("no way of converting this model compiled (each of codesign's type candidates: hls4ml cannot convert this model: its pass "
                           "'vitis:validate_bidirectional_io_type' failed on layer 'bi' (Bidirectional)"), said
    assert said.count("validate_bidirectional_io_type") == 1 and "\n" not in said, said


def test_an_estimate_of_a_streamed_1x1_convolution_that_strides_says_its_outputs_are_wrong(tmp_path):
    """hls4ml makes a 1x1 QConv2D a pointwise convolution, but computes a QConv2DBatchnorm's with its line buffer, which
    leaves data in its output stream when it strides (fuzz seed 1484 model 5; a build refuses it: the fuzz case
    stream_conv2d_batchnorm_1x1_kernel_with_a_stride): an estimate of the design says so, and not of the plain QConv2D."""
    import qkeras
    import tensorflow as tf

    from codesign.config import hls_from_dict
    from codesign.estimate.run import estimate_model

    bits = "quantized_bits(6,1,alpha=1)"
    for kind in ("QConv2DBatchnorm", "QConv2D"):
        inputs = tf.keras.Input((4, 4, 3))
        hidden = getattr(qkeras, kind)(4, 1, strides=2, kernel_quantizer=bits, bias_quantizer=bits, name="conv")(inputs)
        model = tf.keras.Model(inputs, tf.keras.layers.Flatten()(hidden))
        notes = estimate_model(model, hls_from_dict({"io_type": "io_stream"}, "test"), None, tmp_path / "estimate.log")["notes"]
        said = [note for note in notes if "a 1x1 kernel with a stride, io_stream): hls4ml computes it with its line buffer" in note]
        assert bool(said) == (kind == "QConv2DBatchnorm"), notes
