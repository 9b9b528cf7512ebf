"""The differential fuzzer (codesign/fuzz.py): its generator is reproducible, its shrinker only shrinks, a small seed
set of generated models ends well, and every failure it found and that was fixed stays fixed (tests/fuzz_cases/)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.fuzz import FAILURES, GOOD, load_case, run_case
from codesign.fuzz_models import FLAT_MERGES, build_model, output_shape, random_recipe, recipe_data, reshaped_shape, smaller

CASES = sorted((Path(__file__).parent / "fuzz_cases").glob("*.json"))
SEED_SET = [(11, index) for index in range(6)]  # CI's small seed set; benchmarks/fuzz.py runs hundreds


def _size(recipe: dict) -> tuple:
    return (len(recipe["layers"]), bool(recipe.get("input_quantizer")), recipe.get("outputs", 1), int(np.prod(recipe["input"])),
            sum(layer.get("filters", 0) + layer.get("units", 0) for layer in recipe["layers"]))


def test_a_seed_and_an_index_always_give_the_same_model_and_data():
    recipe = random_recipe(3, 5)
    assert recipe == random_recipe(3, 5) and recipe != random_recipe(3, 6) and recipe != random_recipe(4, 5)
    first, second = build_model(recipe), build_model(json.loads(json.dumps(recipe)))  # a recipe saved as JSON rebuilds it
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(recipe_data(recipe).values(), recipe_data(recipe).values()))
    x = recipe_data(recipe)["x_test"]
    assert np.array_equal(np.round(x * 256) / 256, x)  # on the 2^-8 grid


def test_the_generator_covers_the_space_it_claims():
    recipes = [random_recipe(seed, index) for seed in range(3) for index in range(14)]  # 42: every kind appears from 12 a seed on
    kinds = {layer["kind"] for recipe in recipes for layer in recipe["layers"]}
    assert {"conv", "separable", "depthwise", "pool", "global_pool", "zero_pad", "qbn", "float_bn", "activation", "relu", "residual",
            "concat", "dense", "dropout", "leaky_relu", "crop", "merge", "linear", "prelu", "step_block", "reshape", "permute", "training_only"} <= kinds
    layers = [layer for recipe in recipes for layer in recipe["layers"]]
    assert {layer["kind"] for layer in layers if layer.get("float")} >= {"conv", "dense"}  # a Keras layer without quantizers
    assert all("kernel_quantizer" not in layer and "activation" not in layer for layer in layers if layer.get("float"))
    assert {layer["op"] for layer in layers if layer["kind"] == "merge"} >= {"average", "multiply", "subtract"}
    assert len({layer["alpha"] for layer in layers if layer["kind"] == "leaky_relu"}) >= 2  # a LeakyReLU's alpha, Keras's default among them
    assert {layer["kind"] for layer in layers if "activation" in layer} == {"conv", "dense"}  # a quantizer as the layer's activation=
    assert any(layer.get("use_bias") is False for layer in layers)
    assert any("negative_slope" in str(layer.get("quantizer", "")) + str(layer.get("activation", "")) for layer in layers)
    assert {len(recipe["input"]) for recipe in recipes} == {1, 2, 3}
    assert {recipe["io_type"] for recipe in recipes} == {"io_parallel", "io_stream"}
    assert {recipe["head"] for recipe in recipes} == {"linear", "softmax", "sigmoid"}
    assert {1, 2, 64} <= {recipe["reuse_factor"] for recipe in recipes}
    assert {recipe["backend"] for recipe in recipes} == {"Vitis", "Vivado"}
    assert all(len(output_shape(recipe)) == 1 for recipe in recipes)


def test_the_shrinker_only_proposes_smaller_models_that_fit():
    recipe = random_recipe(1, 8)
    proposals = smaller(recipe)
    assert proposals
    for proposal in proposals:
        assert _size(proposal) <= _size(recipe) and proposal != recipe
        build_model(proposal)


def test_the_shrinker_keeps_a_failure_at_the_same_kind_of_layer(tmp_path, monkeypatch):
    """Seed 1314's reasonless ApplyAlpha shrank, by the kind of failure alone, to an unrelated reasonless Dense."""
    import codesign.fuzz
    from codesign.fuzz import Outcome, shrink

    recipe = random_recipe(1, 8)
    elsewhere = Outcome("reasonless", "a Dense differs", where="Dense")
    monkeypatch.setattr(codesign.fuzz, "run_case", lambda candidate, folder, head="host": elsewhere)
    assert shrink(recipe, Outcome("reasonless", "an ApplyAlpha differs", where="ApplyAlpha"), tmp_path, lambda _: None)[0] == recipe
    smallest, outcome = shrink(recipe, Outcome("reasonless", "a Dense differs", where="Dense"), tmp_path, lambda _: None)
    assert _size(smallest) < _size(recipe) and outcome.where == "Dense"


