"""Spec -> QKeras model and float twin: the layers, quantizers and shapes the spec asks for."""

from __future__ import annotations

import pytest

from codesign.config import spec_from_dict
from codesign.errors import ModelError, SpecError
from codesign.model import build_float, build_qkeras, check_output_shape, load_keras_model, without_training_only_layers


def test_qkeras_model_has_the_spec_quantizers(tiny_spec_dict):
    spec = spec_from_dict(tiny_spec_dict)
    model = build_qkeras(spec, (8, 8, 1))
    kinds = {layer.name: type(layer).__name__ for layer in model.layers}
    assert kinds["input_quant"] == "QActivation" and kinds["conv1"] == "QConv2D" and kinds["fc1"] == "QDense"
    assert "softmax" not in kinds  # logits: the softmax runs on the host
    assert str(model.get_layer("conv1").kernel_quantizer_internal) == "quantized_bits(6,0,0,alpha=1)"
    assert str(model.get_layer("relu1").quantizer) == "quantized_relu(8,3)"
    assert model.output_shape == (None, 10)
    with_softmax = build_qkeras(spec, (8, 8, 1), with_softmax=True)
    assert with_softmax.layers[-1].name == "softmax"


def test_per_layer_quantization_override(tiny_spec_dict):
    tiny_spec_dict["quantization"]["layers"] = {"fc1": {"weights": {"bits": 4, "integer": 1}}}
    model = build_qkeras(spec_from_dict(tiny_spec_dict), (8, 8, 1))
    assert str(model.get_layer("fc1").kernel_quantizer_internal) == "quantized_bits(4,1,0,alpha=1)"
    assert str(model.get_layer("output").kernel_quantizer_internal) == "quantized_bits(6,0,0,alpha=1)"


def test_batchnorm_is_folded_in_qkeras_and_kept_in_the_float_twin(tiny_spec_dict):
    tiny_spec_dict["model"]["layers"].insert(1, {"type": "batchnorm", "name": "bn1"})
    spec = spec_from_dict(tiny_spec_dict)
    quantized = build_qkeras(spec, (8, 8, 1))
    floating = build_float(spec, (8, 8, 1))
    assert type(quantized.get_layer("conv1")).__name__ == "QConv2DBatchnorm"
    assert "bn1" not in [layer.name for layer in quantized.layers]
    assert type(floating.get_layer("bn1")).__name__ == "BatchNormalization"
    assert floating.output_shape == quantized.output_shape


def test_float_twin_has_no_quantizers(tiny_spec_dict):
    model = build_float(spec_from_dict(tiny_spec_dict), (8, 8, 1))
    assert not any(type(layer).__name__.startswith("Q") for layer in model.layers)


def test_impossible_shape_names_the_layer(tiny_spec_dict):
    tiny_spec_dict["model"]["layers"][0]["kernel_size"] = 9
    with pytest.raises(SpecError, match=r"model\.layers\[0\] \(conv1\): impossible for input shape \(8, 8, 1\)"):
        build_qkeras(spec_from_dict(tiny_spec_dict), (8, 8, 1))


def test_output_units_must_match_the_classes(tiny_spec_dict):
    tiny_spec_dict["model"]["layers"][6]["units"] = 7
    model = build_qkeras(spec_from_dict(tiny_spec_dict), (8, 8, 1))
    with pytest.raises(ModelError, match="data has 10 classes.*units: 10"):
        check_output_shape(model, "model.layers", 10)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "model.h5"
    path.write_text("hello")
    with pytest.raises(ModelError, match="not a loadable Keras/QKeras model"):
        load_keras_model(path)
    with pytest.raises(ModelError, match="model file not found"):
        load_keras_model(tmp_path / "missing.h5")


