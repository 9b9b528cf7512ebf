"""The head in firmware judged by its decision: hls4ml's own head code compiled alone, run on every value the logits
can take (codesign/head.py). Logit types here are generated over a range of fraction bits, not picked."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.fixed import Fixed
from codesign.head import (HeadCode, TABLE_LIMIT, chosen_settings, firmware_decisions, logit_values, model_decisions,
                           prove_decision)

PROVEN_LOGITS = {"status": "proven"}


def _whole_range(logit_type: Fixed) -> list[float]:
    return [logit_type.low * logit_type.lsb, logit_type.high * logit_type.lsb]


@pytest.mark.parametrize("function", ["sigmoid", "tanh"])
def test_chosen_tables_decide_as_the_model_on_every_logit_value_and_hls4ml_defaults_do_not(function):
    """For logit types of 2 to 10 fraction bits (every value of the type, through the compiled head): codesign's table
    takes the model's side of the threshold on each; hls4ml's default 1,024-entry table flips the smallest positive
    logits once the type is finer than its entries (16/1,024 wide for sigmoid, 8/1,024 for tanh)."""
    rng = np.random.default_rng(7)
    for frac in sorted(set(rng.integers(2, 11, size=3)) | {10}):
        logit_type = Fixed(int(frac) + 6, 6, True)
        settings, why = chosen_settings(function, logit_type, "decision")
        assert why is None and settings["TableSize"] <= TABLE_LIMIT
        code = HeadCode(function, 3, logit_type, settings)
        try:
            proof = prove_decision(code, logit_type, _whole_range(logit_type), PROVEN_LOGITS)
        finally:
            code.close()
        assert proof["status"] == "proven", (frac, proof["why"])
        assert proof["checked"] == 2 ** logit_type.width and proof["max_abs_error"] < 0.01
    logit_type = Fixed(16, 6, True)
    default = HeadCode(function, 3, logit_type, {})
    try:
        proof = prove_decision(default, logit_type, _whole_range(logit_type), PROVEN_LOGITS)
    finally:
        default.close()
    first = np.asarray(proof["flipping_logits"][0])
    assert proof["status"] == "unproven" and 0 < first.min() < 16 / 1024 and "take another decision" in proof["why"]


def test_a_logit_type_too_fine_for_any_table_is_said_with_the_smallest_change():
    settings, why = chosen_settings("sigmoid", Fixed(24, 8, True), "decision")
    assert settings["TableSize"] == TABLE_LIMIT
    assert "fixed<24,8,TRN,WRAP> has 16 fraction bits" in why and "at most 12 fraction bits" in why and "head on the host" in why


def test_the_argmax_softmax_is_proven_and_hls4ml_default_tables_merge_a_near_tie():
    """hls4ml's argmax implementation returns the first largest logit, numpy's argmax of QKeras's softmax too: proven on
    neighbouring pairs of every value. hls4ml's default stable tables index x_max - x by its top bits: two logits 1/64
    apart share an entry, so the class listed first wins a tie the model does not have."""
    logit_type = Fixed(16, 6, True)
    chosen, _ = chosen_settings("softmax", logit_type, "decision")
    argmax, default = HeadCode("softmax", 10, logit_type, chosen), HeadCode("softmax", 10, logit_type, {})
    try:
        proof = prove_decision(argmax, logit_type, [-8.0, 8.0], PROVEN_LOGITS)
        near_tie = np.zeros((1, 10))
        near_tie[0, 2], near_tie[0, 5] = 0.25, 0.25 + 1 / 64
        assert model_decisions("softmax", near_tie)[0, 0] == 5
        assert firmware_decisions("softmax", argmax(near_tie))[0, 0] == 5
        assert firmware_decisions("softmax", default(near_tie))[0, 0] == 2
        tables = prove_decision(default, logit_type, [-8.0, 8.0], PROVEN_LOGITS)
    finally:
        argmax.close()
        default.close()
    assert proof["status"] == "proven" and proof["checked"] > 2 * 1000 and "first largest logit" in proof["how"]
    assert tables["status"] == "unproven" and tables["flipping_logits"]


def test_a_decision_is_not_proven_on_logits_that_are_not():
    logit_type = Fixed(8, 3, True)
    code = HeadCode("softmax", 4, logit_type, {"Implementation": "argmax"})
    try:
        proof = prove_decision(code, logit_type, [-1.0, 1.0], {"status": "counterexample", "why": "out first differs"})
    finally:
        code.close()
    assert proof["status"] == "unproven" and "fixed<8,3,TRN,WRAP>" in proof["why"] and "out first differs" in proof["why"]
    assert logit_values(logit_type, -1.0, 1.0).tolist() == [value / 32 for value in range(-32, 33)]


@pytest.mark.slow
def test_logits_too_narrow_for_the_model_flip_decisions_and_the_counterexample_replays(tmp_path, tiny_spec_dict):
    """Every layer in ap_fixed<8,3> (the logits saturate at 4): the firmware's class differs from the model's on some
    inputs whatever the head does; the saved inputs replay through the C++ emulation and QKeras, and the reason names
    the logits' type."""
    from tensorflow import keras

    from codesign.commands import build_run
    from codesign.config import spec_from_dict
    from codesign.emulate import run_emulation
    from codesign.layout import RunLayout, read_json
    from codesign.model import load_keras_model

    tiny_spec_dict["hls"] = {"head": "firmware", "precision": "ap_fixed<8,3>"}
    build_run(spec_from_dict(tiny_spec_dict), tmp_path / "narrow", lambda _: None)
    layout = RunLayout(tmp_path / "narrow")
    head = read_json(layout.report("validate"))["head"]
    assert head["proof"]["status"] == "counterexample" and head["flips"] > 0
    assert "logits, of type fixed<8,3" in head["proof"]["why"]
    saved = np.load(layout.root / head["counterexample"])
    firmware = run_emulation(layout.library, layout.emulation_meta, saved["x"], lambda _: None, trace=True).outputs
    logits_model = load_keras_model(layout.qkeras_model)
    with_head = keras.Model(logits_model.inputs, keras.layers.Activation("softmax")(logits_model.output))
    assert np.array_equal(firmware, saved["firmware"])
    assert (np.argmax(firmware, axis=1) != np.argmax(with_head.predict(saved["x"], verbose=0), axis=1)).all()