def test_a_model_with_two_outputs_is_built_exact_on_both(tmp_path):
    """Generation 7's second output, a Dense of its own beside the logits (seed 1389 model 4, refused before): both
    compared side by side, in the model's order, exact and proven."""
    recipe = random_recipe(1389, 4, generation=7)
    assert recipe["outputs"] == 2 and recipe["second_output"]["kind"] == "dense"
    outcome = run_case(recipe, tmp_path / "two")
    report = json.loads((tmp_path / "two" / "case" / "reports" / "validate.json").read_text())
    assert outcome.kind == "exact" and report["proof"]["status"] == "proven", outcome.detail
    assert report["outputs"] == [{"name": "l4", "size": 2, "heads": []}, {"name": "second_head", "size": 2, "heads": []}]
    assert report["outputs_per_sample"] == 4


def test_the_generations_before_seven_draw_the_same_models():
    """Generation 7 draws a second output more often: a recipe of generation 6 is the same as before, and where
    generation 7 draws one output, the same model."""
    before, now = [random_recipe(1389, index, generation=6) for index in range(40)], [random_recipe(1389, index, generation=7) for index in range(40)]
    assert not any("second_output" in recipe for recipe in before) and sum(recipe["outputs"] == 2 for recipe in now) == 4
    assert all(old == new for old, new in zip(before, now) if new["outputs"] == 1)
    assert all({**new, "second_output": None} == {**old, "outputs": 2, "second_output": None} for old, new in zip(before, now) if new["outputs"] == 2)


@pytest.mark.parametrize("generation, drawn", [(10, "reuse_factor"), (11, "backend")])
def test_generations_ten_and_eleven_draw_the_models_before_with_one_setting_more(generation, drawn):
    before = [random_recipe(1410, index, generation=generation - 1) for index in range(40)]
    now = [random_recipe(1410, index, generation=generation) for index in range(40)]
    assert all({key: value for key, value in new.items() if key != drawn} == old for old, new in zip(before, now))
    assert drawn not in before[0] and len({recipe[drawn] for recipe in now}) > 1


def test_generation_twelve_draws_the_models_before_some_of_their_images_wider_and_windows_rectangular():
    before = [random_recipe(1410, index, generation=11) for index in range(40)]
    now = [random_recipe(1410, index, generation=12) for index in range(40)]
    changed = [(old, new) for old, new in zip(before, now) if old != new]
    assert 5 <= len(changed) and all(len(old["input"]) == 3 for old, _ in changed)
    assert all(new["input"][0] == old["input"][0] and new["input"][1] > old["input"][1] and new["input"][2] == old["input"][2]
               and [layer["kind"] for layer in new["layers"]] == [layer["kind"] for layer in old["layers"]] for old, new in changed)
    assert any(isinstance(layer.get("kernel"), list) and layer["kernel"][0] != layer["kernel"][1] for _, new in changed for layer in new["layers"])
    assert all(len(output_shape(new)) == 1 for _, new in changed)


