"""The proof over a domain (codesign/proof.py) and the counterexample search (codesign/counterexample.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.config import spec_from_dict
from codesign.errors import SpecError
from codesign.fixed import Fixed
from codesign.layout import RunLayout, read_json
from codesign.proof import Domain
from conftest import TINY_SPEC


def test_a_domain_is_one_range_or_one_per_input_value():
    fixed = Fixed(8, 1, True, "RND_CONV", "SAT")
    assert Domain.of(None, 4, fixed, quantized_input=False).text == "every value of the input type fixed<8,1,RND_CONV,SAT>"
    unbounded = Domain.of(None, 4, fixed, quantized_input=True)
    assert unbounded.high.tolist() == [2.0**16] * 4 and "every float32 input in [-65536, 65536]" in unbounded.text
    per_feature = Domain.of([[0, 1], [0, 2], [-1, 1], [0, 1]], 4, fixed, quantized_input=True)
    assert per_feature.high.tolist() == [1, 2, 1, 1] and per_feature.text == "every float32 input in 4 per-feature ranges"
    with pytest.raises(ValueError, match="3 \\[low, high\\] pairs for an input of 4 values"):
        Domain.of([[0, 1]] * 3, 4, fixed, quantized_input=True)


def test_a_bad_domain_is_a_spec_error_naming_the_key():
    spec = copy.deepcopy(TINY_SPEC)
    spec["validation"] = {"domain": [4, -4]}
    with pytest.raises(SpecError, match=r"key 'validation.domain': each range is \[low, high\] with finite low <= high"):
        spec_from_dict(spec)
    spec["validation"] = {"domain": [-4, 4]}
    assert spec_from_dict(spec).validation.domain == [-4, 4]


@pytest.mark.parametrize("value", ["4", "a,b", "4,-4", "nan,1"])
def test_cli_domain_errors_name_the_option(value, tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--domain", value])
    assert result.exit_code == 2 and "--domain" in result.output


@pytest.fixture(scope="module")
def proven(tiny_run):
    import codesign

    return codesign.Run(tiny_run[0])


@pytest.mark.slow
def test_a_proven_model_stays_exact_on_100000_random_inputs_of_its_domain(proven):
    """Drawn three ways: over the input type's range (where the rounding happens), over the whole domain (where both
    saturate), and at the domain's corners; the fast emulator against QKeras on every output."""
    proof = proven.validate().proof
    assert proof["status"] == "proven" and proof["domain"]["low"] == -65536.0
    rng = np.random.default_rng(0)
    shape = (-1, 8, 8, 1)
    x = np.concatenate([
        rng.uniform(-1.5, 1.5, (60_000, 64)),
        rng.uniform(proof["domain"]["low"], proof["domain"]["high"], (20_000, 64)),
        rng.choice([proof["domain"]["low"], proof["domain"]["high"]], (20_000, 64)),
    ]).astype(np.float32).reshape(shape)
    assert np.array_equal(proven.emulate(x), proven.predict_qkeras(x).astype(np.float64))


@pytest.mark.slow
def test_no_bound_is_below_or_above_a_value_the_emulator_traces(proven):
    from codesign.emulate import run_emulation
    from codesign.layout import RunLayout, read_json

    layout = RunLayout(proven.path)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-1.2, 1.2, (200, 64)), rng.choice([-1.0, 0.9921875], (100, 64))]).astype(np.float32)
    traced = run_emulation(layout.library, layout.emulation_meta, x.reshape(-1, 8, 8, 1), lambda _: None, trace=True).layers
    bounds = {finding["name"]: finding["bounds"]["result"] for finding in read_json(layout.report("validate"))["proof"]["layers"]}
    checked = [name for name in traced if name in bounds]
    assert len(checked) >= 5
    for name in checked:
        low, high = bounds[name]
        assert low <= traced[name].min() and traced[name].max() <= high, name


