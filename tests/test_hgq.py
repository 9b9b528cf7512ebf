"""HGQ designs: each value's own width, read from the firmware hls4ml writes or the proxy model it saves, sets what the
estimate counts (codesign/estimate/hgq.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.cli import main

CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "calibration"
SMALL_HGQ = CALIBRATION / "projects2" / "Lrozzy__hls4ml_OpenML__model_3.1_5_hls4ml_prj"  # 1,460 LUT, 0 DSP (Vitis HLS 2024.1)


def _copy(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    return target


def test_each_quantizers_widths_read_from_the_code_hls4ml_writes_are_those_of_the_proxy_model(tmp_path):
    """hls4ml's own code generator (generate_mask_fn) writes each per-value quantizer of the calibration's HGQ MLP
    into nnet_code_gen.h from the proxy model's masks; read back without the model, the widths are the model's."""
    from hls4ml.backends.fpga.passes.hgq_proxy_model import generate_mask_fn

    from codesign.estimate.hgq import GENERATED_CODE, PROXY_MODEL, value_bits_in_folder, value_bits_of_proxy_model

    from_model = value_bits_of_proxy_model(SMALL_HGQ / PROXY_MODEL)
    assert sorted(from_model) == ["h_dense_36_relu_quantizer", "h_dense_37_relu_quantizer", "h_dense_38_relu_quantizer", "h_dense_39_quantizer",
                                  "h_quantize_9"]  # the fusible (per-tensor) quantizers after each Dense are not per value
    assert int((from_model["h_dense_36_relu_quantizer"] > 0).sum()) == 6  # 58 of the first layer's 64 outputs pruned
    folder = _copy(SMALL_HGQ, tmp_path / "firmware_only")
    (folder / PROXY_MODEL).unlink()
    code = "".join(generate_mask_fn(name, bits.shape[1:], np.ones_like(bits), bits, np.ones_like(bits), "RND", "WRAP", "vitis")
                   for name, bits in from_model.items())
    (folder / GENERATED_CODE).parent.mkdir(parents=True)
    (folder / GENERATED_CODE).write_text(code)
    from_code, source = value_bits_in_folder(folder)
    assert source == str(GENERATED_CODE)
    assert {name: bits.tolist() for name, bits in from_code.items()} == {name: bits.ravel().tolist() for name, bits in from_model.items()}


def test_an_hgq_mlp_is_estimated_by_its_values_widths_near_its_report_and_far_without_them(tmp_path):
    """The HGQ MLP whose quantizers prune most values: with their widths its estimate's DSP and LUT are inside the
    targets of its vendor report (no DSP, LUT within 2x); with only its declared types (the widths' upper bounds) its
    LUT is several times the report's and it binds DSPs the tool did not. Each estimate says which it used. (Its
    latency is not checked here: a chain of shifts and adds, which Vitis HLS cuts more often than the estimate does,
    docs/estimation.md.)"""
    def estimate(folder: Path) -> tuple[dict, str]:
        result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(folder / "e.json")])
        assert result.exit_code == 0, result.output
        return json.loads((folder / "e.json").read_text()), result.output

    with_widths, said = estimate(_copy(SMALL_HGQ, tmp_path / "with"))
    assert "each value's width read from keras_model.keras (5 of 5 quantizers set them per value)" in said
    vendor = with_widths["vendor"]["csynth"]
    assert (vendor["dsp"], vendor["lut"]) == (0, 1460)
    assert with_widths["total"]["dsp"] == 0 and 0.5 <= with_widths["total"]["lut"] / vendor["lut"] <= 2.0

    declared = _copy(SMALL_HGQ, tmp_path / "declared")
    (declared / "keras_model.keras").unlink()
    without, said = estimate(declared)
    assert "HGQ's per-value bit widths are not in firmware/nnet_utils/nnet_code_gen.h or keras_model.keras" in said
    assert without["total"]["lut"] > 3 * vendor["lut"] and without["total"]["dsp"] > 2


@pytest.mark.parametrize("widths, kept", [((16, 16, 16, 16), 4), ((0, 16, 0, 16), 2), ((0, 0, 0, 0), 0)])
def test_a_dense_layers_products_on_inputs_a_quantizer_prunes_vanish(widths, kept):
    """A Dense whose inputs an HGQ quantizer sets to 0 bits has no logic for their products: its DSPs (one per input
    and constant: both outputs share it) and its adds are those of the inputs it keeps."""
    import hls4ml
    import tensorflow as tf

    from codesign.estimate.features import layer_features

    inputs = tf.keras.Input((4,), name="x")
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="fc")(inputs))
    model.get_layer("fc").set_weights([np.full((4, 2), 0.59375), np.zeros(2)])  # 19/32: three CSD digits, a DSP each
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["LayerName"]["x"]["Precision"]["result"] = "ap_fixed<16,6>"
    config["LayerName"]["fc"]["Precision"] = {"weight": "ap_fixed<8,1>", "bias": "ap_fixed<8,1>", "result": "ap_fixed<24,8>", "accum": "ap_fixed<24,8>"}
    graph = hls4ml.converters.convert_from_keras_model(model, hls_config=config, backend="Vitis", part="xcu250-figd2104-2L-e", io_type="io_parallel")
    graph.graph["x"].set_attr("value_bits", np.array(widths))
    found = layer_features(graph.graph["fc"], "io_parallel", "ultrascale", tool="Vitis HLS 2024.1")
    assert found["dsp"] == kept
    assert found["lut"]["adder"] == max(0, kept - 1) * 2 * 24  # per output, its kept products less one, at accum_t's 24 bits


def _proxy_quantizer_class():
    """A stand-in of HGQ's proxy-model quantizer (HGQ is not in this stack): a layer of the class name hls4ml converts
    (FixedPointQuantizer), its per-value keep_negative, bits and integers as int8 weights, identity in Keras."""
    import tensorflow as tf

    class FixedPointQuantizer(tf.keras.layers.Layer):
        def __init__(self, RND="TRN", SAT="WRAP", fusible=False, overrides=None, **kwargs):
            super().__init__(**kwargs)
            self.RND, self.SAT, self.fusible, self.overrides = RND, SAT, fusible, overrides or {}

        def build(self, shape):
            for name in ("keep_negative", "bits", "integers"):
                setattr(self, name, self.add_weight(name=name, shape=(1, *shape[1:]), initializer="zeros", trainable=False, dtype="int8"))

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "RND": self.RND, "SAT": self.SAT, "fusible": self.fusible, "overrides": self.overrides}

    return FixedPointQuantizer


def _firmware_only(model, config: dict, folder: Path) -> Path:
    """The project hls4ml 1.3 writes of the model (Vitis, io_parallel), without its config and saved model."""
    import hls4ml

    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(folder), backend="Vitis", part="xcu250-figd2104-2L-e",
                                               io_type="io_parallel").write()
    for name in ("hls4ml_config.yml", "keras_model.keras", "keras_model.h5"):
        (folder / name).unlink(missing_ok=True)
    return folder


@pytest.mark.slow
def test_a_firmware_only_folder_gives_a_quantizer_of_any_name_its_values_widths(tmp_path):
    """hls4ml writes a per-value quantizer as a function named after its layer (here `in_quant`, not HGQ 1's h_*):
    a folder with only the firmware is estimated with the widths nnet_code_gen.h gives each value, and without that
    file with the declared type, more logic."""
    import hls4ml
    import tensorflow as tf

    inputs = tf.keras.Input((8,), name="x")
    quantizer = _proxy_quantizer_class()(name="in_quant")
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(4, name="fc")(quantizer(inputs)))
    quantizer.set_weights([np.ones((1, 8)), np.array([[6, 6, 0, 0, 4, 4, 0, 8]]), np.array([[3, 3, 0, 0, 2, 2, 0, 4]])])
    model.get_layer("fc").set_weights([np.full((8, 4), 0.59375), np.zeros(4)])
    folder = _firmware_only(model, hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis"), tmp_path / "written")
    assert "nnet::in_quant<" in (folder / "firmware" / "myproject.cpp").read_text()

    def estimate(target: Path) -> tuple[dict, str]:
        result = CliRunner().invoke(main, ["estimate", str(target), "--json", str(tmp_path / f"{target.name}.json")])
        assert result.exit_code == 0, result.output
        report = json.loads((tmp_path / f"{target.name}.json").read_text())
        return {layer["name"]: layer for layer in report["layers"]}["fc"], result.output

    with_widths, said = estimate(folder)
    assert "each value's width read from firmware/nnet_utils/nnet_code_gen.h (1 of 1 quantizers set them per value)" in said
    declared = _copy(folder, tmp_path / "declared")
    (declared / "firmware" / "nnet_utils" / "nnet_code_gen.h").write_text("// hls4ml insert code\n")
    without, said = estimate(declared)
    assert "codesign does not know its cost" in said and "in_quant" in said
    assert with_widths["lut"] < 0.8 * without["lut"], (with_widths, without)


@pytest.mark.slow
def test_an_hgq_lookup_table_in_a_firmware_only_folder_is_estimated_with_a_note_not_refused(tmp_path):
    """HGQ's UnaryLUT (an activation as a table, `nnet::unary_lut` with its table as a weight file) written by hls4ml
    1.3 from a stand-in layer: the firmware is read (the table is a weight, not a variable), the call estimated as a
    cast and the note says its table is not priced (no vendor report of one in the calibration)."""
    import hls4ml
    import tensorflow as tf

    class UnaryLUT(tf.keras.layers.Layer):
        def __init__(self, kif_out=(1, 2, 5), **kwargs):
            super().__init__(**kwargs)
            self.kif_out = tuple(kif_out)

        def build(self, shape):
            self.table = self.add_weight(name="table", shape=(256,), initializer="zeros", trainable=False)

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "kif_out": self.kif_out}

    inputs = tf.keras.Input((8,), name="x")
    table = UnaryLUT(name="act_lut")
    model = tf.keras.Model(inputs, table(tf.keras.layers.Dense(4, name="fc")(inputs)))
    table.set_weights([np.tanh(np.linspace(-4, 4, 256))])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["LayerName"]["fc"]["Precision"]["result"] = "ap_fixed<8,3>"
    folder = _firmware_only(model, config, tmp_path / "written")
    assert "nnet::unary_lut<" in (folder / "firmware" / "myproject.cpp").read_text()
    result = CliRunner().invoke(main, ["estimate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "firmware layer 'act_lut' (nnet::unary_lut, HGQ's lookup table of 256 entries) estimated as a cast of its input" in result.output


def test_a_saved_model_that_is_not_an_hgq_proxy_gives_no_widths(tmp_path):
    """An ordinary Keras model saved as keras_model.keras (what hls4ml 1.x saves beside any project) states no per-value
    widths, and a file that is not an archive gives none rather than an error."""
    import tensorflow as tf

    from codesign.estimate.hgq import value_bits_of_proxy_model

    inputs = tf.keras.Input((4,))
    tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs)).save(tmp_path / "keras_model.keras")
    assert value_bits_of_proxy_model(tmp_path / "keras_model.keras") == {}
    (tmp_path / "broken.keras").write_text("not a zip archive")
    assert value_bits_of_proxy_model(tmp_path / "broken.keras") == {}


def test_one_rule_says_which_firmware_calls_are_hgq_quantizers():
    """HGQ's proxy models name their quantizers h_* or *_quantizer, hls4ml names one after its layer where the folder's
    widths name it: the rule that notes a quantizer without widths and the one that casts it silently are the same."""
    from codesign.estimate.firmware import Layer, is_hgq_quantizer

    def call(function: str, name: str = "q") -> Layer:
        return Layer(function, name, "ap_fixed<8,3>", "ap_fixed<8,3>")

    assert is_hgq_quantizer(call("h_dense_relu_quantizer")) and is_hgq_quantizer(call("dense_1_relu_quantizer"))
    assert is_hgq_quantizer(call("in_quant", "in_quant"), {"in_quant": np.ones(8)}) and not is_hgq_quantizer(call("in_quant", "in_quant"))
    assert not is_hgq_quantizer(call("relu")) and not is_hgq_quantizer(call("unary_lut"))


def _hgq_proxy_model(folder: Path):
    """A small MLP as HGQ trains it (its quantizers' ranges traced on data), saved as the proxy model HGQ users ship."""
    import warnings

    from HGQ import HDense, HQuantize, to_proxy_model, trace_minmax
    from tensorflow import keras

    rng = np.random.default_rng(0)
    x = (np.round(rng.normal(0, 1, (200, 8)) * 256) / 256).astype(np.float32)
    inputs = keras.Input((8,))
    hidden = HDense(6, activation="relu", beta=3e-5, name="fc1")(HQuantize(beta=3e-5, name="inq")(inputs))
    model = keras.Model(inputs, HDense(3, beta=3e-5, name="out")(hidden))
    for weight in model.trainable_weights:
        if "kernel" in weight.name:
            weight.assign(rng.normal(0, 0.7, weight.shape).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trace_minmax(model, x, verbose=False)
        proxy = to_proxy_model(model)
    proxy.save(folder / "proxy.keras")
    np.savez(folder / "data.npz", x_train=x, y_train=np.arange(200) % 3, x_test=x, y_test=np.arange(200) % 3)
    return proxy


@pytest.mark.slow
def test_an_hgq_proxy_model_is_built_bit_exact_and_said_unproven(tmp_path):
    """An HGQ proxy model (FixedPointQuantizer layers: what HGQ users ship, and six of the calibration's public models)
    loads, converts with hls4ml's bit_exact flow, and is identical to the proxy model on every test sample and on 5,000
    random inputs; the proof says it does not analyse HGQ's quantizers, where it had flagged the first Dense as rounding.
    Before, Keras could not load it ("'str' object is not callable")."""
    import codesign
    from codesign.layout import RunLayout, read_json

    proxy = _hgq_proxy_model(tmp_path)
    result = CliRunner().invoke(main, ["build", "--model", str(tmp_path / "proxy.keras"), "--data", str(tmp_path / "data.npz"), "--no-train",
                                       "--output-root", str(tmp_path / "runs"), "--to", "validate"])
    assert result.exit_code == 0, result.output
    layout = RunLayout(tmp_path / "runs" / "proxy")
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] and report["mismatched_samples"] == 0 and report["computed_in_float"] == ["fc1", "out"]
    assert [candidate["candidate"] for candidate in read_json(layout.report("convert"))["candidates"] if candidate["kept"]] == ["hls4ml bit_exact=True"]
    assert report["proof"]["status"] == "unproven" and "HGQ proxy model" in report["proof"]["why"]
    x = np.random.default_rng(1).uniform(-4, 4, (5_000, 8)).astype(np.float32)
    assert np.array_equal(codesign.Run(layout.root).emulate(x), np.asarray(proxy.predict(x, verbose=0), dtype=np.float64))
    from codesign.errors import ModelError
    from codesign.model import load_keras_model

    with pytest.raises(ModelError, match="an HGQ proxy model"):  # a project's estimate reads it from its firmware, HGQ imported or not
        load_keras_model(tmp_path / "proxy.keras", hgq=False)