def test_generation_thirteen_draws_the_models_before_some_deeper_and_some_quantizers_wider():
    before = [random_recipe(1410, index, generation=12) for index in range(24)]
    now = [random_recipe(1410, index, generation=13) for index in range(24)]
    forms = re.compile(r"(quantized_\w+|binary|ternary)\(")
    widths = []
    for old, new in zip(before, now):
        assert {key: value for key, value in new.items() if key not in ("layers", "input_quantizer", "second_output")} == \
            {key: value for key, value in old.items() if key not in ("layers", "input_quantizer", "second_output")}
        kinds, drawn = [layer["kind"] for layer in old["layers"]], iter(layer["kind"] for layer in new["layers"])
        assert all(kind in drawn for kind in kinds)  # the layers before, in order, some drawn between
        if len(new["layers"]) == len(old["layers"]):  # only widths redrawn: the same quantizers in the same forms
            assert forms.findall(json.dumps(new)) == forms.findall(json.dumps(old))
        widths += [int(bits) for bits in re.findall(r"quantized_\w+\((\d+)", json.dumps(new))]
        assert len(output_shape(new)) == 1
    assert sum(len(new["layers"]) > len(old["layers"]) for old, new in zip(before, now)) >= 5
    assert max(widths) >= 14 and min(widths) == 2
    assert all(int(bits) <= 11 for recipe in now for bits in re.findall(r"quantized_po2\((\d+)", json.dumps(recipe)))


def test_generation_fourteen_draws_the_models_before_some_with_flat_layers_right_after_their_flatten():
    before = [random_recipe(1410, index, generation=13) for index in range(24)]
    now = [random_recipe(1410, index, generation=14) for index in range(24)]
    after = []
    for old, new in zip(before, now):
        assert {key: value for key, value in new.items() if key != "layers"} == {key: value for key, value in old.items() if key != "layers"}
        kinds, drawn = [layer["kind"] for layer in old["layers"]], [layer["kind"] for layer in new["layers"]]
        if drawn != kinds:
            flatten = kinds.index("flatten") + 1
            inserted = len(drawn) - len(kinds)
            assert 1 <= inserted <= 2 and drawn[:flatten] + drawn[flatten + inserted:] == kinds  # only right after the Flatten
            after.append(drawn[flatten])
        assert len(output_shape(new)) == 1
    assert len(after) >= 6 and any(kind != "dense" for kind in after)


def test_generation_fifteen_draws_the_models_before_some_with_a_flat_merge():
    before = [random_recipe(1410, index, generation=14) for index in range(24)]
    now = [random_recipe(1410, index, generation=15) for index in range(24)]
    merged = []
    for old, new in zip(before, now):
        assert {key: value for key, value in new.items() if key != "layers"} == {key: value for key, value in old.items() if key != "layers"}
        kinds, drawn = [layer["kind"] for layer in old["layers"]], [layer["kind"] for layer in new["layers"]]
        if drawn != kinds:
            position = next(index for index, (a, b) in enumerate(zip(drawn, kinds + [None])) if a != b)
            assert drawn[:position] + drawn[position + 1:] == kinds and drawn[position] in FLAT_MERGES  # one merge, inserted
            assert "flatten" not in kinds or position > kinds.index("flatten")  # in the flat trunk
            merged.append(drawn[position])
        assert len(output_shape(new)) == 1
    assert len(merged) >= 5 and len(set(merged)) >= 2