@pytest.mark.slow
def test_a_narrow_type_gets_a_counterexample_that_replays(tmp_path):
    import codesign
    from codesign.commands import build_run
    from codesign.testing import assert_proven_exact

    spec = copy.deepcopy(TINY_SPEC) | {"hls": {"precision": "ap_fixed<8,3>"}}
    build_run(spec_from_dict(spec), tmp_path / "narrow", lambda _: None)
    run = codesign.Run(tmp_path / "narrow")
    proof = run.validate().proof
    assert proof["status"] == "counterexample" and proof["counterexample"] == "reports/counterexample.npz"
    saved = np.load(run.path / proof["counterexample"])
    firmware, qkeras = run.emulate(saved["x"]), run.predict_qkeras(saved["x"]).astype(np.float64)
    assert (firmware != qkeras).any(axis=1).all()  # every input kept differs, replayed through the API
    assert np.array_equal(firmware, saved["firmware"]) and np.array_equal(qkeras, saved["qkeras"])
    assert proof["first_diverging_layer"]["name"] in proof["why"]
    with pytest.raises(AssertionError, match="not proven bit-exact: not for every input: counterexample in reports/counterexample.npz"):
        assert_proven_exact(run)


@pytest.mark.slow
def test_an_upsampling_is_proven_where_hls4mls_pixel_ratios_pick_the_pixels_keras_repeats():
    """nnet::resize_nearest picks pixels by 16-bit fixed-point ratios; they are Keras's repeats at every size a
    network has, and drift past a 32,768-pixel row for a factor of 3 (where the proof must fail, not claim)."""
    from codesign.proof import _nearest_pixels

    picked, repeated = _nearest_pixels({"in_height": 7, "in_width": 5, "out_height": 21, "out_width": 10, "n_chan": 2})
    assert np.array_equal(picked, repeated) and picked[:6].tolist() == [0, 1, 0, 1, 2, 3] and picked[20] == 0 and picked[60] == 10  # rows 1, 3: input rows 0, 1
    picked, repeated = _nearest_pixels({"in_height": 1, "in_width": 20_000, "out_height": 1, "out_width": 60_000, "n_chan": 1})
    assert not np.array_equal(picked, repeated) and np.flatnonzero(picked != repeated)[0] >= 32_768


def test_a_domain_given_on_the_command_line_becomes_the_run_claim(tiny_run, tmp_path):
    import shutil

    import yaml

    from codesign.layout import RunLayout, read_json

    run_dir = tmp_path / "tiny"
    shutil.copytree(tiny_run[0], run_dir)
    result = CliRunner().invoke(main, ["validate", str(run_dir), "--domain", "-1,1"])
    assert result.exit_code == 0, result.output
    assert "proven: bit-exact for every float32 input in [-1, 1]" in result.output
    assert yaml.safe_load(RunLayout(run_dir).config.read_text())["validation"]["domain"] == [-1.0, 1.0]
    assert read_json(RunLayout(run_dir).report("validate"))["proof"]["domain"]["high"] == 1.0


def _corpus_run(name: str, tmp_path):
    """The corpus model built as a user builds theirs (its model file and data in tmp_path), as a codesign.Run."""
    import warnings

    import codesign
    from qkeras_corpus import CORPUS, build_saved, corpus_data

    entry = next(entry for entry in CORPUS if entry.name == name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entry.build().save(tmp_path / "model.h5")
    np.savez(tmp_path / "data.npz", **corpus_data(entry))
    return codesign.Run(build_saved(entry, tmp_path))


@pytest.mark.slow
def test_an_auto_po2_kernel_is_proven_through_its_apply_alpha_and_stays_exact(tmp_path):
    """hls4ml applies an alpha='auto_po2' kernel's scales after the sums (ApplyAlpha), QKeras to the kernel first: with
    power-of-two scales both are exact, and the proof says so; 45,000 inputs (the quantizer's range, its rounding
    ties, the domain's far ends) agree, C++ emulation against QKeras."""
    run = _corpus_run("auto_po2_kernel", tmp_path)
    proof = run.validate().proof
    assert proof["status"] == "proven" and any(layer["kind"] == "ApplyAlpha" and layer["holds"] for layer in proof["layers"])
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-8, 8, (20_000, 10)),
        (np.round(rng.uniform(-5, 5, (20_000, 10)) * 32) + 0.5) / 32,
        rng.choice([proof["domain"]["low"], -4.1, 3.99, proof["domain"]["high"]], (5_000, 10)),
    ]).astype(np.float32)
    assert np.array_equal(run.emulate(x), np.asarray(run.predict_qkeras(x), dtype=np.float64))


