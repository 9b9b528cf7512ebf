"""`codesign repair`: a user's hls4ml project made exact in a new folder, only types changed, built by hls4ml's own
compile as codesign validated it; bad input refused in one line with the project untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from codesign.cli import main


def digest(folder: Path) -> str:
    """Every file of a folder, names and bytes."""
    hashed = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            hashed.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return hashed.hexdigest()


def settings_of(path: Path) -> dict:
    """What a repair must keep, as an hls4ml_config.yml says it."""
    config = yaml.safe_load(path.read_text().replace("!keras_model", ""))
    layers = config["HLSConfig"].get("LayerName") or {}
    return {"target": [config[key] for key in ("Backend", "Part", "ClockPeriod", "IOType", "ProjectName")],
            "model": {key: value for key, value in config["HLSConfig"]["Model"].items() if key != "Precision"},
            "layers": {name: {key: value for key, value in entry.items() if key not in ("Precision", "Trace")} for name, entry in layers.items()}}


@pytest.fixture(scope="module")
def authored_project(tmp_path_factory) -> Path:
    """A project as an hls4ml tutorial user writes it: fixed<16,6> everywhere (granularity 'model'), one layer's
    strategy and reuse factor set by hand (10, which hls4ml moves to 9), and a layer named '1_relu_1' (an older
    hls4ml accepted it; hls4ml 1.3 writes it into a C++ type name)."""
    import hls4ml
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((8, 8, 1), name="image")
    x = QConv2D(4, 3, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="conv")(inputs)
    x = QActivation(quantized_relu(6, 2), name="1_relu_1")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    outputs = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="out")(x)
    model = tf.keras.Model(inputs, outputs)
    config = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vitis", default_precision="fixed<16,6>")
    config["Model"]["ReuseFactor"] = 2
    config["LayerName"] = {"out": {"Strategy": "Resource", "ReuseFactor": 10}}
    folder = tmp_path_factory.mktemp("authored") / "tutorial_prj"
    graph = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(folder), backend="Vitis",
                                                       part="xc7z020clg400-1", clock_period=10, io_type="io_parallel")
    graph.write()
    return folder


@pytest.mark.slow
def test_a_repaired_project_is_exact_keeps_the_authors_choices_and_hls4ml_compiles_it_as_validated(authored_project, tmp_path):
    import hls4ml

    import codesign

    before = digest(authored_project)
    out = tmp_path / "repaired"
    messages: list[str] = []
    report = codesign.repair_project(authored_project, out, say=messages.append)
    assert digest(authored_project) == before  # the author's folder is only read

    assert report["status"] == "exact" and report["settings_kept"]
    assert report["before"]["validation"]["bit_exact"] is False and report["before"]["validation"]["proof"]["status"] == "counterexample"
    assert report["after"]["validation"]["bit_exact"] and report["after"]["validation"]["proof"]["status"] == "proven"
    changed = {(change["layer"], change["variable"]) for change in report["changes"]}
    assert ("conv", "accum") in changed and ("layer_1_relu_1", "result") in changed  # the rounding the proof found, the quantizer
    assert ("out", "weight") not in changed  # fixed<6,1> holds the quantized weights: kept
    assert all(change["why"] for change in report["changes"])
    assert report["renames"] == {"1_relu_1": "layer_1_relu_1"}
    assert report["reconverted"] == {"same_firmware": True, "layers_typed_otherwise": [], "weights_that_differ": []}  # plain hls4ml: the same
    assert set(report["after"]["estimate"]) == {"dsp", "lut", "ff", "bram_18k", "latency_cycles"}
    assert "## validation and proof" in (out / "repair.md").read_text()
    assert json.loads((out / "repair.json").read_text()) == report

    written, authored = settings_of(out / "hls4ml_config.yml"), settings_of(authored_project / "hls4ml_config.yml")
    assert written["target"] == authored["target"] and written["model"] == authored["model"]
    assert written["layers"]["out"] == authored["layers"]["out"] == {"Strategy": "Resource", "ReuseFactor": 10}
    precision = yaml.safe_load((out / "hls4ml_config.yml").read_text().replace("!keras_model", ""))["HLSConfig"]["LayerName"]
    assert precision["layer_1_relu_1"]["Precision"]["result"] == "ufixed<6,2,RND_CONV,SAT,0>"
    assert "1_relu_1" not in (out / "firmware" / "defines.h").read_text().replace("layer_1_relu_1", "")

    x = np.load(out / "codesign_runs" / "before" / "imported" / "synthetic_inputs.npz")["x_test"][:64]
    linked = hls4ml.converters.link_existing_project(str(out))  # hls4ml's own compile of the written folder
    linked.compile()
    firmware = np.asarray(linked.predict(np.ascontiguousarray(x, dtype=np.float32))).reshape(len(x), -1)
    run = codesign.Run(out / "codesign_runs" / "after")
    assert np.array_equal(firmware, run.emulate(x)) and np.array_equal(firmware, run.predict_qkeras(x))


def test_repair_refuses_bad_input_in_one_line_and_leaves_the_project_untouched(hls4ml_project, tmp_path):
    project = tmp_path / "prj"
    shutil.copytree(hls4ml_project, project)
    before = digest(project)
    (tmp_path / "taken").mkdir()
    no_model = tmp_path / "no_model"
    shutil.copytree(hls4ml_project, no_model)
    for name in ("keras_model.keras", "keras_model.h5"):
        (no_model / name).unlink(missing_ok=True)
    config = no_model / "hls4ml_config.yml"
    config.write_text("\n".join(line for line in config.read_text().splitlines() if not line.startswith("KerasModel")) + "\n")
    unreadable = tmp_path / "unreadable"
    shutil.copytree(hls4ml_project, unreadable)
    (unreadable / "hls4ml_config.yml").write_text("HLSConfig: [unclosed\n")
    firmware_only = tmp_path / "firmware_only"
    shutil.copytree(hls4ml_project / "firmware", firmware_only / "firmware")
    cases = {
        (str(tmp_path / "nothing"), str(tmp_path / "a")): "not an hls4ml project folder",
        (str(project), str(tmp_path / "taken")): "already exists",
        (str(project), str(project / "inside")): "inside the project folder",
        (str(no_model), str(tmp_path / "b")): "no Keras model",
        (str(unreadable), str(tmp_path / "c")): "not a readable hls4ml config",
        (str(firmware_only), str(tmp_path / "d")): "no hls4ml_config.yml and no Keras model",
    }
    for (folder, out), expected in cases.items():
        result = CliRunner().invoke(main, ["repair", folder, "--out", out])
        assert result.exit_code == 2 and expected in result.output, (folder, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert digest(project) == before and not (project / "inside").exists() and not any((tmp_path / "taken").iterdir())
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c", "d"))


def test_a_folder_with_only_its_firmware_is_estimated_and_a_missing_weight_file_leaves_those_weights_unknown(hls4ml_project, tmp_path):
    folder = tmp_path / "committed"
    shutil.copytree(hls4ml_project / "firmware", folder / "firmware")  # no config, model or build script: what some users commit
    result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(tmp_path / "all.json")])
    assert result.exit_code == 0, result.output
    complete = json.loads((tmp_path / "all.json").read_text())
    assert {layer["name"] for layer in complete["layers"]} >= {"fc1", "out"}
    for path in (folder / "firmware" / "weights").glob("w2.*"):
        path.unlink()
    result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(tmp_path / "missing.json")])
    assert result.exit_code == 0, result.output
    missing = json.loads((tmp_path / "missing.json").read_text())
    assert any(note.startswith("weights/w2 missing: those weights are unknown") for note in missing["notes"])
    assert missing["total"]["latency_cycles"] == complete["total"]["latency_cycles"]  # the same design, its fc1 weights unknown
    result = CliRunner().invoke(main, ["import", str(folder), "--name", "x", "--output-root", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "w2 missing, and no model to take them from" in result.output


@pytest.mark.slow
def test_a_model_that_is_not_the_firmwares_is_refused_naming_the_weights_and_nothing_is_left(hls4ml_project, tmp_path):
    import tensorflow as tf

    from codesign.model import load_keras_model

    project = tmp_path / "retrained"
    shutil.copytree(hls4ml_project, project)
    model = load_keras_model(project / "keras_model.keras")
    model.set_weights([weights + 0.25 for weights in model.get_weights()])  # the model trained on after the firmware was written
    tf.keras.models.save_model(model, project / "keras_model.keras")
    before = digest(project)
    result = CliRunner().invoke(main, ["repair", str(project), "--out", str(tmp_path / "out")])
    last = result.output.strip().splitlines()[-1]  # after the run of the project as configured, which found it
    assert result.exit_code == 2 and "firmware/weights/b2 is not the model's (value 0 is 0, the model's 0.25)" in last and "the model does not match the firmware" in last, result.output
    assert "Traceback" not in result.output
    assert digest(project) == before and not (tmp_path / "out").exists()