def test_generation_sixteen_draws_the_models_before_some_reshaped_permuted_or_concatenated_along_a_spatial_axis():
    before = [random_recipe(1410, index, generation=15) for index in range(16)]
    now = [random_recipe(1410, index, generation=16) for index in range(16)]
    drawn = set()
    for old, new in zip(before, now):
        assert {key: value for key, value in new.items() if key != "layers"} == {key: value for key, value in old.items() if key != "layers"}
        added = [layer for layer in new["layers"] if layer["kind"] in ("reshape", "permute") or "axis" in layer]
        if not added:
            assert new == old
            continue
        drawn |= {(layer["kind"], layer.get("op")) for layer in added}
        flat = {"kind": "reshape", "op": "flat"}
        kept = [{"kind": "flatten"} if layer == flat else layer for layer in new["layers"] if layer == flat or layer not in added]
        flat_input = len(old["input"]) == 1
        if flat_input:  # a 1D trunk first: the reshape, its layers, a Flatten; then the model before
            assert new["layers"][0] == {"kind": "reshape", "op": "1d"} and kept[kept.index({"kind": "flatten"}) + 1:] == old["layers"]
        else:  # one layer inserted, and maybe the Flatten a Reshape to flat
            assert kept == old["layers"]
        assert len(output_shape(new)) == 1
    assert sum(new != old for new, old in zip(now, before)) >= 4 and len({kind for kind, _ in drawn}) >= 2


def test_generation_seventeen_draws_the_models_before_some_with_a_nested_block_or_a_layer_that_only_acts_in_training(tmp_path):
    """One model in four each: a run of layers in a nested model (built as one, loaded flat by codesign) and a
    training-only layer (taken out when loaded); the rest of each model is generation 16's, and the shrinker can
    call a nested model's layers in the outer model."""
    import tensorflow as tf

    from codesign.model import load_keras_model

    before = [random_recipe(1471, index, generation=16) for index in range(14)]
    now = [random_recipe(1471, index, generation=17) for index in range(14)]
    nested = noisy = 0
    for old, new in zip(before, now):
        assert {key: value for key, value in new.items() if key != "layers"} == {key: value for key, value in old.items() if key != "layers"}
        kept = [{key: value for key, value in layer.items() if key != "nested"} for layer in new["layers"] if layer["kind"] != "training_only"]
        assert kept == old["layers"]
        nested += any(layer.get("nested") for layer in new["layers"])
        noisy += any(layer["kind"] == "training_only" for layer in new["layers"])
    assert nested >= 1 and noisy >= 2
    recipe = next(recipe for recipe in now if any(layer.get("nested") for layer in recipe["layers"]))
    assert not recipe["layers"][-1].get("nested")  # the last Dense: a second output reads its input
    model = build_model(recipe)
    assert sum(isinstance(layer, tf.keras.Model) for layer in model.layers) == 1
    model.save(tmp_path / "m.h5")
    assert not any(isinstance(layer, tf.keras.Model) for layer in load_keras_model(tmp_path / "m.h5").layers)
    assert any(not any(layer.get("nested") for layer in smaller_one["layers"]) for smaller_one in smaller(recipe))


def test_a_generated_reshape_keeps_every_value_and_fits_only_its_rank():
    assert reshaped_shape("rows", [3, 4, 2]) == (12, 2) and reshaped_shape("columns", [3, 4, 2]) == (3, 8)
    assert reshaped_shape("swap", [3, 4, 2]) == (4, 3, 2) and reshaped_shape("image", [5, 2]) == (5, 2, 1)
    assert reshaped_shape("1d", [7]) == (7, 1) and reshaped_shape("flat", [3, 4, 2]) == (24,)
    with pytest.raises(ValueError, match="rank 2"):
        reshaped_shape("rows", [5, 2])


def test_a_layer_name_that_is_no_cpp_identifier_is_refused_before_g_plus_plus(tmp_path):
    import tensorflow as tf

    inputs = tf.keras.Input((4,), name="x")
    outputs = tf.keras.layers.Dense(2, name="1_relu_1")(inputs)
    tf.keras.Model(inputs, outputs).save(tmp_path / "m.h5")
    x = np.zeros((8, 4), np.float32)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.zeros(8), x_test=x, y_test=np.zeros(8))
    result = CliRunner().invoke(main, ["build", "--model", str(tmp_path / "m.h5"), "--data", str(tmp_path / "d.npz"), "--output-root",
                                       str(tmp_path / "runs"), "--precision", "ap_fixed<16,6>"])
    assert result.exit_code == 2, result.output
    assert "layer '1_relu_1'" in result.stderr and "C++" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs" / "m" / "hls").exists()