@pytest.mark.slow
def test_a_proof_a_sample_contradicts_is_a_codesign_defect_never_a_claim(tmp_path, monkeypatch):
    """A proof that says 'proven' is replayed on inputs of its domain before it is written; an analysis that is wrong
    (here made to lie about a design that truly differs) ends as 'contradicted', the inputs saved, exit 1."""
    import codesign.proof
    from codesign.commands import build_run
    from codesign.errors import InternalError
    from codesign.layout import RunLayout, read_json

    real = codesign.proof.prove

    def lying(*args, **kwargs):
        proof = real(*args, **kwargs)
        proof.status, proof.why = "proven", None
        return proof

    monkeypatch.setattr(codesign.proof, "prove", lying)
    spec = copy.deepcopy(TINY_SPEC) | {"hls": {"precision": "ap_fixed<8,3>"}}
    with pytest.raises(InternalError, match="codesign's proof said proven, but .* inputs of its domain differ") as error:
        build_run(spec_from_dict(spec), tmp_path / "narrow", lambda _: None)
    assert error.value.exit_code == 1
    proof = read_json(RunLayout(tmp_path / "narrow").report("validate"))["proof"]
    assert proof["status"] == "contradicted" and proof["first_diverging_layer"]["name"]
    saved = np.load(tmp_path / "narrow" / proof["counterexample"])
    assert (saved["firmware"] != saved["qkeras"]).any(axis=1).all() and len(saved["x"]) > 0


@pytest.mark.slow
def test_an_apply_alpha_that_carries_the_next_quantizers_cast_is_checked_against_it(tmp_path):
    """Fuzz model 13 of seed 33 (Dense with an alpha kernel, then a QActivation whose cast hls4ml puts in the ApplyAlpha:
    its result type is the quantizer's): the ApplyAlpha's rounding is QKeras's quantizer on every value, so the finding
    holds (it used to fail as 'rounds where QKeras keeps them exact'); the model stays identical on its samples."""
    import warnings

    from codesign.fuzz import run_case
    from codesign.fuzz_models import random_recipe
    from codesign.layout import RunLayout, read_json

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recipe = random_recipe(33, 13, generation=1)  # the generator of 2026-12-02
    outcome = run_case(recipe, tmp_path / "case")
    assert outcome.kind == "exact", outcome.detail
    layers = read_json(RunLayout(tmp_path / "case" / "case").report("validate"))["proof"]["layers"]
    alpha = next(layer for layer in layers if layer["kind"] == "ApplyAlpha")
    assert alpha["holds"] and alpha["types"]["result_t"].startswith("fixed<5,1")


def test_a_kernel_coarser_than_integers_lifts_its_products_grid_and_the_model_is_proven(tmp_path):
    """quantized_bits(3,4) weights are multiples of 4: inputs of 6 fraction bits times them need 4, not 6, so an
    accumulator of the products' own grid is proven (it was unproven: the proof counted no fraction bit below the
    weight type's, which has none); 20,000 inputs agree, C++ emulation against QKeras."""
    run = _corpus_run("coarse_kernel", tmp_path)
    proof = run.validate().proof
    fc1 = next(layer for layer in proof["layers"] if layer["name"] == "fc1")
    assert proof["status"] == "proven" and fc1["holds"], proof["why"]
    x = np.random.default_rng(0).uniform(-9, 9, (20_000, 8)).astype(np.float32)
    assert np.array_equal(run.emulate(x), np.asarray(run.predict_qkeras(x), dtype=np.float64))