def test_every_spec_layer_kind_has_both_builders():
    from codesign.config import SPEC_LAYERS
    from codesign.model import FLOAT_BUILDERS, QKERAS_BUILDERS, _qkeras_builder

    assert set(QKERAS_BUILDERS) == set(FLOAT_BUILDERS) == set(SPEC_LAYERS)
    with pytest.raises(RuntimeError, match="the QKeras builder of Conv2DLayer is registered twice"):
        _qkeras_builder(SPEC_LAYERS[0])(lambda *args: None)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_layers_that_only_act_in_training_are_taken_out_and_the_model_predicts_the_same(kind, tmp_path):
    """GaussianNoise, SpatialDropout2D and ActivityRegularization are the identity when Keras predicts, and hls4ml 1.3
    has no converter for them: the loaded model is the same function without them (weights kept), so it converts.
    Two in a row, one feeding a merge and one at the output are read through."""
    import numpy as np
    import qkeras
    import tensorflow as tf

    from codesign.refusals import unconvertible

    bits = "quantized_bits(6,2,alpha=1)"
    if kind == "sequential":
        model = tf.keras.Sequential([tf.keras.Input((6, 6, 2)), qkeras.QConv2D(3, 3, kernel_quantizer=bits, name="conv"),
                                     tf.keras.layers.SpatialDropout2D(0.3, name="drop"), tf.keras.layers.GaussianNoise(0.2, name="noise"),
                                     tf.keras.layers.Flatten(name="flat"), qkeras.QDense(2, kernel_quantizer=bits, name="fc"),
                                     tf.keras.layers.ActivityRegularization(0.1, name="reg")])
    else:
        inputs = tf.keras.Input((6, 6, 2))
        conv = qkeras.QConv2D(3, 3, kernel_quantizer=bits, name="conv")(inputs)
        noisy = tf.keras.layers.GaussianNoise(0.2, name="noise")(tf.keras.layers.SpatialDropout2D(0.3, name="drop")(conv))
        merged = tf.keras.layers.Add(name="add")([noisy, conv])
        fc = qkeras.QDense(2, kernel_quantizer=bits, name="fc")(tf.keras.layers.Flatten(name="flat")(merged))
        model = tf.keras.Model(inputs, tf.keras.layers.ActivityRegularization(0.1, name="reg")(fc))
    model.save(tmp_path / "m.h5")
    loaded = load_keras_model(tmp_path / "m.h5")
    assert not {"drop", "noise", "reg"} & {layer.name for layer in loaded.layers}
    assert {"conv", "fc"} <= {layer.name for layer in loaded.layers} and unconvertible(loaded) is None
    x = np.random.default_rng(0).normal(size=(16, 6, 6, 2)).astype(np.float32)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert without_training_only_layers(loaded) is loaded  # nothing left to take out: the same object


def _nested(kind: str, clash: bool = False):
    import qkeras
    import tensorflow as tf

    bits = "quantized_bits(6,2,alpha=1)"
    if kind == "sequential_in_functional":
        block = tf.keras.Sequential([tf.keras.Input((6,)), qkeras.QDense(5, kernel_quantizer=bits, name="fc" if clash else "inner_fc"),
                                     qkeras.QActivation(bits, name="inner_q")], name="block")
        inputs = tf.keras.Input((6,))
        return tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer=bits, name="fc")(block(qkeras.QActivation(bits, name="q_in")(inputs))))
    branch = tf.keras.Input((6, 6, 2))
    left, right = (qkeras.QConv2D(2, 3, kernel_quantizer=bits, name=name)(branch) for name in ("left", "right"))
    block = tf.keras.Model(branch, tf.keras.layers.Add(name="add")([left, right]), name="block")
    return tf.keras.Sequential([tf.keras.Input((6, 6, 2)), qkeras.QActivation(bits, name="q_in"), block, tf.keras.layers.Flatten(name="flat"),
                                qkeras.QDense(2, kernel_quantizer=bits, name="fc")])


@pytest.mark.parametrize("kind", ["sequential_in_functional", "functional_in_sequential"])
def test_a_nested_model_is_loaded_flat_and_predicts_the_same(kind, tmp_path):
    """A model called as a layer (a Sequential block in a functional model, a functional block with two branches in a
    Sequential) failed codesign's layer-by-layer comparison (its inner layers have no output in the outer graph): it
    loads as one flat model of the same layers and weights, each layer called once."""
    import numpy as np
    import tensorflow as tf

    model = _nested(kind)
    model.save(tmp_path / "m.h5")
    loaded = load_keras_model(tmp_path / "m.h5")
    assert not any(isinstance(layer, tf.keras.Model) for layer in loaded.layers)
    assert all(len(layer._inbound_nodes) == 1 for layer in loaded.layers)
    inner = {"inner_fc", "inner_q"} if kind == "sequential_in_functional" else {"left", "right", "add"}
    assert inner <= {layer.name for layer in loaded.layers}
    shape = (16, 6) if kind == "sequential_in_functional" else (16, 6, 6, 2)
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    assert np.array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert tf.keras.Model(loaded.input, loaded.get_layer(sorted(inner)[0]).output).predict(x, verbose=0).shape[0] == 16


def test_a_nested_model_whose_layer_names_repeat_outside_it_is_refused_naming_them(tmp_path):
    _nested("sequential_in_functional", clash=True).save(tmp_path / "m.h5")
    with pytest.raises(ModelError, match=r"m.h5: layer names fc are used both inside a nested model and outside it: .*rename one of each$"):
        load_keras_model(tmp_path / "m.h5")
