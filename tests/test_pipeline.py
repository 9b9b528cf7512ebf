"""Real builds end to end: train, hls4ml convert, g++ compile, bit-exact validation, reruns and the CLI."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from codesign.commands import build_run, validate_run
from codesign.cli import main
from codesign.config import spec_from_dict
from codesign.convert import RECORDED_BEFORE_KEYS, candidate_keyed
from codesign.errors import ValidationFailed
from codesign.fixed import Fixed
from codesign.layout import RunLayout, read_json
from conftest import BASE_ALL_LAYERS

pytestmark = pytest.mark.slow


def test_tiny_build_is_bit_exact(tiny_run):
    run_dir, messages = tiny_run
    layout = RunLayout(run_dir)
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] is True
    assert report["samples"] == 360 and report["mismatched_samples"] == 0 and report["max_abs_diff"] == 0.0
    assert report["argmax_agreement"] == 1.0
    assert report["accuracy"]["qkeras"] == report["accuracy"]["emulation"]
    assert 0.1 < report["accuracy"]["float"] <= 1.0
    assert report["head"] == {"function": "softmax", "layer": "softmax", "runs_on": "host"} and report["first_diverging_layer"] is None
    emulators = report["emulators"]
    assert emulators["vectorized"]["used"] and emulators["vectorized"]["samples"] == 360
    assert emulators["cpp"]["samples"] == 300 and emulators["cpp"]["identical_to_vectorized"] is True
    assert any("vectorized emulation: 360 samples" in line for line in messages)
    assert any("emulated 300/300" in line for line in messages)


def test_run_directory_layout_and_manifest(tiny_run):
    run_dir, _ = tiny_run
    layout = RunLayout(run_dir)
    manifest = read_json(layout.manifest)
    assert manifest["complete"] is True
    assert [name for name in manifest["steps"]] == ["train", "convert", "estimate", "compile", "validate", "rtl", "bench", "report"]
    for record in manifest["steps"].values():
        assert record["status"] == "ok" and record["seconds"] >= 0 and record["inputs"]
    assert manifest["versions"]["hls4ml"] == "1.3.0" and manifest["versions"]["tensorflow"] == "2.14.1"
    assert (layout.hls_dir / "build_prj.tcl").exists() and (layout.hls_dir / "firmware" / "myproject.cpp").exists()
    assert layout.qkeras_model.exists() and layout.float_model.exists()
    saved = yaml.safe_load(layout.config.read_text())
    assert spec_from_dict(saved).digest() == manifest["spec_digest"]
    conversion = read_json(layout.report("convert"))
    assert conversion["conversion"] == "hls4ml bit_exact=True"
    assert {row["name"] for row in conversion["layers"]} >= {"conv1", "fc1", "output"}


def test_rerun_skips_unchanged_steps_and_from_reruns(tiny_run, tmp_path, monkeypatch):
    """An unchanged run is only read; validate reruns from validate; a codesign upgrade whose refit changed the
    shipped estimator constants estimates the run again (no estimate is left from the old fit), training and
    converting nothing again."""
    import codesign
    from codesign.commands import estimate_target
    from codesign.estimate import model

    run_dir = tmp_path / "tiny"  # a copy: validate_run rewrites reports, and tiny_run is read-only
    shutil.copytree(tiny_run[0], run_dir)
    spec = spec_from_dict(yaml.safe_load(RunLayout(run_dir).config.read_text()))
    messages: list[str] = []
    build_run(spec, run_dir, messages.append)  # a moved run recompiles once: the library reads weights from its folder
    assert "[compile]" in messages and "[train] up to date, skipped" in messages
    messages.clear()
    build_run(spec, run_dir, messages.append)
    assert [line for line in messages if line.startswith("[")] == [
        f"[{step}] up to date, skipped" for step in ("train", "convert", "estimate", "compile", "validate", "rtl", "bench", "report")
    ]
    messages.clear()
    validate_run(run_dir, messages.append)
    assert "[validate]" in messages and not any(line.startswith("[train]") for line in messages)
    refit = json.loads(model.CONSTANTS_PATH.read_text())
    refit["ff"]["base"] += 1.0
    (tmp_path / "constants.json").write_text(json.dumps(refit))
    monkeypatch.setattr(model, "CONSTANTS_PATH", tmp_path / "constants.json")
    messages.clear()
    build_run(spec, run_dir, messages.append)
    assert "[estimate]" in messages and "[train] up to date, skipped" in messages and "[convert] up to date, skipped" in messages, messages
    refit["ff"]["base"] += 1.0  # then `codesign estimate RUN` alone (or after `codesign calibrate`): the steps after it stay valid
    (tmp_path / "constants.json").write_text(json.dumps(refit))
    messages.clear()
    estimate_target(run_dir, {}, None, messages.append)
    steps = json.loads(RunLayout(run_dir).manifest.read_text())["steps"]
    assert "[estimate]" in messages and steps["compile"]["status"] == steps["validate"]["status"] == "ok", {k: v["status"] for k, v in steps.items()}
    assert "bit-exact" in repr(codesign.Run(run_dir))  # it read "the build did not finish (step compile, validate not done)"


def test_hls_change_reruns_from_convert_only(tiny_run, tmp_path):
    source, _ = tiny_run
    run_dir = tmp_path / "copy"
    shutil.copytree(source, run_dir)
    (run_dir / ".lock").unlink(missing_ok=True)
    data = yaml.safe_load(RunLayout(run_dir).config.read_text())
    data["hls"]["strategy"] = "Resource"
    data["hls"]["reuse_factor"] = 2
    messages: list[str] = []
    build_run(spec_from_dict(data), run_dir, messages.append)
    steps = [line for line in messages if line.startswith("[") and "done" not in line]
    assert steps == ["[train] up to date, skipped", "[convert]", "[estimate]", "[compile]", "[validate]", "[rtl]", "[bench]", "[report]"]
    assert read_json(RunLayout(run_dir).report("validate"))["bit_exact"] is True
    assert validate_run(run_dir, lambda _: None)["bit_exact"] is True  # the rebuilt emulation still finds its weights


@pytest.mark.parametrize("recorded", ["key", "name before keys", "unknown"])
def test_an_older_run_estimates_and_validates_after_a_candidate_is_renamed(tiny_run, tmp_path, recorded):
    """convert.json records the candidate's stable key: rewording a display name leaves older runs working; a run
    from before keys is found by the name it recorded; an unknown candidate is a one-line run-directory error."""
    from codesign.commands import estimate_target
    from codesign.errors import RunDirError

    run_dir = tmp_path / "tiny"  # a copy: convert.json is rewritten, and tiny_run is read-only
    shutil.copytree(tiny_run[0], run_dir)
    build_run(spec_from_dict(yaml.safe_load(RunLayout(run_dir).config.read_text())), run_dir, lambda _: None)  # moved: recompiles once
    path = RunLayout(run_dir).report("convert")
    report = read_json(path)
    kept = report["candidate"]
    report["conversion"] = "a label reworded since"
    if recorded == "name before keys":
        report["conversion"] = next(name for name, key in RECORDED_BEFORE_KEYS.items() if key == kept)
    if recorded != "key":
        del report["candidate"]
    path.write_text(json.dumps(report))
    if recorded == "unknown":
        with pytest.raises(RunDirError, match="convert.json: the type candidate 'a label reworded since'"):
            estimate_target(run_dir, {"reuse_factor": 2}, None, lambda _: None)
        return
    estimate = estimate_target(run_dir, {}, None, lambda _: None)
    what_if = estimate_target(run_dir, {"reuse_factor": 2}, None, lambda _: None)
    assert estimate["total"]["lut"] > 0 and what_if["settings"]["conversion"] == candidate_keyed(kept).name
    assert validate_run(run_dir, lambda _: None)["bit_exact"] is True


def test_training_is_reproducible(tiny_run, tiny_spec_dict):
    from codesign.data import load_digits
    from codesign.model import load_keras_model
    from codesign.train import train_models

    run_dir, _ = tiny_run
    spec = spec_from_dict(tiny_spec_dict)
    retrained, _, _ = train_models(spec, load_digits(0.2, seed=spec.training.seed), lambda _: None)
    saved = load_keras_model(RunLayout(run_dir).qkeras_model)
    for first, second in zip(retrained.get_weights(), saved.get_weights()):
        assert np.array_equal(first, second)


def test_narrow_accumulator_fails_and_names_the_layer(tmp_path, tiny_spec_dict):
    tiny_spec_dict["hls"] = {"layers": {"fc1": {"accum": "ap_fixed<6,2>"}}}
    with pytest.raises(ValidationFailed, match="first diverging layer: fc1"):
        build_run(spec_from_dict(tiny_spec_dict), tmp_path / "narrow", lambda _: None)
    layout = RunLayout(tmp_path / "narrow")
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] is False and report["mismatched_samples"] > 0
    assert report["first_diverging_layer"]["name"] == "fc1"
    manifest = read_json(layout.manifest)
    assert manifest["complete"] is False and manifest["steps"]["validate"]["status"] == "failed"
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "narrow")])
    assert result.exit_code == 3
    assert "not bit-exact" in result.output and "fc1" in result.output


@pytest.mark.parametrize(
    ("io_type", "batchnorm", "conversion"),
    [
        ("io_parallel", True, "quantizer-derived types"),
        ("io_stream", True, "quantizer-derived types"),
        ("io_stream", False, "hls4ml bit_exact=True"),
    ],
)
def test_every_layer_type_is_bit_exact(tmp_path, io_type, batchnorm, conversion):
    layers = [layer for layer in copy.deepcopy(BASE_ALL_LAYERS) if batchnorm or layer["type"] != "batchnorm"]
    spec = spec_from_dict(
        {
            "name": "all_layers",
            "model": {"layers": layers},
            "quantization": {"activations": {"bits": 8, "integer": 2}},
            "training": {"epochs": 2},
            "hls": {"io_type": io_type},
        }
    )
    build_run(spec, tmp_path / "run", lambda _: None)
    layout = RunLayout(tmp_path / "run")
    assert read_json(layout.report("convert"))["conversion"].startswith(conversion)
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] and report["mismatched_samples"] == 0 and report["samples"] == 360
    vectorized = report["emulators"]["vectorized"]
    assert not vectorized["used"] and vectorized["reason"] == "Average pooling of layer 'avg1'"
    assert report["emulators"]["cpp"]["samples"] == 360  # the C++ emulation took the whole test set instead


def test_hls4ml_default_policy_reports_without_failing(tmp_path, tiny_spec_dict):
    tiny_spec_dict["hls"] = {"precision": "hls4ml-default"}
    build_run(spec_from_dict(tiny_spec_dict), tmp_path / "default", lambda _: None)
    layout = RunLayout(tmp_path / "default")
    report = read_json(layout.report("validate"))
    assert report["policy"] == "hls4ml-default"
    assert read_json(layout.report("convert"))["conversion"] == "model-wide fixed<16,6>"
    assert read_json(layout.manifest)["complete"] is True
    assert report["argmax_agreement"] > 0.5


def test_cli_builds_a_model_trained_outside_codesign(tmp_path):
    """A user's own QKeras model and .npz, never seen by codesign's trainer."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(300, 12)).astype(np.float32)
    y = (x[:, :4].sum(axis=1) > 0).astype(np.int64) + (x[:, 4] > 0.5)
    np.savez(tmp_path / "data.npz", x_train=x[:240], y_train=y[:240], x_test=x[240:], y_test=y[240:])
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((12,), name="features")
    h = QActivation(quantized_bits(10, 2, alpha=1), name="q_in")(inputs)
    h = QDense(8, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="d1")(h)
    h = QActivation(quantized_relu(6, 2), name="r1")(h)
    out = QDense(3, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="d2")(h)
    model = tf.keras.Model(inputs, out)
    model.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:240], y[:240], epochs=3, verbose=0)
    model.save(tmp_path / "mine.h5")

    result = CliRunner().invoke(
        main,
        ["build", "--model", str(tmp_path / "mine.h5"), "--data", str(tmp_path / "data.npz"), "--name", "my_net",
         "--output-root", str(tmp_path / "runs")],
    )
    assert result.exit_code == 0, result.output
    layout = RunLayout(tmp_path / "runs" / "my_net")
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] and report["samples"] == 60
    assert report["accuracy"]["float"] is None and report["accuracy"]["qkeras"] is not None
    assert "bit-exact: yes" in result.output


