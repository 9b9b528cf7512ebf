"""Every model of the QKeras corpus (written after hls4ml's and QKeras's own examples) built from its .h5 and .npz as a
user would, and validated bit for bit; the one construct fixed point cannot reproduce fails naming its layer and why."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from codesign.errors import ValidationFailed
from codesign.layout import RunLayout, read_json
from qkeras_corpus import CORPUS, build_saved, corpus_data

pytestmark = pytest.mark.slow

HEADS = {"softmax_head": ("softmax", "out"), "sigmoid_head": ("sigmoid", "sigmoid"), "tagger_global_average_16": ("sigmoid", "sigmoid")}
PROVEN = {"leaky_relu", "leaky_relu_default_alpha", "prelu", "prelu_conv", "prelu_conv_stream", "permute_channels_first",
          "permute_rows_columns", "permute_rows_columns_stream", "zero_padding1d", "zero_padding1d_stream",
          "average_pooling_same", "hard_tanh", "hard_sigmoid_stream", "binary_kernel", "binary_kernel_stream", "po2_kernel",
          "po2_max_kernel", "po2_kernel_stream", "two_outputs", "two_outputs_conv", "two_outputs_conv_stream", "binary_activation",
          "binary_kwarg", "ternary_activation", "ternary_activation_stream", "ternary_threshold_on_the_grid", "binary_network",
          "binary_before_average_pooling"}  # the layers the proof
# analyses past its first ones, and models of two outputs: each must stay proven
OUTPUTS = {  # models of two outputs: each output compared (its layer, values per sample, the float heads on the host reading it)
    "two_outputs": [{"name": "logits", "size": 3, "heads": ["softmax 'classes'"]}, {"name": "energy", "size": 1, "heads": []}],
    "two_outputs_conv": [{"name": "out", "size": 3, "heads": []}, {"name": "features", "size": 48, "heads": []}],
}
NOT_EXACT = {
    "float_input_dense": ("fc1", "the data are not exactly representable"),  # QKeras computes on raw floats
    "tagger_global_average_12": ("pool", "QKeras averages 12 values in float"),  # a mean of 12 values is no fixed-point value
    "softmax_inside": ("softmax", "hls4ml computes softmax with lookup tables"),  # a softmax before the end
}


def _build(entry, tmp_path):
    """Save the corpus model and its data, build them to the validate step; the run's layout."""
    model = entry.build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "model.h5")
    np.savez(tmp_path / "data.npz", **corpus_data(entry))
    return RunLayout(build_saved(entry, tmp_path))