@pytest.mark.slow
@pytest.mark.parametrize("name, layer, narrow, condition", [("skip_add_stream", "merge", "ap_fixed<6,2>", "overflow"),
                                                            ("skip_concatenate", "merge", "ap_fixed<5,3>", "rounding"),
                                                            ("separable_conv2d", "sep1_depthwise", "ap_fixed<12,4>", "rounding"),
                                                            ("separable_conv1d", "sep1_depthwise", "ap_fixed<12,4>", "rounding"),
                                                            ("leaky_relu", "leaky", "ap_fixed<5,2,AP_RND_CONV,AP_SAT>", "rounding"),
                                                            ("cropping_stream", "crop", "ap_fixed<8,3>", "rounding")])
def test_merges_and_separable_halves_are_proven_and_one_typed_too_narrow_is_not(name, layer, narrow, condition, tmp_path):
    """hls4ml's Add (after io_stream's Clone of its input), Concatenate, the depthwise and pointwise halves it splits
    a separable convolution into, a leaky relu (checked value by value, with the next quantizer's cast hls4ml moved
    into it) and a cropping (the window Keras keeps) are bounded like the other layers: the model is proven and identical to QKeras on
    5,000 random inputs of the claim; with that layer's result type narrowed, the proof fails there and the
    counterexample search shows an input that breaks it."""
    import yaml

    from codesign.commands import build_run
    from codesign.errors import ValidationFailed
    from codesign.layout import RunLayout, read_json
    from qkeras_corpus import CORPUS, GRID

    entry = next(entry for entry in CORPUS if entry.name == name)
    run = _corpus_run(name, tmp_path)
    assert run.validate().proof["status"] == "proven"
    x = np.random.default_rng(0).uniform(-6, 6, (5_000, *entry.input_shape))
    x = (np.round(x / GRID) * GRID if entry.on_grid else x).astype(np.float32)  # without an input quantizer: the input type's grid
    assert np.array_equal(run.emulate(x), np.asarray(run.predict_qkeras(x), dtype=np.float64))
    spec = yaml.safe_load(RunLayout(run.path).config.read_text())
    spec["name"], spec["hls"]["layers"] = "narrow", {layer: {"result": narrow}}
    with pytest.raises(ValidationFailed):
        build_run(spec_from_dict(spec), tmp_path / "narrow", lambda _: None, to_step="validate")
    proof = read_json(RunLayout(tmp_path / "narrow").report("validate"))["proof"]
    assert [(finding["name"], finding["condition"]) for finding in proof["layers"] if not finding["holds"]] == [(layer, condition)]
    assert proof["status"] == "counterexample"


@pytest.mark.slow
def test_a_split_activation_holding_the_next_quantizers_cast_is_checked_against_both(tmp_path):
    """A QDense with activation='relu' and then a QActivation (fuzz seed 1345 model 9 with a relu): hls4ml splits the relu
    off as 'l1_relu' and, the quantizer's type on it, drops the QActivation. QKeras's function there is the quantizer of
    the relu, which the proof now compares with (it compared the quantizer alone, and stopped at 'l1_relu'): proven,
    identical on 30,000 random inputs of the claim; with 'l1_relu' typed narrower, the proof fails there first."""
    import warnings

    import yaml

    import codesign
    from codesign.commands import build_run
    from codesign.errors import ValidationFailed
    from codesign.fuzz import load_case, run_case
    from codesign.layout import RunLayout, read_json

    recipe = load_case(Path(__file__).parent / "fuzz_cases" / "quantizer_after_a_dense_with_its_own_activation.json")
    recipe["layers"][1]["activation"] = "relu"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = run_case(recipe, tmp_path / "case")
    assert outcome.kind == "exact" and "proof proven" in outcome.detail, outcome.detail
    run = codesign.Run(tmp_path / "case" / "case")
    proof = run.validate().proof
    relu = next(layer for layer in proof["layers"] if layer["name"] == "l1_relu")
    assert relu["holds"] and relu["types"]["result_t"].startswith("fixed<9,1,RND_CONV,SAT_SYM")
    x = np.random.default_rng(0).uniform(-0.5, 1.5, (30_000, *recipe["input"])).astype(np.float32)
    assert np.array_equal(run.emulate(x), np.asarray(run.predict_qkeras(x), dtype=np.float64))
    spec = yaml.safe_load(RunLayout(run.path).config.read_text())
    spec["name"], spec["hls"]["layers"] = "narrow", {"l1_relu": {"result": "ap_fixed<6,1>"}}
    with pytest.raises(ValidationFailed):
        build_run(spec_from_dict(spec), tmp_path / "narrow", lambda _: None, to_step="validate")
    proof = read_json(RunLayout(tmp_path / "narrow").report("validate"))["proof"]
    failing = [(finding["name"], finding["condition"]) for finding in proof["layers"] if not finding["holds"]]
    assert failing[0] == ("l1_relu", "rounding") and proof["status"] == "counterexample", failing