def test_cli_builds_a_trained_model_of_two_outputs_compared_side_by_side(tmp_path):
    """A classifier (a softmax, left on the host) and a regression trained together on one trunk: one firmware for both,
    exact on each, accuracy of the first; the benchmark and the reports show both. A head in firmware is refused."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    rng = np.random.default_rng(4)
    x = (np.round(rng.uniform(-1, 1, size=(300, 8)) * 64) / 64).astype(np.float32)
    y = (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 0.5)
    np.savez(tmp_path / "data.npz", x_train=x[:240], y_train=y[:240], x_test=x[240:], y_test=y[240:])
    tf.keras.utils.set_random_seed(0)
    quantized = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    inputs = tf.keras.Input((8,), name="features")
    h = QActivation(quantized_relu(6, 2), name="r1")(QDense(8, **quantized, name="d1")(QActivation(quantized_bits(8, 1, alpha=1), name="q_in")(inputs)))
    classes = tf.keras.layers.Activation("softmax", name="classes")(QDense(3, **quantized, name="logits")(h))
    energy = QDense(1, **quantized, name="energy")(h)
    model = tf.keras.Model(inputs, [classes, energy])
    model.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    model.fit(x[:240], [y[:240], x[:240, :1]], epochs=3, verbose=0)
    model.save(tmp_path / "two.h5")
    arguments = ["build", "--model", str(tmp_path / "two.h5"), "--data", str(tmp_path / "data.npz"), "--output-root", str(tmp_path / "runs")]

    result = CliRunner().invoke(main, [*arguments, "--name", "two"])
    assert result.exit_code == 0, result.output
    layout = RunLayout(tmp_path / "runs" / "two")
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] and report["samples"] == 60 and report["outputs_per_sample"] == 4 and report["head"] is None
    assert report["outputs"] == [{"name": "logits", "size": 3, "heads": ["softmax 'classes'"]}, {"name": "energy", "size": 1, "heads": []}]
    assert report["task"] == "classification" and report["accuracy"]["qkeras"] == report["accuracy"]["emulation"]
    assert read_json(layout.report("train"))["qkeras"]["test_accuracy"] == report["accuracy"]["qkeras"]  # the softmax's argmax: the logits'
    assert "2 outputs compared side by side: 'logits' (3; softmax 'classes' on the host), 'energy' (1)" in result.output
    assert read_json(layout.report("bench"))["measurements"] and "2 outputs compared side by side" in (layout.reports_dir / "summary.md").read_text()
    refused = CliRunner().invoke(main, [*arguments, "--name", "two_firmware", "--head", "firmware"])
    assert refused.exit_code == 2 and "has 2 outputs; a head in firmware" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_cli_user_mistakes_are_one_line_exit_2(tmp_path, tiny_spec_dict):
    tiny_spec_dict["hls"] = {"reuse_factr": 2}
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict))
    runner = CliRunner()
    result = runner.invoke(main, ["build", str(spec), "--output-root", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {spec}: unknown key 'hls.reuse_factr'"
    missing = runner.invoke(main, ["validate", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not a run directory" in missing.output
    nothing = runner.invoke(main, ["build"])
    assert nothing.exit_code == 2 and "give a spec file" in nothing.output


def test_cli_show_prints_resolved_spec_and_digest(tmp_path, tiny_spec_dict):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict))
    result = CliRunner().invoke(main, ["show", str(spec)])
    assert result.exit_code == 0
    shown = yaml.safe_load(result.output)
    assert shown["hls"]["precision"] == "bit-exact" and shown["training"]["epochs"] == 3
    assert result.output.strip().splitlines()[-1] == f"# digest: {spec_from_dict(tiny_spec_dict).digest()}"


def test_softmax_in_firmware_outputs_the_class_proven_the_models_beside_hls4ml_default_tables(tmp_path, tiny_spec_dict):
    """--head firmware: exact on the logits, the softmax is hls4ml's argmax (the class), its decision proven the model's
    over the domain and checked on the test set; hls4ml's default tables judged on the same samples and domain, with
    any input they flip saved and replaying through the C++ emulation. `softmax_in_firmware: true` is the older spelling."""
    from codesign.api import Run
    from codesign.emulate import run_emulation
    from codesign.head import firmware_decisions, model_decisions
    from codesign.model import load_keras_model
    from codesign.testing import assert_decision_exact

    assert spec_from_dict({**tiny_spec_dict, "hls": {"softmax_in_firmware": True}}).hls.head == "firmware"
    tiny_spec_dict["hls"] = {"head": "firmware"}
    messages = []
    build_run(spec_from_dict(tiny_spec_dict), tmp_path / "softmax", messages.append)
    layout = RunLayout(tmp_path / "softmax")
    report = read_json(layout.report("validate"))
    head = report["head"]
    assert {key: head[key] for key in ("function", "layer", "runs_on", "implementation", "decision")} == {
        "function": "softmax", "layer": "softmax", "runs_on": "firmware", "implementation": "argmax", "decision": "argmax"}
    assert report["bit_exact"] and report["outputs_per_sample"] == 10 and "firmware_head" not in report
    assert head["agreement"] == 1.0 and head["flips"] == 0 and head["proof"]["status"] == "proven"
    assert any(line.strip().startswith("head in firmware: outputs the class") for line in messages)
    summary = (layout.reports_dir / "summary.md").read_text()
    assert "| decision in firmware? | head in firmware: outputs the class; argmax agreement 1.0000" in summary and "proven identical" in summary
    default = head["hls4ml_default"]
    assert default["implementation"] == "stable" and default["table_size"] == 1024 and default["samples"] == head["samples"]
    assert default["proof"]["status"] in ("unproven", "counterexample")
    if default.get("counterexample"):  # replays: the C++ emulation's logits through hls4ml's default tables decide otherwise
        saved = np.load(layout.root / default["counterexample"])
        traced = run_emulation(layout.library, layout.emulation_meta, saved["x"], lambda _: None, trace=True)
        assert np.array_equal(traced.layers[read_json(layout.emulation_meta)["last_input"]], saved["logits"])
        model = model_decisions("softmax", load_keras_model(layout.qkeras_model).predict(saved["x"], verbose=0))
        assert (firmware_decisions("softmax", saved["firmware"]) != model).any(axis=1).all()
    result = assert_decision_exact(Run(layout.root))
    assert result.head["proof"]["status"] == "proven"
    x = np.load(layout.root / default["counterexample"])["x"] if default.get("counterexample") else None
    if x is not None:
        assert assert_decision_exact(Run(layout.root), x).head["flips"] == 0


def _tensorflow_sees_a_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def test_bench_report_structure_and_plausibility(tiny_run):
    run_dir, messages = tiny_run
    bench = read_json(RunLayout(run_dir).report("bench"))
    assert bench["environment"]["tensorflow"] == "2.14.1"
    cpu = bench["environment"]["devices"][0]
    assert cpu["kind"] == "cpu" and cpu["cores"] >= 1 and cpu["name"]
    assert {(m["model"], m["device_kind"]) for m in bench["measurements"]} >= {("float", "cpu"), ("qkeras", "cpu")}
    for measured in bench["measurements"]:
        latency = measured["latency_ms"]
        assert 0 < latency["p50"] <= latency["p99"] < 10_000
        throughput = measured["throughput_per_s"]
        assert set(throughput) == {"1", "64"} and all(value > 0 for value in throughput.values())
        assert throughput["64"] >= throughput["1"]
    if not _tensorflow_sees_a_gpu():
        assert bench["gpu"] == "no GPU found"
        assert any("no GPU found" in line for line in messages)
    targets = [row["target"] for row in bench["table"]]
    assert targets[:2] == ["float CPU", "qkeras CPU"] and targets[2] == "FPGA (estimated)"
    fpga = bench["table"][2]
    assert fpga["latency_ms"] > 0 and fpga["throughput_per_s"] > 0 and fpga["resources"]["lut"] > 0
    assert "validation cost" in targets[-1]
    baseline = bench["table"][0]
    for row in bench["table"][1:3]:  # speed-ups are the measured ratios against the float model on the CPU
        assert row["latency_speedup"] == round(baseline["latency_ms"] / row["latency_ms"], 2)
        assert row["throughput_speedup"] == round(row["throughput_per_s"] / baseline["throughput_per_s"], 2)
    assert bench["table"][-1]["throughput_per_s"] == bench["emulation_samples_per_s"] > 0


def test_cli_bench_options(tiny_run, tmp_path):
    run_dir = tmp_path / "tiny"  # a copy: the bench command rewrites bench.json, and tiny_run is read-only
    shutil.copytree(tiny_run[0], run_dir)
    runner = CliRunner()
    bad = runner.invoke(main, ["bench", str(run_dir), "--batch-sizes", "1,x"])
    assert bad.exit_code == 2 and "--batch-sizes" in bad.output
    if not _tensorflow_sees_a_gpu():
        gpu = runner.invoke(main, ["bench", str(run_dir), "--device", "gpu"])
        assert gpu.exit_code == 2 and "no GPU found" in gpu.output
    result = runner.invoke(main, ["bench", str(run_dir), "--device", "cpu", "--batch-sizes", "1,4", "--runs", "10"])
    assert result.exit_code == 0, result.output
    bench = read_json(RunLayout(run_dir).report("bench"))
    assert bench["settings"] == {"device": "cpu", "batch_sizes": [1, 4], "runs": 10}
    assert all(m["runs"] == 10 and set(m["throughput_per_s"]) == {"1", "4"} for m in bench["measurements"])


def test_model_reuse_factor_reaches_every_layer_under_the_bit_exact_policy(tmp_path, tiny_spec_dict):
    from codesign.config import spec_from_dict as make
    from codesign.convert import BIT_EXACT_CANDIDATES, convert
    from codesign.model import build_qkeras

    tiny_spec_dict["hls"] = {"reuse_factor": 4, "strategy": "Resource", "layers": {"output": {"reuse_factor": 2}}}
    spec = make(tiny_spec_dict)
    model = build_qkeras(spec, (8, 8, 1))
    input_type = Fixed(8, 1, True, "RND_CONV", "SAT")
    for index, candidate in enumerate(BIT_EXACT_CANDIDATES):
        report = convert(model, spec.hls, tmp_path / f"hls{index}", input_type, tmp_path / "log", candidate)
        factors = {row["name"]: row["reuse_factor"] for row in report["layers"]}
        assert factors["conv1"] > 1 and factors["fc1"] == 4 and factors["output"] == 2  # hls4ml may round to a valid factor


SPEC_KINDS_IMAGE = [  # digits 8x8x1: padded to 10x10, separable 3x3 -> 8x8, pooled 4x4, upsampled 8x8, averaged over 64 pixels
    {"type": "zero_padding2d", "name": "pad1", "padding": 1},
    {"type": "separable_conv2d", "name": "sep1", "filters": 4, "kernel_size": 3},
    {"type": "activation", "name": "relu1", "activation": "relu"},
    {"type": "max_pooling2d", "name": "pool1"},
    {"type": "upsampling2d", "name": "up1", "size": 2},
    {"type": "global_average_pooling2d", "name": "gap1"},
    {"type": "dense", "name": "out", "units": 10},
]
SPEC_KINDS_SEQUENCE = [
    {"type": "conv1d", "name": "conv1", "filters": 4, "kernel_size": 3},
    {"type": "activation", "name": "relu1", "activation": "relu"},
    {"type": "flatten", "name": "flat"},
    {"type": "dense", "name": "out", "units": 3},
]


@pytest.mark.slow
@pytest.mark.parametrize(("layers", "io_type"), [(SPEC_KINDS_IMAGE, "io_parallel"), (SPEC_KINDS_IMAGE, "io_stream"),
                                                 (SPEC_KINDS_SEQUENCE, "io_parallel")], ids=["image", "image-stream", "sequence"])
def test_the_spec_layer_kinds_from_the_table_build_bit_exact_and_are_estimated(tmp_path, layers, io_type):
    """conv1d, separable_conv2d, global_average_pooling2d, zero_padding2d and upsampling2d: spec layer kinds added
    through the spec registry and codesign/layers.py alone, each built bit-exact from a spec and estimated."""
    data = {}
    if layers is SPEC_KINDS_SEQUENCE:  # a sequence data set: 16 steps of 2 channels on a 2^-6 grid
        rng = np.random.default_rng(0)
        x = (np.round(rng.uniform(-1, 1, (300, 16, 2)) * 64) / 64).astype(np.float32)
        np.savez(tmp_path / "sequences.npz", x_train=x[:200], y_train=rng.integers(0, 3, 200), x_test=x[200:], y_test=rng.integers(0, 3, 100))
        data = {"dataset": {"name": "npz", "path": str(tmp_path / "sequences.npz")}}
    spec = spec_from_dict({"name": "kinds", "model": {"layers": copy.deepcopy(layers)}, "training": {"epochs": 2},
                           "hls": {"io_type": io_type}, **data})
    build_run(spec, tmp_path / "run", lambda _: None, to_step="validate")
    layout = RunLayout(tmp_path / "run")
    report = read_json(layout.report("validate"))
    assert report["bit_exact"] and report["mismatched_samples"] == 0
    estimate = read_json(layout.report("estimate"))
    estimated = {row["name"]: row for row in estimate["layers"]}
    for name in [layer["name"] for layer in layers if layer["type"] not in ("activation", "flatten")]:
        assert any(key == name or key.startswith(name + "_") for key in estimated), name  # hls4ml splits sep1 in two
    assert estimate["total"]["lut"] > 0 and estimate["total"]["latency_cycles"] > 0


def test_tensorflows_onednn_failing_on_a_layer_is_named_with_the_switch_and_any_other_exception_is_an_internal_error(tiny_spec_dict, tmp_path, monkeypatch):
    """oneDNN has no kernel for some layer shapes (a 1x1 QSeparableConv1D of one filter on an (8, 1) input, fuzz seed
    1382 model 7: an internal error in 'train'), where TensorFlow's own kernels run the model: one line naming the
    node and TF_ENABLE_ONEDNN_OPTS=0 (which made that model exact)."""
    import tensorflow as tf

    import codesign.train
    from codesign.errors import InternalError, ToolchainError

    message = ("Graph execution error: ... Operation received an exception:Status: 2, message: could not create a primitive "
               "descriptor for a reorder primitive, in file tensorflow/core/kernels/mkl/mkl_conv_ops.cc:1093\n\t [[{{node model/l1/BiasAdd}}]]")

    def failing(*args, **kwargs):
        raise tf.errors.AbortedError(None, None, message)

    monkeypatch.setattr(codesign.train, "train_models", failing)
    with pytest.raises(ToolchainError, match=r"^step 'train': TensorFlow's oneDNN kernels cannot run node model/l1/BiasAdd .*TF_ENABLE_ONEDNN_OPTS=0"):
        build_run(spec_from_dict(tiny_spec_dict), tmp_path / "run", lambda _: None, to_step="train")
    monkeypatch.setattr(codesign.train, "train_models", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(InternalError, match=r"^internal error in step 'train': ZeroDivisionError"):
        build_run(spec_from_dict(tiny_spec_dict), tmp_path / "again", lambda _: None, to_step="train")


def test_a_user_model_with_a_nested_block_and_a_layer_that_only_acts_in_training_builds_exact(tmp_path):
    """A Sequential block (a QDense, then a GaussianNoise: a user's regularizer, which hls4ml 1.3 has no converter
    for) called as a layer: the noise was refused, and a nested model failed the layer-by-layer comparison as an
    internal error. The build flattens the block, takes the noise out, says so, and the firmware is exact against
    the model the user saved."""
    import qkeras
    import tensorflow as tf

    bits = "quantized_bits(6,2,alpha=1)"
    block = tf.keras.Sequential([tf.keras.Input((6,)), qkeras.QDense(4, kernel_quantizer=bits, bias_quantizer=bits, name="fc"),
                                 tf.keras.layers.GaussianNoise(0.1, name="noise")], name="block")
    inputs = tf.keras.Input((6,))
    hidden = block(qkeras.QActivation("quantized_bits(8,3,alpha=1)", name="q_in")(inputs))
    tf.keras.Model(inputs, qkeras.QDense(3, kernel_quantizer=bits, bias_quantizer=bits, name="out")(hidden)).save(tmp_path / "m.h5")
    rng = np.random.default_rng(0)
    x = (np.round(rng.normal(size=(60, 6)) * 16) / 16).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x[:20], y_train=np.arange(20) % 3, x_test=x[20:], y_test=np.arange(40) % 3)
    said = []
    spec = spec_from_dict({"name": "noisy", "model": {"file": str(tmp_path / "m.h5")}, "dataset": {"name": "npz", "path": str(tmp_path / "d.npz")}})
    build_run(spec, tmp_path / "run", said.append, to_step="validate")
    assert any("'noise' (GaussianNoise): acts only in training, taken out" in line for line in said), said
    assert read_json(RunLayout(tmp_path / "run").report("validate"))["bit_exact"]