@pytest.mark.slow
@pytest.mark.parametrize("seed, index", SEED_SET, ids=lambda value: str(value))
def test_generated_models_end_exact_reasoned_or_refused(seed, index, tmp_path):
    outcome = run_case(random_recipe(seed, index), tmp_path / "case")
    assert outcome.kind in GOOD, f"{outcome.kind}: {outcome.detail}"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda path: path.stem)
def test_what_the_fuzzer_found_stays_fixed(case, tmp_path):
    saved = json.loads(case.read_text())
    outcome = run_case(load_case(case), tmp_path / "case")
    assert outcome.kind not in FAILURES, f"{outcome.kind}: {outcome.detail}"
    other = saved.get("or_on_another_cpu")  # QKeras's float32 sums round as TensorFlow's kernels on the CPU add them
    if other and outcome.kind == other["kind"]:
        assert f"proof {other['proof']}" in outcome.detail, outcome.detail
        return
    assert outcome.kind == saved["expected"], f"{outcome.kind}: {outcome.detail}"
    if "proof" in saved:  # the proof's status the fix must reach too
        assert f"proof {saved['proof']}" in outcome.detail, outcome.detail
    if "refusal" in saved:  # what the one line (or the reason) must name
        assert saved["refusal"] in outcome.detail, outcome.detail


@pytest.mark.slow
def test_the_fuzz_command_prints_a_table_and_a_summary_and_exits_0_without_failures(tmp_path):
    result = CliRunner().invoke(main, ["fuzz", "--n", "1", "--seed", "11", "--out", str(tmp_path / "fuzz")])  # one model: the seed set builds more
    assert result.exit_code == 0, result.output
    assert "summary: exact" in result.output and "internal error 0, reasonless 0, contradicted 0" in result.output
    report = json.loads((tmp_path / "fuzz" / "fuzz.json").read_text())
    assert len(report["rows"]) == 1 and sum(report["summary"].values()) == 1


def test_separable_and_depthwise_kernels_scaled_other_than_by_powers_of_two_are_refused_before_conversion():
    """QKeras 0.9's default 'auto_po2' scale is folded into the kernel (kernel_scales.py), 'auto' is refused."""
    from codesign.refusals import scaled_separable_kernels

    def model(kind: str, kernel: str):
        return build_model({"seed": 1, "index": 1, "input": [6, 6, 2], "input_quantizer": None, "head": "linear", "layers": [
            {"kind": kind, "filters": 2, "kernel": 3, "strides": 1, "padding": "same", "kernel_quantizer": kernel, "bias_quantizer": "quantized_bits(6,1,alpha=1)"},
            {"kind": "flatten"}, {"kind": "dense", "units": 2, "kernel_quantizer": "quantized_bits(6,1,alpha=1)", "bias_quantizer": "quantized_bits(6,1,alpha=1)"}]})

    assert "layer 'l0' (QSeparableConv2D)" in scaled_separable_kernels(model("separable", "quantized_bits(6,1,alpha='auto')"))
    assert scaled_separable_kernels(model("separable", "quantized_bits(6,1,alpha=1)")) is None
    assert scaled_separable_kernels(model("separable", "quantized_bits(6,1)")) is None  # auto_po2: folded
    assert "writes the float kernel" in scaled_separable_kernels(model("depthwise", "quantized_bits(6,1,alpha='auto')"))  # converted, not quantized
    assert scaled_separable_kernels(model("depthwise", "quantized_bits(6,1,alpha=1)")) is None
    assert scaled_separable_kernels(model("depthwise", "quantized_bits(6,1)")) is None