@pytest.mark.parametrize("entry", [entry for entry in CORPUS if entry.name not in NOT_EXACT], ids=lambda entry: entry.name)
def test_corpus_model_is_bit_exact(entry, tmp_path):
    layout = _build(entry, tmp_path)
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] and report["mismatched_samples"] == 0 and report["samples"] == 200
    candidates = read_json(layout.report("convert"))["candidates"]
    kept = [candidate for candidate in candidates if candidate["kept"]]
    exact = [candidate for candidate in candidates if candidate["outcome"] == "exact"]
    proven = [candidate for candidate in exact if candidate["proof"] == "proven"]
    # the first exact and proven; else the first exact, unless its proof found a type rounding, overflowing or padding
    # and a later exact one's finds none (typesearch.search_types)
    clean = [candidate for candidate in exact if not candidate["proof_type_failure"]]
    expected = proven[0] if proven else clean[0] if exact[0]["proof_type_failure"] and clean else exact[0]
    assert len(kept) == 1 and kept[0] is expected
    assert (kept[0] is candidates[-1]) == bool(proven)  # the search stops at a proven one; else the rest were proven first
    assert report["candidates"] == candidates
    assert entry.name not in PROVEN or report["proof"]["status"] == "proven"
    if proven:
        assert report["proof"]["status"] == "proven"
    else:  # no later candidate was exact and proven either, nor exact and cleaner; the run says why it is not proven, or shows the input
        later = candidates[candidates.index(kept[0]) + 1 :]
        assert all(candidate["outcome"] != "exact" or candidate["proof_type_failure"] for candidate in later)
        if not kept[0]["proof_type_failure"]:  # the rest were proven first, not compiled
            assert all(candidate["outcome"] != "exact" for candidate in later)
        assert report["proof"]["status"] in ("unproven", "counterexample") and report["proof"]["why"]
    in_float = (["bn1"] if entry.name.startswith(("standalone_batchnorm", "dense_batchnorm")) else ["leaky"] if entry.name.startswith("leaky")
                else ["prelu"] if entry.name.startswith("prelu") else ["bn1", "bn2"] if entry.name == "binary_network"
                else ["bn"] if entry.name == "binary_before_average_pooling" else [])  # QKeras's float32 normalizations: steps
    # of a binary activation reproduce them exactly (thresholds where QKeras's float32 arithmetic steps), and are proven
    assert report["computed_in_float"] == in_float
    exact = report["exact_reference"]
    if entry.name == "float32_sums":  # QKeras's float32 sums round; the firmware equals the exact evaluation, proven so
        assert report["reference"] == "exact" and exact["firmware_mismatched_samples"] == 0 and exact["qkeras_mismatched_samples"] > 0
        assert {note["layer"] for note in exact["float32_layers"]} == {"fc1", "out"} and report["proof"]["reference"] == "exact"
    elif entry.name.startswith("prelu_conv"):  # trained alphas (24-bit float32) times 20-bit values: QKeras rounds them, the firmware does not
        assert report["reference"] == "exact" and exact["firmware_mismatched_samples"] == 0 and exact["qkeras_mismatched_samples"] > 0
        assert {note["layer"] for note in exact["float32_layers"]} == {"prelu", "out"} and report["proof"]["reference"] == "exact"
    elif entry.name == "leaky_relu_default_alpha":  # Keras's float32 0.3 held exactly (hls4ml's ufixed<8,-1> truncated it: 17 of 200 off)
        assert report["reference"] == "qkeras" and report["proof"]["status"] == "proven"
        assert [note["layer"] for note in exact["float32_layers"]] == ["leaky"]  # QKeras's products round; the quantizer after absorbs it
    elif entry.name == "dense_batchnorm_logits":  # QKeras rounds x * inv + shift in float32; the firmware does not
        assert report["reference"] == "exact" and exact["qkeras_mismatched_samples"] == 200 and exact["firmware_mismatched_samples"] == 0
        assert report["proof"]["reference"] == "exact" and report["proof"]["status"] == "unproven"  # none found against it
    else:
        assert report["reference"] == "qkeras"
    assert report["outputs"] == OUTPUTS.get(entry.name.removesuffix("_stream"))
    head = HEADS.get(entry.name)  # a float head runs on the host by default: the firmware ends on the logits
    assert report["head"] == ({"function": head[0], "layer": head[1], "runs_on": "host"} if head else None)
    if entry.labels == "classes":
        assert report["task"] == "classification" and report["accuracy"]["qkeras"] == report["accuracy"]["emulation"]
    elif entry.labels == "regression":
        assert report["task"] == "regression" and report["error"]["qkeras"] == report["error"]["emulation"]
    else:
        assert report["task"] is None and report["accuracy"]["qkeras"] is None and "neither" in report["task_note"]


@pytest.mark.parametrize("name", sorted(NOT_EXACT))
def test_inexact_construct_exits_3_naming_the_layer_and_why(name, tmp_path):
    entry = next(entry for entry in CORPUS if entry.name == name)
    with pytest.raises(ValidationFailed) as failure:
        _build(entry, tmp_path)
    layer, why = NOT_EXACT[name]
    assert f"first diverging layer: {layer}" in str(failure.value) and why in str(failure.value)
    report = read_json(RunLayout(tmp_path / name).report("validate"))
    assert report["first_diverging_layer"]["name"] == layer and why in report["first_diverging_layer"]["why"]
    candidates = read_json(RunLayout(tmp_path / name).report("convert"))["candidates"]
    assert len(candidates) == 5 and all(candidate["outcome"] != "exact" for candidate in candidates)
    assert sum(candidate["kept"] for candidate in candidates) == 1