@pytest.mark.slow
def test_a_quantizer_in_no_firmware_layer_fails_the_proof_at_that_quantizer(tmp_path, monkeypatch):
    """The proof checks itself: a QActivation whose cast hls4ml merged into no layer (a QDense, a Dropout and a
    QActivation, with codesign's type for the merge withheld, as before it looked past Dropouts) is a failing finding at
    that quantizer and the counterexample replays; the proof said 'proven' while 100 of 100 samples differed."""
    import warnings

    import codesign.convert
    from codesign.fuzz import load_case, run_case
    from codesign.layout import RunLayout, read_json

    recipe = load_case(Path(__file__).parent / "fuzz_cases" / "quantizer_after_a_dropout.json")
    monkeypatch.setattr(codesign.convert, "_pin_linear_quantizers", lambda keras_model, config: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = run_case(recipe, tmp_path / "case")
    assert outcome.kind == "reasonless", outcome.detail
    proof = read_json(RunLayout(tmp_path / "case" / "case").report("validate"))["proof"]
    failing = [(finding["name"], finding["kind"], finding["condition"]) for finding in proof["layers"] if not finding["holds"]]
    assert failing == [("l2", "QActivation", "rounding")] and proof["status"] == "counterexample", (failing, proof["status"])
    assert "no firmware layer" in proof["layers"][-1]["why"]


@pytest.mark.slow
def test_binary_and_ternary_activations_are_proven_by_their_steps_and_hls4mls_threshold_on_the_grid_is_not(tmp_path, monkeypatch):
    """hls4ml's binary_tanh and its thresholded ternary are step functions of -1, 0, +1: proven against QKeras's
    quantizer on every value, and the same on both sides of each step alone (GRID_LIMIT forced down); identical to
    QKeras on 30,000 random inputs, a ternary threshold on the grid (0.25) included, whose threshold_hi codesign puts one
    step below it, and a binary network (float batch normalizations merged with binary activations, xnor bits into
    binary Dense layers). hls4ml's own threshold_hi at 0.25 (x > 0.25 where QKeras takes |x| >= 0.25) fails at 0.25, and
    its floored binary thresholds (one step below where QKeras's float32 normalization turns positive) fail there."""
    import warnings

    import codesign
    from codesign.layout import RunLayout
    from codesign.model import load_keras_model
    from codesign.proof import prove
    from codesign.vectorized import VectorizedEmulator
    from qkeras_corpus import CORPUS, build_saved, corpus_data

    def built(name: str) -> Path:
        entry = next(entry for entry in CORPUS if entry.name == name)
        folder = tmp_path / name
        folder.mkdir()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entry.build().save(folder / "model.h5")
        np.savez(folder / "data.npz", **corpus_data(entry))
        return build_saved(entry, folder)

    x = (np.round(np.random.default_rng(0).uniform(-6, 6, (30_000, 10)) * 64) / 64).astype(np.float32)
    runs = {name: built(name) for name in ("binary_kwarg", "ternary_activation", "ternary_threshold_on_the_grid", "binary_network")}
    for name, path in runs.items():
        run = codesign.Run(path)
        assert run.validate().proof["status"] == "proven", name
        assert np.array_equal(run.emulate(x), np.asarray(run.predict_qkeras(x), dtype=np.float64)), name
    monkeypatch.setattr(codesign.proof, "GRID_LIMIT", 8)  # the other layers' checks give up; the steps' are judged alone
    steps = {"binary_kwarg": "fc1_binary", "ternary_activation": "bnbt_act1_scale", "ternary_threshold_on_the_grid": "bnbt_act1_scale",
             "binary_network": "bnbt_bn2"}

    def step_finding(name: str):
        layout = RunLayout(runs[name])
        return next(finding for finding in prove(layout.hls_dir, load_keras_model(layout.qkeras_model)).layers if finding.name == steps[name])

    for name in runs:
        assert step_finding(name).holds, (name, step_finding(name).why)
    layout = RunLayout(runs["ternary_threshold_on_the_grid"])
    layer = next(layer for layer in VectorizedEmulator(layout.hls_dir).layers if layer["name"] == "bnbt_act1_scale")
    weights = layout.hls_dir / "firmware" / "weights" / f"{layer['weights']['threshold_hi']}.txt"
    weights.write_text(", ".join(["0.25"] * len(weights.read_text().split(","))))  # hls4ml's floor of 0.25
    finding = step_finding("ternary_threshold_on_the_grid")
    assert (finding.holds, finding.condition, finding.witness) == (False, "rounding", 0.25), finding.why
    layout = RunLayout(runs["binary_network"])  # a batch normalization merged with a binary: hls4ml floors -bias / scale
    layer = next(layer for layer in VectorizedEmulator(layout.hls_dir).layers if layer["name"] == "bnbt_bn2")
    weights = layout.hls_dir / "firmware" / "weights" / f"{layer['weights']['threshold']}.txt"
    ours = np.array([float(value) for value in weights.read_text().split(",")])
    step = 2.0 ** -Fixed.of(layer["types"]["threshold_t"]).frac
    weights.write_text(", ".join(str(value) for value in ours - step))  # hls4ml's floor, where -bias / scale is off the grid
    finding = step_finding("binary_network")
    assert (finding.holds, finding.condition) == (False, "rounding") and finding.witness in set(ours - step), finding.why


@pytest.mark.slow
def test_a_padded_convolution_of_xnor_bits_fails_the_proof_and_is_named_where_no_repair_makes_them_numbers(tmp_path, monkeypatch):
    """hls4ml pads a binary activation's xnor bits with 0, which the convolution's binary product reads as -1 where Keras
    pads with 0 (fuzz seed 1479 model 4: the proof said proven, 72 of 100 samples off). With the repair that writes them
    as numbers held back, the proof fails that convolution (padding) and the reason names it; with it, the case is exact
    and proven (tests/fuzz_cases/a_padded_convolution_of_a_binary_activation.json)."""
    from codesign import repairs
    from codesign.fuzz import load_case, run_case

    monkeypatch.setattr(repairs, "padded", lambda attributes: False)
    outcome = run_case(load_case(Path(__file__).parent / "fuzz_cases" / "a_padded_convolution_of_a_binary_activation.json"), tmp_path / "case")
    assert outcome.kind == "reasoned", outcome.detail
    assert "hls4ml pads the binary activation this convolution reads as xnor bits" in outcome.detail


def test_a_power_of_two_kernel_whose_shifts_lose_bits_fails_the_proof_where_no_repair_stores_it_as_numbers(tmp_path, monkeypatch):
    """hls4ml shifts the input by each quantized_po2 weight inside ap_fixed<2(E + W), E + W>, which drops the bits of
    small weights' products (fuzz seed 101 model 12, every sample off). With the repair that stores
    such a kernel as numbers held back, the firmware differs and the proof fails that Dense on the shift; with it, the
    case is exact and proven (tests/fuzz_cases/power_of_two_kernel_products_truncated.json)."""
    from codesign import repairs
    from codesign.fuzz import load_case, run_case

    monkeypatch.setattr(repairs, "shifts_lost", lambda data, exponent_bits, shifts: [])
    outcome = run_case(load_case(Path(__file__).parent / "fuzz_cases" / "power_of_two_kernel_products_truncated.json"), tmp_path / "case")
    assert outcome.kind != "exact", outcome.detail
    proof = read_json(RunLayout(tmp_path / "case" / "case").report("validate"))["proof"]
    assert proof["status"] != "proven" and "(weight_exponential), which cannot hold x * 2^" in proof["why"], proof["why"]