def test_a_float_model_is_refused_under_bit_exact_and_measured_under_a_type(tmp_path):
    """A plain Keras model: no fixed point can equal it, so the bit-exact policy says so before any work; an explicit
    type builds it and reports how close the firmware comes, its accuracy labelled as the float model's."""
    import tensorflow as tf
    from click.testing import CliRunner

    from codesign.cli import main

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((10,))
    hidden = tf.keras.layers.Dense(8, activation="relu", name="fc1")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="out")(hidden))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "float.h5")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (120, 10)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x_train=x[:60], y_train=rng.integers(0, 3, 60), x_test=x[60:], y_test=rng.integers(0, 3, 60))
    common = ["build", "--model", str(tmp_path / "float.h5"), "--data", str(tmp_path / "data.npz"), "--output-root", str(tmp_path)]
    refused = CliRunner().invoke(main, [*common, "--name", "refused"])
    assert refused.exit_code == 2 and "a float Keras model (no QKeras quantizer) cannot be bit-exact" in refused.output
    assert not (tmp_path / "refused" / "hls").exists()
    measured = CliRunner().invoke(main, [*common, "--name", "measured", "--precision", "ap_fixed<16,6>"])
    assert measured.exit_code == 0, measured.output
    report = read_json(RunLayout(tmp_path / "measured").report("validate"))
    assert report["reference"] == "float" and report["accuracy"]["qkeras"] is None
    assert report["accuracy"]["float"] is not None and report["argmax_agreement"] > 0.5
    assert "accuracy: float" in measured.output and "qkeras" not in measured.output.split("accuracy:")[1].splitlines()[0]


def test_a_float_head_in_firmware_is_judged_on_the_logits_and_its_tables_reported(tmp_path):
    """--head firmware: hls4ml's sigmoid table ends the firmware; exactness is on the logits traced before it, and the
    table's error against the exact sigmoid is reported apart. A model without a head asked for one is refused."""
    from click.testing import CliRunner

    from codesign.cli import main

    entry = next(entry for entry in CORPUS if entry.name == "sigmoid_head")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry.build().save(tmp_path / "model.h5")
    np.savez(tmp_path / "data.npz", **corpus_data(entry))
    arguments = ["build", "--model", str(tmp_path / "model.h5"), "--data", str(tmp_path / "data.npz"), "--head", "firmware",
                 "--output-root", str(tmp_path), "--to", "validate"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    report = read_json(RunLayout(tmp_path / "model").report("validate"))
    head = report["head"]
    assert report["bit_exact"] and {key: head[key] for key in ("function", "layer", "runs_on")} == {"function": "sigmoid", "layer": "sigmoid", "runs_on": "firmware"}
    # the logits' type has 12 fraction bits: the table that tells each positive logit from 0 has 2^16 entries, proven on every value
    assert head["implementation"] == "table" and head["table_size"] == 2**16 and head["proof"]["status"] == "proven" and head["agreement"] == 1.0
    assert head["proof"]["checked"] > 100_000 and head["proof"]["max_abs_error"] >= report["firmware_head"]["max_abs_diff"]
    assert head["hls4ml_default"]["table_size"] == 1024 and head["hls4ml_default"]["proof"]["status"] in ("unproven", "counterexample")
    tables = report["firmware_head"]
    assert tables["decision"] == "above 0.5" and tables["agreement"] > 0.9 and 0 < tables["mean_abs_diff"] <= tables["max_abs_diff"] < 0.1
    assert "firmware sigmoid (lookup tables)" in result.output

    entry = next(entry for entry in CORPUS if entry.name == "regression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry.build().save(tmp_path / "plain.h5")
    np.savez(tmp_path / "plain.npz", **corpus_data(entry))
    arguments[2], arguments[4] = str(tmp_path / "plain.h5"), str(tmp_path / "plain.npz")
    refused = CliRunner().invoke(main, arguments)
    assert refused.exit_code == 2 and "head 'firmware': the model ends on layer 'out'" in refused.output
