"""hls4ml project folders, as hls4ml writes them, estimated as configured; old keys dropped with a note."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from codesign.cli import main
from codesign.estimate.project import OTHER_FIRMWARE, estimate_project, read_project
from firmware_cases.old_models import OLD_FIRMWARE_MODELS, old_firmware_model


def _config_and_firmware_agree(report: dict) -> bool:
    """The project's firmware priced as its config's design (else the estimate is the firmware's, with a note)."""
    return not any(note.startswith(OTHER_FIRMWARE) for note in report["notes"])


def _written(model, folder: Path, io_type: str = "io_parallel", layer_settings: dict[str, dict] | None = None) -> Path:
    """The model's project as hls4ml 1.3's Vivado backend writes it (`layer_settings`: LayerName entries to update)."""
    import hls4ml

    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    for name, settings in (layer_settings or {}).items():
        config["LayerName"][name].update(settings)
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(folder), backend="Vivado",
                                               part="xcu250-figd2104-2L-e", io_type=io_type).write()
    return folder


def _firmware_only(folder: Path) -> None:
    """What some users commit: the project without its hls4ml_config.yml and Keras model."""
    for name in ("hls4ml_config.yml", "keras_model.keras", "keras_model.h5"):
        (folder / name).unlink(missing_ok=True)


def _both_ways(folder: Path) -> tuple[dict, dict]:
    """The project's estimate (its firmware priced as its config's design), then its firmware's alone (said so)."""
    from_model = estimate_project(folder)
    assert _config_and_firmware_agree(from_model)
    _firmware_only(folder)
    from_firmware = estimate_project(folder)
    assert from_firmware["notes"][0].startswith("estimated from the firmware")
    return from_model, from_firmware

CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "projects"


def test_a_project_written_by_hls4ml_is_estimated_as_configured(hls4ml_project, tmp_path):
    project = read_project(hls4ml_project)
    assert project.part == "xc7z020clg400-1" and project.clock_ns == 10 and project.reuse_factor == 4 and project.backend == "Vitis"
    result = CliRunner().invoke(main, ["estimate", str(hls4ml_project), "--json", str(tmp_path / "est.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "est.json").read_text())
    assert report["total"]["lut"] > 0 and report["part"]["name"] == "xc7z020" and report["clock_ns"] == 10
    assert {layer["name"] for layer in report["layers"]} >= {"fc1", "out"}
    assert report["vendor"] == {} and report["weights"] == "untrained"  # the fixture's model is never trained
    assert report["notes"] == ['no C-synthesis report: estimated as Vitis HLS builds it (from project.tcl (set backend "vitis"))',
                               "outside the calibrated territory: no calibration design was built by Vitis HLS 2023 or later on 7series: "
                               "interval widened to the 95% range of out-of-sample ratios",  # a current Vitis HLS on a Zynq-7000
                               next(note for note in report["notes"] if note.startswith("the weights look untrained"))]


def test_every_per_layer_setting_hls4ml_writes_is_kept():
    """hls4ml 1.3's own config of an LSTM or a separable convolution carries RecurrentReuseFactor, Static, Direction,
    DepthwiseReuseFactor: they were dropped as 'not an hls4ml 1.3 setting'. The kept keys cover every configurable
    attribute of hls4ml 1.3's layers and of its Vivado and Vitis backends."""
    from hls4ml.backends import get_backend
    from hls4ml.model.attributes import ConfigurableAttribute, TypeAttribute
    from hls4ml.model.layers import layer_map

    from codesign.estimate.project import LAYER_KEYS

    attributes = [attribute for layer in layer_map.values() for attribute in layer.expected_attributes]
    attributes += [attribute for name in ("Vivado", "Vitis") for each in get_backend(name).attribute_map.values() for attribute in each]
    settings = {attribute.config_name for attribute in attributes
                if isinstance(attribute, ConfigurableAttribute) and not isinstance(attribute, TypeAttribute)}
    assert settings and settings <= LAYER_KEYS, sorted(settings - LAYER_KEYS)


def test_old_keys_are_dropped_with_a_note_and_the_model_beside_the_config_is_used(hls4ml_project, tmp_path):
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(hls4ml_project, folder)
    path = folder / "hls4ml_config.yml"
    text = path.read_text()
    config = yaml.load(text.replace("!keras_model", ""), Loader=yaml.SafeLoader)
    config["HLSConfig"]["LayerName"]["fc1"]["conv_implementation"] = "LineBuffer"  # written by older hls4ml
    config["KerasModel"] = "/somewhere/in/the/authors/tree/keras_model.keras"
    config["XilinxPart"] = config.pop("Part")
    config["IOType"] = "io_serial"  # hls4ml 0.x
    config["HLSConfig"]["Model"]["Strategy"] = "resource"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["estimate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "note: LayerName.fc1.conv_implementation: not an hls4ml 1.3 setting, dropped" in result.output
    assert "note: IOType io_serial (hls4ml 0.x) estimated as io_stream, its successor" in result.output
    assert read_project(folder).strategy == "Resource"
    for name in ("keras_model.keras", "keras_model.h5"):
        (folder / name).unlink(missing_ok=True)
    from_firmware = CliRunner().invoke(main, ["estimate", str(folder)])
    assert from_firmware.exit_code == 0 and "note: estimated from the firmware (parameters.h, defines.h, weights/): no Keras model" in from_firmware.output
    shutil.rmtree(folder / "firmware")
    missing = CliRunner().invoke(main, ["estimate", str(folder)])
    assert missing.exit_code == 2 and "no Keras model: neither keras_model.h5 nor keras_model.keras" in missing.output


def test_a_model_its_config_names_as_json_and_weights_is_the_model_estimated(hls4ml_project, tmp_path):
    """hls4ml 0.x's `hls4ml convert -c` wrote `KerasJson` and `KerasH5` into the project's config, paths from where it
    ran, and saved no model beside it (checked with hls4ml 0.8.1); such a project was estimated from its firmware, and
    without one refused. Now its model is read from there, whatever the folder the command runs in."""
    from codesign.model import load_keras_model

    run = tmp_path / "where_hls4ml_ran"
    folder = run / "my_prj"
    shutil.copytree(hls4ml_project, folder)
    model = load_keras_model(read_project(folder).model_path)
    (run / "model").mkdir()
    (run / "model" / "net.json").write_text(model.to_json())
    model.save_weights(str(run / "model" / "net_weights.h5"))
    path = folder / "hls4ml_config.yml"
    config = yaml.load(path.read_text().replace("!keras_model", ""), Loader=yaml.SafeLoader)
    del config["KerasModel"]
    config.update(KerasJson="model/net.json", KerasH5="model/net_weights.h5")
    path.write_text(yaml.safe_dump(config))
    expected = estimate_project(hls4ml_project)
    _firmware_only_but_the_config(folder)
    found = estimate_project(folder)
    assert not any(note.startswith("estimated from the firmware") for note in found["notes"]), found["notes"]
    assert found["total"] == expected["total"] and [layer["name"] for layer in found["layers"]] == [layer["name"] for layer in expected["layers"]]
    shutil.rmtree(folder / "firmware")
    (run / "model" / "net.json").unlink()
    missing = CliRunner().invoke(main, ["estimate", str(folder)])
    assert missing.exit_code == 2 and "nor its KerasJson 'model/net.json' and its KerasH5 'model/net_weights.h5'" in missing.output


def test_a_project_converted_from_onnx_or_pytorch_is_estimated_from_its_firmware_saying_why(hls4ml_project, tmp_path):
    folder = tmp_path / "onnx_prj"
    shutil.copytree(hls4ml_project, folder)
    path = folder / "hls4ml_config.yml"
    config = yaml.load(path.read_text().replace("!keras_model", ""), Loader=yaml.SafeLoader)
    del config["KerasModel"]
    config["OnnxModel"] = "model.onnx"
    path.write_text(yaml.safe_dump(config))
    _firmware_only_but_the_config(folder)
    found = estimate_project(folder)
    assert found["notes"][0] == ("estimated from the firmware (parameters.h, defines.h, weights/): its model is given as OnnxModel ('model.onnx'): "
                                 "codesign reads Keras and QKeras models, and the firmware hls4ml wrote where the folder holds it")
    shutil.rmtree(folder / "firmware")
    refused = CliRunner().invoke(main, ["estimate", str(folder)])
    assert refused.exit_code == 2 and "its model is given as OnnxModel ('model.onnx')" in refused.output and "Traceback" not in refused.output


def test_a_project_hls4ml_wrote_from_pytorch_is_estimated_from_its_firmware(hls4ml_project, tmp_path):
    """What hls4ml's PyTorch front end leaves (checked on folders it wrote from nn.Sequential models, torch 2.5): a config
    with Python tags (`InputShape: !!python/tuple`, the model dumped as `!!python/object:torch...`), and layers named
    '_0', '_1', ..., which no Keras layer may be named. Both made the estimate an internal error; now it is the same
    design as the folder's with Keras names, its layers shown as 'layer_0', ..., saying so."""
    import re

    folder = tmp_path / "pytorch_prj"
    shutil.copytree(hls4ml_project, folder)
    path = folder / "hls4ml_config.yml"
    config = yaml.load(path.read_text().replace("!keras_model", ""), Loader=yaml.SafeLoader)
    del config["KerasModel"]
    path.write_text(yaml.safe_dump(config) + "InputShape: !!python/tuple\n- 16\nPytorchModel: !!python/object:torch.nn.modules.container.Sequential\n"
                    "  _buffers: {}\n  _modules: !!python/object/apply:collections.OrderedDict\n  - - - '0'\n      - null\n  training: false\n")
    _firmware_only_but_the_config(folder)
    top = folder / "firmware" / "myproject.cpp"
    names = {"fc1": "_0", "relu1": "_1", "out": "_2"}
    top.write_text(re.sub(r"// (fc1|relu1|out)$", lambda match: f"// {names[match.group(1)]}", top.read_text(), flags=re.MULTILINE))
    expected, found = estimate_project(hls4ml_project), estimate_project(folder)
    assert found["total"] == expected["total"]
    assert [layer["name"] for layer in expected["layers"]] == ["features", "fc1", "relu1", "out", "top"]
    assert [layer["name"] for layer in found["layers"]] == ["features", "layer_0", "layer_1", "layer_2", "top"]
    assert found["notes"][0].startswith("estimated from the firmware (parameters.h, defines.h, weights/): its model is given as PytorchModel "
                                        "('a torch.nn.modules.container.Sequential object')")
    assert "firmware layers named as Keras names cannot start (_0, _1, _2) are shown as layer_0, layer_1, layer_2" in found["notes"]


def _firmware_only_but_the_config(folder: Path) -> None:
    for name in ("keras_model.keras", "keras_model.h5"):
        (folder / name).unlink(missing_ok=True)


def test_older_spellings_and_the_firmware_reuse_factors_are_read_as_meant(hls4ml_project, tmp_path):
    """What hls4ml 0.x wrote (`encoded`, `table_size`, the Pynq backend) is read as meant, and a reuse factor edited
    in firmware/parameters.h after hls4ml wrote the project, or a strategy that is not the config's, is the one
    estimated, each with a note."""
    import re

    folder = tmp_path / "edited"
    shutil.copytree(hls4ml_project, folder)
    path = folder / "hls4ml_config.yml"
    config = yaml.load(path.read_text().replace("!keras_model", ""), Loader=yaml.SafeLoader)
    config["Backend"] = "Pynq"
    config["HLSConfig"]["LayerName"]["fc1"]["ConvImplementation"] = "encoded"
    config["HLSConfig"]["LayerName"]["relu1"].pop("TableSize", None)
    config["HLSConfig"]["LayerName"]["relu1"]["table_size"] = 512
    path.write_text(yaml.safe_dump(config))
    parameters = folder / "firmware" / "parameters.h"
    text = parameters.read_text()
    out_config = re.search(r"nnet::dense<[^;]*,\s*(\w+)>\([^;]*\);\s*// out", (folder / "firmware" / "myproject.cpp").read_text()).group(1)
    block = re.search(rf"struct {out_config} : nnet::dense_config \{{.*?\n\}};", text, flags=re.DOTALL).group(0)
    text = text.replace(block, block.replace("reuse_factor = 1;", "reuse_factor = 5;"))
    fc1_config = re.search(r"nnet::dense<[^;]*,\s*(\w+)>\([^;]*\);\s*// fc1", (folder / "firmware" / "myproject.cpp").read_text()).group(1)
    block = re.search(rf"struct {fc1_config} : nnet::dense_config \{{.*?\n\}};", text, flags=re.DOTALL).group(0)
    parameters.write_text(text.replace(block, block.replace("strategy = nnet::latency;", "strategy = nnet::resource;")))

    project = read_project(folder)
    assert project.backend == "Vivado"
    assert project.hls_config["LayerName"]["out"]["ReuseFactor"] == 5 and project.hls_config["LayerName"]["fc1"]["ReuseFactor"] == 1
    assert project.hls_config["LayerName"]["fc1"]["Strategy"] == "Resource"  # hls4ml 0.7 switched a model so, its config unchanged
    assert project.hls_config["LayerName"]["fc1"]["ConvImplementation"] == "Encoded" and project.hls_config["LayerName"]["relu1"]["TableSize"] == 512
    result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    for note in ("backend Pynq estimated as Vivado", "ConvImplementation 'encoded' (older hls4ml) read as 'Encoded'",
                 "LayerName.relu1.table_size: read as TableSize", "not of the config: out 1->5",
                 "strategies of the written firmware (firmware/parameters.h), not of the config: fc1 Latency->Resource"):
        assert note in result.output, note
    layers = {layer["name"]: layer for layer in json.loads((tmp_path / "e.json").read_text())["layers"]}
    assert layers["out"]["ii"] == 5 and layers["fc1"]["ii"] == 1


def test_a_project_with_only_its_firmware_is_estimated_as_its_model_is(hls4ml_project, tmp_path):
    """Without hls4ml_config.yml and Keras model (an HGQ, PyTorch or ONNX front end, an old hls4ml), the firmware
    hls4ml wrote is read: the same design, the same estimate as from the model, said in a note."""

    from_model = estimate_project(hls4ml_project)
    assert _config_and_firmware_agree(from_model)
    folder = tmp_path / "firmware_only"
    shutil.copytree(hls4ml_project, folder)
    _firmware_only(folder)
    result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(tmp_path / "fw.json")])
    assert result.exit_code == 0, result.output
    from_firmware = json.loads((tmp_path / "fw.json").read_text())
    assert from_firmware["total"] == from_model["total"] and from_firmware["interval"] == from_model["interval"]
    assert [layer["name"] for layer in from_firmware["layers"]] == [layer["name"] for layer in from_model["layers"]]
    assert from_firmware["settings"]["backend"] == "Vitis" and from_firmware["settings"]["part"] == "xc7z020clg400-1" and from_firmware["clock_ns"] == 10
    assert "note: estimated from the firmware (parameters.h, defines.h, weights/): no hls4ml_config.yml" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_a_branching_design_read_from_its_firmware_is_the_design_of_its_model(tmp_path, io_type):
    """A skip connection (a stream cloned in io_stream, an Add) and a Conv1D with padding and pooling, read from the
    firmware alone, estimate as the model they were written from."""
    import tensorflow as tf


    tf.keras.utils.set_random_seed(3)
    inputs = tf.keras.Input((16, 3), name="signal")
    x = tf.keras.layers.Conv1D(4, 3, padding="same", name="conv")(inputs)
    y = tf.keras.layers.Activation("relu", name="relu")(x)
    x = tf.keras.layers.Add(name="skip")([x, y])
    x = tf.keras.layers.MaxPooling1D(2, name="pool")(x)
    outputs = tf.keras.layers.Dense(3, name="out")(tf.keras.layers.Flatten(name="flatten")(x))
    from_model, from_firmware = _both_ways(_written(tf.keras.Model(inputs, outputs), tmp_path / "branching", io_type))
    assert from_firmware["total"] == from_model["total"]


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_a_merge_of_a_flattened_value_read_from_its_firmware_is_the_design_of_its_model(tmp_path, io_type):
    """A Flatten concatenated with a Dense of it (fuzz generation 15's flat merge): hls4ml's Flatten is free, so the
    firmware's Concatenate reads the convolution's variable beside a flat one (refused from the firmware alone before:
    Keras's shapes did not match, seed 15015 of benchmarks/estimate_paths.py, 3 of 30)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(4)
    inputs = tf.keras.Input((5, 5, 2), name="image")
    flat = tf.keras.layers.Flatten(name="flatten")(tf.keras.layers.Conv2D(3, 3, name="conv")(inputs))
    merged = tf.keras.layers.Concatenate(name="merge")([flat, tf.keras.layers.Dense(2, name="branch")(flat)])
    outputs = tf.keras.layers.Dense(3, name="out")(merged)
    from_model, from_firmware = _both_ways(_written(tf.keras.Model(inputs, outputs), tmp_path / "flat_merge", io_type))
    assert from_firmware["total"] == from_model["total"]


def _as_hls4ml_0_8_wrote_it(folder: Path) -> None:
    """Fold hls4ml 1.3's two calls of a separable convolution (a depthwise and a pointwise kernel) into the one call
    hls4ml 0.8 wrote: `separable_conv_1d_cl<in, depthwise result, out, config>(in, out, dN, pN, zN, bN)`, its config a
    struct naming the two halves' structs, its weight files dN, pN (the kernels), zN (the depthwise half's bias) and bN."""
    import re

    top, parameters = folder / "firmware" / "myproject.cpp", folder / "firmware" / "parameters.h"
    text = top.read_text()
    depthwise = re.search(r"nnet::depthwise_conv_(\dd)_cl<(\w+), (\w+), (\w+)>\((\w+), \w+, (w\d+), (b\d+)\); // (\w+)_depthwise\n", text)
    pointwise = re.search(r"nnet::pointwise_conv_\dd_cl<\w+, (\w+), (\w+)>\(\w+, (\w+), (w(\d+)), (b\d+)\); // \w+_pointwise\n", text)
    n = pointwise.group(5)
    renamed = {depthwise.group(6): f"d{n}", pointwise.group(4): f"p{n}", depthwise.group(7): f"z{n}"}
    call = (f"nnet::separable_conv_{depthwise.group(1)}_cl<{depthwise.group(2)}, {depthwise.group(3)}, {pointwise.group(1)}, config_separable>"
            f"({depthwise.group(5)}, {pointwise.group(3)}, d{n}, p{n}, z{n}, {pointwise.group(6)}); // {depthwise.group(8)}\n")
    text = text.replace(depthwise.group(0), call).replace(pointwise.group(0), "")
    header = parameters.read_text() + (f"struct config_separable {{\n    typedef {depthwise.group(4)} depthwise_config;\n"
                                       f"    typedef {pointwise.group(2)} pointwise_config;\n}};\n")
    for old, new in renamed.items():
        text = re.sub(rf"\b{old}\b", new, text)
        header = header.replace(f'"weights/{old}.h"', f'"weights/{new}.h"')
        for suffix in (".txt", ".h"):
            (folder / "firmware" / "weights" / f"{old}{suffix}").rename(folder / "firmware" / "weights" / f"{new}{suffix}")
    top.write_text(text)
    parameters.write_text(header)


@pytest.mark.slow
@pytest.mark.parametrize("dimensions", [1, 2])
def test_a_separable_convolution_as_hls4ml_0_8_wrote_it_is_read_as_its_two_halves(tmp_path, dimensions):
    """hls4ml 0.8 wrote a separable convolution as one call (hls4ml 1.3 as a depthwise and a pointwise kernel): read
    from such firmware alone (a 0.8 project with its power-of-two depthwise weights was refused before), it estimates
    as the model it was written from."""
    import tensorflow as tf


    tf.keras.utils.set_random_seed(5)
    inputs = tf.keras.Input((10, 3) if dimensions == 1 else (6, 6, 3), name="image")
    layer = tf.keras.layers.SeparableConv1D if dimensions == 1 else tf.keras.layers.SeparableConv2D
    x = layer(4, 3, strides=2, depth_multiplier=2, name="separable")(inputs)
    outputs = tf.keras.layers.Dense(2, name="out")(tf.keras.layers.Flatten(name="flatten")(x))
    folder = _written(tf.keras.Model(inputs, outputs), tmp_path / "separable")
    from_model = estimate_project(folder)
    assert _config_and_firmware_agree(from_model)  # hls4ml 1.3's two calls, a depth multiplier of 2, read as written
    _firmware_only(folder)
    _as_hls4ml_0_8_wrote_it(folder)
    assert "nnet::separable_conv_" in (folder / "firmware" / "myproject.cpp").read_text()
    from_firmware = estimate_project(folder)
    assert from_firmware["notes"][0].startswith("estimated from the firmware")
    assert from_firmware["total"] == from_model["total"]
    halves = [(layer["name"], layer["type"]) for layer in from_firmware["layers"] if layer["name"].startswith("separable")]
    assert halves == [("separable_depthwise", f"DepthwiseConv{dimensions}D"), ("separable_pointwise", f"PointwiseConv{dimensions}D")]


def test_hls4ml_0_8s_name_for_the_type_between_a_separable_convolutions_halves_is_read(tmp_path):
    """hls4ml 0.8 configs call it `dw_output`, hls4ml 1.3 `depthwise_result` (and drops the old name without a word):
    read as meant, the value between the halves has the configured type, as in the firmware hls4ml 0.8 wrote."""
    import hls4ml
    import tensorflow as tf

    from codesign.estimate.project import design_of

    inputs = tf.keras.Input((10, 3), name="signal")
    model = tf.keras.Model(inputs, tf.keras.layers.SeparableConv1D(4, 3, name="separable")(inputs))
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    precision = config["LayerName"]["separable"]["Precision"]
    precision.pop("depthwise_result")
    precision["dw_output"] = "fixed<18,8>"
    folder = tmp_path / "old"
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(folder), backend="Vivado", io_type="io_parallel").write()
    graph, _, notes = design_of(folder, as_built=False)  # the config's design (hls4ml 1.3 wrote this firmware without the old name)
    assert "LayerName.separable.Precision.dw_output: read as depthwise_result (its hls4ml 1.3 name)" in notes
    assert str(graph.graph["separable_depthwise"].get_output_variable().type.precision) == "fixed<18,8,TRN,WRAP,0>"


@pytest.mark.slow
@pytest.mark.parametrize("seed,index,generation", [(2026, 0, 1), (2026, 1, 1), (2026, 3, 1), (2026, 4, 1), (2026, 7, 1), (2026, 9, 1), (2026, 10, 1),
                                                   (2026, 24, 1), (2026, 29, 1), (77, 28, 1), (9001, 37, 1), (1329, 14, 2),
                                                   (6006, 29, 8), (6006, 34, 8)])
def test_a_generated_project_estimates_the_same_from_its_firmware_alone(tmp_path, seed, index, generation):
    """Fuzzer models written by hls4ml, estimated with their config and model, then from the firmware alone: the same
    totals. Each once broke the firmware reader: power-of-two weights ({sign, exponent} files, struct types),
    hard_sigmoid's base-less config, a batch normalization before a Flatten (scales per channel on a flat input) and
    on a spatial input (per element), a 1x1 convolution (pointwise_conv_2d_cl), a QActivation's casting linear call,
    hard_tanh, two outputs, a zero padding holding a merged quantizer's type, a 1D resize first, a streamed input of
    one-value words before a Flatten, a stride-2 'same' convolution padded at the bottom and right only, an ApplyAlpha of
    scale 1 and bias 0 (which hls4ml removed when it converted the layers rebuilt from the firmware), a binary compare
    merged with an alpha scale (normalize_binary_tanh) and a streamed ternary (normalize_ternary_tanh), refused before.
    benchmarks/estimate_paths.py sweeps more (docs/estimation.md)."""
    import hls4ml

    from codesign.fuzz_models import build_model, random_recipe

    recipe = random_recipe(seed, index, generation=generation)
    model = build_model(recipe)
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["Model"]["Strategy"] = recipe["strategy"]
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(tmp_path / "project"), backend="Vitis",
                                               part="xcu250-figd2104-2L-e", io_type=recipe["io_type"]).write()
    from_project, from_firmware = _both_ways(tmp_path / "project")
    assert from_firmware["total"] == from_project["total"]


@pytest.mark.parametrize("kind", ["layer_normalization", "bidirectional_lstm", "bidirectional_gru"])
def test_a_layer_normalization_or_a_bidirectional_layer_estimates_the_same_from_its_firmware_alone(kind, tmp_path):
    """hls4ml's layernormalize and bidirectional_stack, refused by the firmware reader before: rebuilt as Keras's
    LayerNormalization (its epsilon, scale and bias) and Bidirectional (each direction's LSTM or GRU, the backward one
    reversed), the same totals as from the project's config and model."""
    import hls4ml
    import tensorflow as tf

    if kind == "layer_normalization":
        inputs = tf.keras.Input((4, 6))
        hidden = tf.keras.layers.Flatten()(tf.keras.layers.LayerNormalization(name="norm")(tf.keras.layers.Dense(6)(inputs)))
    else:
        inputs = tf.keras.Input((5, 3))
        cell = tf.keras.layers.LSTM(4) if kind == "bidirectional_lstm" else tf.keras.layers.GRU(4, reset_after=True)
        hidden = tf.keras.layers.Bidirectional(cell, name="both")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(3)(hidden))
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(tmp_path / "project"), backend="Vitis",
                                               part="xcu250-figd2104-2L-e", io_type="io_parallel").write()
    from_project, from_firmware = _both_ways(tmp_path / "project")
    assert from_firmware["total"] == from_project["total"]


def test_a_firmware_that_is_not_its_configs_design_is_the_design_estimated(hls4ml_project, tmp_path):
    """The tool builds firmware/: where it is not what hls4ml 1.3 makes of the config (an older hls4ml wrote it, or it
    was edited), the firmware is estimated, as from the firmware alone, and a note names what the config's design
    would cost; `codesign fit`, which writes the config, keeps the config's design."""
    import re

    from codesign.estimate.model import estimate_graph
    from codesign.estimate.project import design_of
    from codesign.parts import part_or_unlisted

    folder = tmp_path / "edited"
    shutil.copytree(hls4ml_project, folder)
    defines = folder / "firmware" / "defines.h"
    text = defines.read_text()
    edited = re.sub(r"typedef ap_fixed<16,6> input_t;", "typedef ap_fixed<30,12> input_t;", text)
    assert edited != text
    defines.write_text(edited)
    report = estimate_project(folder)
    note = next(note for note in report["notes"] if note.startswith(OTHER_FIRMWARE))
    graph, settings, _ = design_of(folder, as_built=False)
    configured = estimate_graph(graph, part_or_unlisted(settings["part"])[0], settings["clock_ns"], settings["io_type"], settings["backend"], local=False)
    assert configured["total"]["lut"] < report["total"]["lut"] and f"LUT {configured['total']['lut']:,} -> " in note
    assert report["settings"]["precision"] == "as written in the firmware"
    _firmware_only(folder)
    assert estimate_project(folder)["total"] == report["total"]


def test_a_folder_that_names_no_part_or_clock_is_estimated_for_the_ones_stated_and_one_that_names_them_refuses_others(hls4ml_project, tmp_path):
    """firmware/ alone names neither part nor clock: `--part` and `--clock-ns` state them, and the estimate is the one
    of the project whose config names them; a project that names its part refuses another, in one line, as it does
    a design option."""
    configured = estimate_project(hls4ml_project)  # its config: xc7z020clg400-1 at 10 ns
    folder = tmp_path / "firmware_only"
    shutil.copytree(hls4ml_project / "firmware", folder / "firmware")
    defaulted = estimate_project(folder)
    assert defaulted["part"]["name"] == "xcvu13p" and any("names the part and clock: hls4ml's defaults taken" in note for note in defaulted["notes"])
    result = CliRunner().invoke(main, ["estimate", str(folder), "--part", "xc7z020clg400-1", "--clock-ns", "10", "--json", str(tmp_path / "est.json")])
    assert result.exit_code == 0, result.output
    stated = json.loads((tmp_path / "est.json").read_text())
    assert stated["total"] == configured["total"] and stated["part"]["name"] == "xc7z020" and stated["clock_ns"] == 10
    assert "note: part xc7z020clg400-1 and clock 10 ns as stated: the folder names none" in result.output
    assert not any("defaults taken" in note for note in stated["notes"])
    for options, named in ((["--part", "xcu250-figd2104-2L-e"], "names part xc7z020clg400-1"), (["--clock-ns", "4"], "names clock 10"),
                           (["--reuse-factor", "2"], "not with --reuse-factor")):
        refused = CliRunner().invoke(main, ["estimate", str(hls4ml_project), *options])
        assert refused.exit_code != 0 and named in refused.output and refused.output.count("\n") == 1, refused.output
    # no report: the tool is stated; one whose report names another version refuses it
    result = CliRunner().invoke(main, ["estimate", str(folder), "--tool", "Vivado HLS 2019.2", "--json", str(tmp_path / "tool.json")])
    assert result.exit_code == 0 and "estimated as Vivado HLS 2019.2 builds it, as stated" in result.output, result.output
    assert json.loads((tmp_path / "tool.json").read_text())["settings"]["tool"] == "Vivado HLS 2019.2"
    reported = CALIBRATION / "CestMerNeil__FPGA_Accelerator4NN_Inference__LeNet__LeNet_ZCU104"
    if reported.exists():
        refused = CliRunner().invoke(main, ["estimate", str(reported), "--tool", "Vitis HLS 2024.1"])
        assert refused.exit_code != 0 and refused.output.count("\n") == 1 and "Vivado HLS 2019.2 built it, not Vitis HLS 2024.1" in refused.output, refused.output


def test_a_weight_file_shorter_than_its_layer_reads_makes_those_weights_unknown_not_a_refusal(hls4ml_project, tmp_path):
    """hls4ml 1.3 wrote a power-of-two alpha scale of 2 values for 3 channels (benchmarks/estimate_paths.py seed 7070,
    model 27: a ValueError from the firmware alone before): such weights are drawn, with a note, as a missing file's
    are; with its config and model beside it the project keeps the config's design (the firmware's is not known)."""

    folder = tmp_path / "short"
    shutil.copytree(hls4ml_project, folder)
    biases = max((folder / "firmware" / "weights").glob("b*.txt"), key=lambda path: len(path.read_text().split(",")))
    assert len(biases.read_text().split(",")) == 32
    biases.write_text(", ".join(["0.5"] * 7))
    with_config = estimate_project(folder)
    assert _config_and_firmware_agree(with_config) and with_config["total"] == estimate_project(hls4ml_project)["total"]
    _firmware_only(folder)
    result = CliRunner().invoke(main, ["estimate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "7 weights written where it reads 32: those weights are unknown" in result.output


def test_a_call_reading_a_variable_no_call_writes_reads_the_previous_calls_output(hls4ml_project, tmp_path):
    """hls4ml 0.6 left a free Flatten's variable undeclared (its Dense reads `layer4_out`, which nothing writes:
    benchmarks/estimate_paths.py seed 7676, model 15, refused before): read as the previous call's output, with a note."""
    import re


    folder = tmp_path / "undeclared"
    shutil.copytree(hls4ml_project, folder)
    _firmware_only(folder)
    before = estimate_project(folder)["total"]
    top = folder / "firmware" / "myproject.cpp"
    text = top.read_text()
    read = re.search(r"nnet::dense<[^;]*>\((\w+), \w+, \w+, \w+\); // out", text).group(1)
    top.write_text(text.replace(f"({read}, layer5_out", "(layer99_out, layer5_out"))
    result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    assert f"firmware layer 'out' reads 'layer99_out', which no call writes: read as the previous call's output '{read}'" in " ".join(result.output.split())
    assert json.loads((tmp_path / "e.json").read_text())["total"] == before


@pytest.mark.slow
@pytest.mark.parametrize("dimensions", [1, 2])
def test_croppings_and_activations_with_a_parameter_are_read_from_their_firmware(tmp_path, dimensions):
    """hls4ml 1.x passes a LeakyReLU's alpha, an ELU's and a ThresholdedReLU's theta as literal call arguments, which
    the reader took for variables no call writes (refused), and writes croppings as `cropping*d_cl` calls, which it
    read as casts (the next kernel then had the uncropped input); found by trying Keras layers the fuzzer does not draw.
    From the firmware alone they now estimate as their model."""
    import tensorflow as tf


    tf.keras.utils.set_random_seed(13)
    layers = tf.keras.layers
    inputs = tf.keras.Input((8, 2) if dimensions == 1 else (8, 8, 2), name="signal")
    if dimensions == 1:
        x = layers.Conv1D(2, 3, name="conv")(layers.Cropping1D((1, 2), name="crop")(inputs))
    else:
        x = layers.Conv2D(2, 3, name="conv")(layers.Cropping2D(((1, 1), (2, 0)), name="crop")(inputs))
    x = layers.Dense(5, name="fc1")(layers.Flatten(name="flatten")(layers.LeakyReLU(0.3, name="leaky")(x)))
    x = layers.Dense(4, name="fc2")(layers.ELU(0.5, name="elu")(x))
    model = tf.keras.Model(inputs, layers.Dense(2, name="out")(layers.ThresholdedReLU(0.5, name="thresholded")(x)))
    from_model, from_firmware = _both_ways(_written(model, tmp_path / "parameters"))
    assert not any("estimated as a cast" in note for note in from_firmware["notes"])
    assert from_firmware["total"] == from_model["total"]


@pytest.mark.slow
def test_a_depthwise_kernels_depth_multiplier_and_strides_are_read_from_its_firmware(tmp_path):
    """A depthwise convolution of depth multiplier 2 and strides (1, 2), read from the firmware alone, estimates as its
    model (its multiplier was read as 1: half the products; its strides as the width's in both directions)."""
    import tensorflow as tf


    tf.keras.utils.set_random_seed(11)
    inputs = tf.keras.Input((6, 6, 3), name="image")
    x = tf.keras.layers.DepthwiseConv2D(3, strides=(1, 2), depth_multiplier=2, name="depthwise")(inputs)
    outputs = tf.keras.layers.Dense(2, name="out")(tf.keras.layers.Flatten(name="flatten")(x))
    from_model, from_firmware = _both_ways(_written(tf.keras.Model(inputs, outputs), tmp_path / "depthwise"))
    assert from_firmware["total"] == from_model["total"]


def test_a_convolutions_parallelization_factor_is_read_from_its_firmware(tmp_path):
    """hls4ml 0.7+ writes an io_parallel convolution's ParallelizationFactor as `n_partitions` (its output pixels over
    the factor): read back, a project's firmware is its config's design, and alone it estimates as its model (it was
    read as one pixel at a time: a quarter of the multipliers, four times the passes, and called another design)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(12)
    inputs = tf.keras.Input((8, 8, 2), name="image")
    x = tf.keras.layers.Conv2D(4, 3, name="conv")(inputs)  # 36 output pixels
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="out")(tf.keras.layers.Flatten(name="flatten")(x)))
    settings = {"conv": {"Strategy": "Resource", "ReuseFactor": 9, "ParallelizationFactor": 4}}
    from_model, from_firmware = _both_ways(_written(model, tmp_path / "parallel", layer_settings=settings))
    assert from_firmware["total"] == from_model["total"]
    conv = next(layer for layer in from_firmware["layers"] if layer["name"] == "conv")
    assert conv["ii"] == 9 * 9  # 36 / 4 passes of the reuse loop, 9 cycles each


def test_a_pointwise_convolution_computes_the_pixels_its_partitions_say_not_the_factor_asked(tmp_path):
    """hls4ml makes a 1x1 convolution pointwise and keeps the ParallelizationFactor asked for in its attribute while its
    n_partitions holds the valid one (one output pixel: factor 2 asked, 1 built): the estimate reads n_partitions, as the
    template does, so the config's design is its firmware's (twice the multipliers were estimated; seed 1322 model 13)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(15)
    inputs = tf.keras.Input((2, 2, 3), name="image")
    x = tf.keras.layers.Conv2D(4, 2, name="squeeze")(inputs)  # one output pixel
    x = tf.keras.layers.Conv2D(3, 1, name="pointwise")(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="out")(tf.keras.layers.Flatten(name="flatten")(x)))
    settings = {"pointwise": {"Strategy": "Resource", "ReuseFactor": 2, "ParallelizationFactor": 2}}
    from_model, from_firmware = _both_ways(_written(model, tmp_path / "pointwise", layer_settings=settings))
    assert from_firmware["total"] == from_model["total"]


def test_an_upsampling_of_a_one_pixel_image_is_read_from_the_firmware_as_two_dimensional(tmp_path):
    """hls4ml writes a 1D resize with height 1 kept 1; a 2D one of a 1x1 image also has height 1, growing: read as 1D,
    the next Conv2D met a 1D tensor and the firmware was refused (`estimate_paths.py` seed 1329 model 11)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(14)
    inputs = tf.keras.Input((4, 4, 2), name="image")
    x = tf.keras.layers.Conv2D(3, 4, name="squeeze")(inputs)  # 1x1x3
    x = tf.keras.layers.UpSampling2D(2, name="grow")(x)
    x = tf.keras.layers.Conv2D(2, 2, name="conv")(x)
    outputs = tf.keras.layers.Dense(2, name="out")(tf.keras.layers.Flatten(name="flatten")(x))
    from_model, from_firmware = _both_ways(_written(tf.keras.Model(inputs, outputs), tmp_path / "grow", "io_stream"))
    assert from_firmware["total"] == from_model["total"]


def test_power_of_two_weights_in_a_resource_kernel_are_as_wide_on_both_paths(tmp_path):
    """QKeras's quantized_po2 weights are hls4ml's exponent type on the config's path and, read from the firmware, the
    narrowest fixed type holding their values: a Resource kernel's weight memory and shared multipliers take that
    width on both (the config's 7-bit exponent type against the firmware's 12-bit fixed type made the project's
    firmware another design, found by `benchmarks/estimate_paths.py --layer-settings`, seed 1322)."""
    import tensorflow as tf
    from qkeras import QDense, quantized_po2

    tf.keras.utils.set_random_seed(13)
    inputs = tf.keras.Input((12,), name="values")
    outputs = QDense(7, kernel_quantizer=quantized_po2(7), bias_quantizer=quantized_po2(7), name="fc")(inputs)
    model = tf.keras.Model(inputs, outputs)
    folder = _written(model, tmp_path / "po2", layer_settings={"fc": {"Strategy": "Resource", "ReuseFactor": 4}})
    assert "exponent_" in (folder / "firmware" / "defines.h").read_text()
    from_model, from_firmware = _both_ways(folder)
    assert from_firmware["total"] == from_model["total"]


@pytest.mark.slow
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_a_reshape_and_a_permute_are_read_from_the_firmware(tmp_path, io_type):
    """hls4ml writes a Reshape as no call (io_stream: a repack) and a Permute as `nnet::transpose` with its shapes and
    axes in arrays beside its config: a Conv1D after them was an internal error from the firmware alone (the Dense's
    flat output given to it). Now the permute is read, the reshape taken from the next layer's stated input, and the
    kernels after it are the model's."""
    import tensorflow as tf

    from codesign.estimate.firmware import keras_model_of, read_firmware

    tf.keras.utils.set_random_seed(17)
    layers = tf.keras.layers
    inputs = tf.keras.Input((12,), name="features")
    x = layers.Permute((2, 1), name="permute")(layers.Reshape((3, 4), name="reshape")(layers.Dense(12, name="fc1")(inputs)))
    x = layers.Conv1D(2, 2, name="conv")(x)
    model = tf.keras.Model(inputs, layers.Dense(3, name="out")(layers.Flatten(name="flatten")(x)))
    folder = _written(model, tmp_path / "permute", io_type)
    rebuilt, _ = keras_model_of(read_firmware(folder))
    np.testing.assert_allclose(rebuilt.get_layer("conv").get_weights()[0], model.get_layer("conv").get_weights()[0], atol=2**-10)
    assert [layer.__class__.__name__ for layer in rebuilt.layers][:4] == ["InputLayer", "Dense", "Reshape", "Permute"]
    from_model, from_firmware = _both_ways(folder)
    assert from_firmware["total"] == from_model["total"]


@pytest.mark.slow
@pytest.mark.parametrize(("recurrent", "io_type", "strategy"), [("LSTM", "io_parallel", "Resource"), ("GRU", "io_stream", "Latency")])
def test_a_recurrent_layer_is_read_from_its_firmware(tmp_path, recurrent, io_type, strategy):
    """`nnet::lstm_stack` and `gru_stack` were refused from the firmware alone ("cannot read from firmware yet"). Now
    their sizes, activations, kernels (transposed by the Resource strategy) and biases are read: the rebuilt layer
    has the model's kernels and the folder estimates as its model."""
    import hls4ml
    import tensorflow as tf

    from codesign.estimate.firmware import keras_model_of, read_firmware

    tf.keras.utils.set_random_seed(19)
    layer = getattr(tf.keras.layers, recurrent)(6, return_sequences=recurrent == "GRU", name="rnn")
    model = tf.keras.Sequential([tf.keras.Input((5, 3), name="sequence"), layer, tf.keras.layers.Flatten(name="flatten"),
                                 tf.keras.layers.Dense(2, name="out")])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    config["Model"].update(Strategy=strategy, ReuseFactor=3)
    config["LayerName"]["rnn"].update(Strategy=strategy, ReuseFactor=3)
    folder = tmp_path / recurrent
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(folder), backend="Vivado", io_type=io_type).write()
    rebuilt, _ = keras_model_of(read_firmware(folder))
    for written, kept in zip(rebuilt.get_layer("rnn").get_weights()[:2], model.get_layer("rnn").get_weights()[:2]):
        np.testing.assert_allclose(written, kept, atol=2**-10)
    from_model, from_firmware = _both_ways(folder)
    assert from_firmware["total"] == from_model["total"] and next(row for row in from_firmware["layers"] if row["name"] == "rnn")["type"] == recurrent


@pytest.mark.slow
def test_a_layer_hls4ml_writes_no_call_for_is_said_to_be_missing_from_the_firmware(tmp_path):
    """hls4ml 1.3's Vivado backend has no template for a SimpleRNN: it writes the project without a call for it (the
    Dense after it reads an array nothing writes). The estimate is the firmware's, and says why (it said "another
    hls4ml wrote it, or it was edited"); the model file alone names the layer it has no rule for."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(23)
    model = tf.keras.Sequential([tf.keras.Input((5, 3)), tf.keras.layers.SimpleRNN(4, name="rnn"), tf.keras.layers.Dense(2, name="out")])
    folder = _written(model, tmp_path / "rnn")
    notes = estimate_project(folder)["notes"]
    assert any("hls4ml wrote no call for rnn (SimpleRNN), having no template for it on this backend" in note for note in notes), notes
    result = CliRunner().invoke(main, ["estimate", str(folder / "keras_model.keras")])
    assert result.exit_code == 0 and "no cost rule for SimpleRNN 'rnn'" in " ".join(result.output.split())


@pytest.mark.slow
def test_fifo_depths_are_the_ones_the_firmware_declares(tmp_path):
    """hls4ml's FIFO depth optimization (it needs the vendor's co-simulation) sets each stream's depth to what it
    measured and writes it into the top function (`#pragma HLS STREAM ... depth=`): the estimate priced hls4ml's
    default, one pixel count deep (block RAM above 32). Written here as that optimization writes it (the output
    variables' pragma, then hls4ml's writer): the written depths are priced, with the config and from the firmware
    alone, and said."""
    import hls4ml
    import tensorflow as tf

    tf.keras.utils.set_random_seed(29)
    model = tf.keras.Sequential([tf.keras.Input((10, 10, 3)), tf.keras.layers.Conv2D(8, 3, name="conv"), tf.keras.layers.Activation("relu", name="relu"),
                                 tf.keras.layers.Flatten(name="flatten"), tf.keras.layers.Dense(2, name="out")])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    default = tmp_path / "default"
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(default), backend="Vivado", io_type="io_stream").write()
    optimized = tmp_path / "optimized"
    graph = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(optimized), backend="Vivado", io_type="io_stream")
    for variable in graph.output_vars.values():
        if variable.pragma:
            variable.pragma = (variable.pragma[0], 4)  # hls4ml's set_fifo_depth: the measured maximum + 1
    graph.write()
    before, after = estimate_project(default), estimate_project(optimized)
    assert "depth=4" in (optimized / "firmware" / "myproject.cpp").read_text()
    assert before["total"]["bram_18k"] > after["total"]["bram_18k"] and not any("FIFO depths" in note for note in before["notes"])
    assert any(note.startswith("FIFO depths as the firmware declares them (#pragma HLS STREAM), not hls4ml's default: conv 64->4") for note in after["notes"])
    _firmware_only(optimized)
    assert estimate_project(optimized)["total"] == after["total"]


@pytest.mark.slow
def test_a_time_distributed_loop_is_refused_from_the_firmware_alone_by_name(tmp_path):
    """hls4ml 1.x writes a TimeDistributed as a loop in the top function (read_time_step, the wrapped call,
    write_time_step): from the firmware alone that read as a call of an undeclared variable ('reads input_1, which
    no earlier call writes'); it is named now. With its config the folder is estimated."""
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((6, 3)), tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(4, name="fc"), name="steps"),
                                 tf.keras.layers.Flatten(name="flat"), tf.keras.layers.Dense(2, name="out")])
    folder = _written(model, tmp_path / "steps")
    assert estimate_project(folder)["total"]["dsp"] > 0
    _firmware_only(folder)
    result = CliRunner().invoke(main, ["estimate", str(folder)])
    assert result.exit_code == 2 and "firmware layer 'steps' is a TimeDistributed loop (nnet::read_time_step_2d)" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_an_embedding_is_read_from_its_firmware(tmp_path, io_type):
    """`nnet::embedding` was refused from the firmware alone; read as a first cut, the model's input was taken as the
    next Dense's (24 values, not the 6 indices: 4x the products). Now its table and its indices are read: the folder
    estimates as its model."""
    import tensorflow as tf

    from codesign.estimate.firmware import keras_model_of, read_firmware

    tf.keras.utils.set_random_seed(37)
    model = tf.keras.Sequential([tf.keras.Input((6,)), tf.keras.layers.Embedding(20, 4, input_length=6, name="embed"),
                                 tf.keras.layers.Flatten(name="flat"), tf.keras.layers.Dense(3, name="out")])
    folder = _written(model, tmp_path / "embed", io_type)
    rebuilt, _ = keras_model_of(read_firmware(folder))
    np.testing.assert_allclose(rebuilt.get_layer("embed").get_weights()[0], model.get_layer("embed").get_weights()[0], atol=2**-10)
    from_model, from_firmware = _both_ways(folder)
    assert from_firmware["total"] == from_model["total"]


OLD_FIRMWARE = Path(__file__).parent / "firmware_cases"  # written by hls4ml 0.4 (tests/firmware_cases/write_hls4ml_0_4.py)


@pytest.mark.parametrize("name", sorted(OLD_FIRMWARE_MODELS))
def test_hls4ml_0_4_firmware_is_read_with_its_weights_where_they_are(name):
    """hls4ml 0.4 (2020) names its kernels by strategy (`conv_1d_latency_cl`: refused), writes a 1D convolution's width as
    `n_in` (its input was read as the next Dense's, an internal error) and a Resource convolution's weights channels
    first (read as hls4ml 0.6 writes them: permuted). Found by writing small Keras models with hls4ml 0.4 and 0.5: read
    from the firmware alone, every weight is now the model's, in its place."""
    from codesign.estimate.firmware import keras_model_of, read_firmware

    rebuilt, hls_config = keras_model_of(read_firmware(OLD_FIRMWARE / name))
    written = old_firmware_model(name).get_weights()
    assert [weights.shape for weights in rebuilt.get_weights()] == [weights.shape for weights in written]
    assert all(np.array_equal(got, want) for got, want in zip(rebuilt.get_weights(), written))
    report = estimate_project(OLD_FIRMWARE / name)
    assert report["notes"][0] == "estimated from the firmware (parameters.h, defines.h, weights/): no hls4ml_config.yml"
    if OLD_FIRMWARE_MODELS[name][0] == "Resource":  # hls4ml 0.4 moved each reuse factor to its closest valid one: what was built
        assert [hls_config["LayerName"][layer]["ReuseFactor"] for layer in ("layer2", "layer6", "layer8")] == [3, 2, 3]


def test_hls4ml_0_4_firmware_estimates_as_hls4ml_1_3_builds_the_same_model(tmp_path):
    """The hls4ml 0.4 Conv2D network, from its firmware alone, prices as hls4ml 1.3's project of the same model with the
    same settings: the same kernels, weights and types, and the top function's pragma (0.4 pipelined it, where 1.3
    makes a dataflow top of an io_parallel convolution: the firmware's is read, and 1.3 is told it here)."""
    import hls4ml

    name = "hls4ml_0_4_conv2d_latency"
    model = old_firmware_model(name)
    config = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vivado")
    config["Model"]["PipelineStyle"] = "pipeline"
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(tmp_path / "new"), backend="Vivado",
                                               part="xcvu13p-flga2577-2-e", clock_period=5).write()
    assert "#pragma HLS PIPELINE" in (OLD_FIRMWARE / name / "firmware" / "myproject.cpp").read_text()
    assert estimate_project(OLD_FIRMWARE / name)["total"] == estimate_project(tmp_path / "new")["total"]


@pytest.mark.parametrize("backend", ["Quartus", "Catapult"])
def test_another_tools_project_is_refused_with_or_without_its_config(tmp_path, backend):
    """hls4ml's Quartus and Catapult backends write ac_fixed firmware for Intel HLS or Catapult; a config naming them was
    refused, but then their firmware was estimated as Vivado HLS builds it (on 'Arria10' priced as an UltraScale part).
    Refused either way, in one line that names the tool."""
    import hls4ml
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(4, name="fc1")])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(tmp_path), backend=backend).write()
    with_config = CliRunner().invoke(main, ["estimate", str(tmp_path)])
    assert with_config.exit_code == 2 and f"backend '{backend}' is not one codesign estimates (Vivado, Vitis)" in with_config.output
    _firmware_only(tmp_path)
    alone = CliRunner().invoke(main, ["estimate", str(tmp_path)])
    assert alone.exit_code == 2 and "Traceback" not in alone.output
    assert f"{tmp_path / 'firmware' / 'defines.h'}: firmware written by hls4ml's Quartus, oneAPI or Catapult backend" in alone.output


def test_a_libero_firmware_is_refused_naming_the_tool(hls4ml_project, tmp_path):
    """hls4ml's Libero backend (Microchip SmartHLS, which must be installed to write a project) declares its types from
    SmartHLS's ap_fixpt.hpp: its firmware alone was read as Vivado HLS builds it. Here a project's defines.h is the
    Libero backend's own template, as hls4ml ships it."""
    import hls4ml

    folder = tmp_path / "libero"
    shutil.copytree(hls4ml_project, folder)
    _firmware_only(folder)
    shutil.copy(Path(hls4ml.__file__).parent / "templates" / "libero" / "firmware" / "defines.h", folder / "firmware" / "defines.h")
    result = CliRunner().invoke(main, ["estimate", str(folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "firmware written by hls4ml's Libero backend (SmartHLS's ap_fixpt types, for Microchip FPGAs)" in result.output


def test_a_folder_holding_one_project_estimates_it_and_one_holding_several_names_them(hls4ml_project, tmp_path):
    """A new user gives the repository, not the project inside it: that read as a Keras model ('SavedModel file does
    not exist'). One project inside is estimated, with a note naming it; several are named; none says what was sought."""
    repository = tmp_path / "repo"
    shutil.copytree(hls4ml_project, repository / "hls" / "my_prj")
    one = CliRunner().invoke(main, ["estimate", str(repository)])
    assert one.exit_code == 0, one.output
    assert f"note: {repository} is not an hls4ml project folder: estimated the one project it holds, {repository / 'hls' / 'my_prj'}" in one.output
    assert one.output.split("note:")[0] == CliRunner().invoke(main, ["estimate", str(repository / "hls" / "my_prj")]).output.split("note:")[0]
    shutil.copytree(hls4ml_project, repository / "other_prj")
    several = CliRunner().invoke(main, ["estimate", str(repository)])
    assert several.exit_code == 2 and "it holds 2 projects: hls/my_prj, other_prj: estimate one of them" in several.output
    (tmp_path / "empty").mkdir()
    none = CliRunner().invoke(main, ["estimate", str(tmp_path / "empty")])
    assert none.exit_code == 2 and "not an hls4ml project folder (no hls4ml_config.yml, nor firmware/" in none.output
    assert "SavedModel" not in none.output and "Traceback" not in none.output


def test_a_weight_that_is_not_a_number_is_refused_naming_its_layer(tmp_path):
    """hls4ml writes a NaN weight (a diverged training, a batch normalization of negative variance) as `nan`: the
    estimate leaked numpy's cast warning and priced garbage; it is a one-line refusal naming the layer."""
    folder = tmp_path / "nan"
    shutil.copytree(OLD_FIRMWARE / "hls4ml_0_4_conv2d_latency", folder)
    (folder / "firmware" / "weights" / "w6.txt").write_text(", ".join(["nan"] * 3 + ["0.5"] * 45))
    result = CliRunner().invoke(main, ["estimate", str(folder)])
    assert result.exit_code == 2 and "Traceback" not in result.output and "Warning" not in result.output
    assert "error: layer 'layer6': 3 of its 48 weights are not numbers (NaN or infinite)" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("io_type, convolution", [("io_parallel", False), ("io_parallel", True), ("io_stream", True)])
def test_distributed_arithmetic_kernels_are_read_from_their_code(tmp_path, io_type, convolution):
    """hls4ml's distributed_arithmetic strategy writes each kernel as da4ml's adder graph in nnet_code_gen.h, no weight
    file: from the firmware alone its Dense calls (`dense_da_N`) were casts (1,000 LUT against 6,625) and its streamed
    ones an internal error, which also broke the project's estimate with its config. Read back from the code, the
    kernels are the model's quantized weights exactly, and both paths agree, with the top function's pragma (a
    dataflow top where the other layers are Resource) and a Keras Softmax layer's config, which hls4ml 1.3 declares
    as `Softmax_configN` and calls `softmax_configN` (refused from the firmware alone before)."""
    import hls4ml
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu

    from codesign.estimate.da_firmware import da_kernels

    tf.keras.utils.set_random_seed(5)
    bits = {"kernel_quantizer": quantized_bits(6, 0, alpha=1), "bias_quantizer": quantized_bits(6, 0, alpha=1)}
    inputs = tf.keras.Input((6, 6, 2) if convolution else (12,), name="image")
    kernel = QConv2D(3, 3, name="conv", **bits) if convolution else QDense(8, name="conv", **bits)
    x = tf.keras.layers.Flatten(name="flatten")(QActivation(quantized_relu(6), name="relu")(kernel(inputs)))
    model = tf.keras.Model(inputs, tf.keras.layers.Softmax(name="softmax")(QDense(4, name="fc", **bits)(x)))  # (a layer with cycles)
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["Model"]["Strategy"] = "Resource"  # the other layers': hls4ml 1.3 then writes a dataflow top, which the
    for name in ("conv", "fc"):  # firmware's rebuilt layers (distributed_arithmetic, Latency) would not say: its pragma does
        config["LayerName"][name]["Strategy"] = "distributed_arithmetic"
    folder = tmp_path / "da"
    hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(folder), backend="Vitis", io_type=io_type).write()
    kernels = {kernel.shape: kernel for kernel, _ in da_kernels(folder / "firmware").values()}
    for name in ("conv", "fc"):
        quantized = model.get_layer(name).kernel_quantizer_internal(model.get_layer(name).kernel).numpy()
        shape = (quantized.size // quantized.shape[-1], quantized.shape[-1])
        assert kernels[shape].tolist() == quantized.reshape(shape).tolist()
    from_model, from_firmware = _both_ways(folder)  # (it asserts the config's design is the firmware's)
    assert not any("estimated as a cast" in note for note in from_firmware["notes"])
    assert from_firmware["total"] == from_model["total"]
    assert [layer["dsp"] for layer in from_firmware["layers"] if layer["name"] in ("conv", "fc")] == [0, 0]  # adder graphs


def test_a_distributed_arithmetic_kernel_is_followed_term_by_term_and_an_unknown_statement_named(tmp_path):
    """The adder graph's statements: an input, a sum or difference of values each maybe shifted and negated, or of a
    constant (the bias), an output a cast of one value. A statement of another form is refused, named, not guessed."""
    from codesign.errors import ModelError
    from codesign.estimate.da_firmware import GENERATED, da_kernels

    code = tmp_path / "firmware" / GENERATED
    code.parent.mkdir(parents=True)
    kernel = """template <typename inp_t, typename out_t>
void dense_da_3(inp_t model_inp[3], out_t model_out[3]) { // ap_fixed<8,3> -> ap_fixed<12,5>
    #pragma HLS INLINE

    ap_fixed<8,3> v0 = model_inp[0]; // 0.0
    ap_fixed<8,3> v1 = model_inp[1]; // 0.0
    ap_fixed<8,3> v2 = model_inp[2]; // 0.0
    ap_fixed<10,4> v3 = v0 - bit_shift<-1>(v2); // 1.0
    ap_fixed<11,5> v4 = v3 + bit_shift<2>(v1); // 1.0
    ap_fixed<12,5> v5 = v4 - ap_ufixed<2,1>(1.5); // 1.0
    ap_ufixed<1,0> v6 = 0.0; // 0.0
    model_out[0] = ap_fixed<12,5>(bit_shift<-2>(v5));
    model_out[1] = ap_fixed<12,5>(-v3);
    model_out[2] = ap_fixed<12,5>(v6);
}
"""
    code.write_text(kernel)
    weights, bias = da_kernels(tmp_path / "firmware")["dense_da_3"]
    assert weights.tolist() == [[0.25, -1.0, 0.0], [1.0, 0.0, 0.0], [-0.125, 0.5, 0.0]] and bias.tolist() == [-0.375, 0.0, 0.0]
    code.write_text(kernel.replace("v3 + bit_shift<2>(v1)", "v3 * v1"))
    with pytest.raises(ModelError, match=r"dense_da_3: 'ap_fixed<11,5> v4 = v3 \* v1;' is not a statement codesign reads"):
        da_kernels(tmp_path / "firmware")


def test_a_firmware_call_codesign_does_not_know_is_a_cast_with_a_note_or_named_when_it_has_weights(hls4ml_project, tmp_path):
    folder = tmp_path / "odd"
    shutil.copytree(hls4ml_project, folder)
    (folder / "hls4ml_config.yml").unlink()
    top = folder / "firmware" / "myproject.cpp"
    original = top.read_text()
    top.write_text(original.replace("nnet::relu<", "nnet::my_custom_op<"))
    cast = CliRunner().invoke(main, ["estimate", str(folder)])
    assert cast.exit_code == 0 and "note: firmware layer 'relu1' (nnet::my_custom_op) estimated as a cast of its input" in cast.output
    shutil.copy(hls4ml_project / "hls4ml_config.yml", folder / "hls4ml_config.yml")  # with its config, the config's design
    assert _config_and_firmware_agree(estimate_project(folder))  # (the firmware's reading is incomplete)
    (folder / "hls4ml_config.yml").unlink()
    top.write_text(original.replace("nnet::dense<layer4_t", "nnet::my_custom_op<layer4_t"))
    refused = CliRunner().invoke(main, ["estimate", str(folder)])
    assert refused.exit_code == 2 and "firmware layer 'out' calls nnet::my_custom_op, which codesign cannot read from firmware yet" in refused.output
    assert "Traceback" not in refused.output


@pytest.mark.slow
@pytest.mark.skipif(not (CALIBRATION.parent / "projects2").exists(), reason="shared/calibration is not beside the checkout")
def test_the_firmware_path_equals_the_model_path_on_the_public_projects_that_have_both():
    """Every projects2 folder whose model loads, except the PYNQ builds (docs/estimation.md: hls4ml 1.3 types their
    weights by the QKeras quantizer, 6 bits, where the hls4ml that wrote the firmware used the config's 7)."""
    from codesign.estimate.firmware import convert_firmware, read_firmware
    from codesign.estimate.model import estimate_graph
    from codesign.estimate.project import convert_project
    from codesign.parts import part_or_unlisted

    compared = []
    for folder in sorted((CALIBRATION.parent / "projects2").iterdir()):
        try:
            project = read_project(folder)
            graph = convert_project(project)
        except Exception:  # noqa: BLE001 (no loadable model: only the firmware path exists)
            continue
        if "pynq" in folder.name:
            continue
        part = part_or_unlisted(project.part)[0]
        design = read_firmware(folder)
        from_model = estimate_graph(graph, part, project.clock_ns, project.io_type, project.backend)
        from_firmware = estimate_graph(convert_firmware(design, project.backend, project.part, project.clock_ns), part, project.clock_ns,
                                        design.io_type, project.backend)
        assert from_firmware["total"] == from_model["total"], folder.name
        compared.append(folder.name)
    assert len(compared) == 5, compared


def test_a_part_outside_the_table_is_estimated_with_a_note(hls4ml_project, tmp_path):
    import shutil

    folder = tmp_path / "versal"
    shutil.copytree(hls4ml_project, folder)
    path = folder / "hls4ml_config.yml"
    path.write_text(path.read_text().replace("xc7z020clg400-1", "xcku060-ffva1156-2-e"))
    result = CliRunner().invoke(main, ["estimate", str(folder), "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    assert "part 'xcku060-ffva1156-2-e' is not in codesign's part table" in result.output
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["total"]["lut"] > 0 and report["part"]["family"] == "ultrascale" and set(report["utilization"].values()) == {None}


@pytest.mark.slow
@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_every_calibration_project_is_estimated_with_its_vendor_report_beside(tmp_path):
    from codesign.commands import estimate_target

    for folder in sorted(CALIBRATION.iterdir()):
        report = estimate_target(folder, {}, None, lambda _: None)
        assert report["total"]["lut"] > 0, folder.name
        assert report["vendor"]["csynth"]["lut"] > 0, folder.name  # parsed beside, never used for the estimate


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_a_project_synthesized_at_another_clock_than_configured_is_estimated_at_the_clock_of_its_build(tmp_path):
    """The public jet-tagging project's hls4ml_config.yml says 5 ns; its report was built for 3.33 ns (the clock in
    projects.csv): the estimate, and an import, are of the build, and say so."""
    from codesign.project_import import import_spec

    folder = tmp_path / "jet"
    shutil.copytree(CALIBRATION / "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__jet_tagging__hls4ml_prj__DSP_reuse1", folder)
    built = estimate_project(folder)
    assert built["clock_ns"] == 3.33
    assert any("built for a 3.33 ns clock where the configuration says 5 ns: taken at 3.33 ns" in note for note in built["notes"])
    for report in folder.glob("reports/*"):
        report.unlink()
    configured = estimate_project(folder)
    assert configured["clock_ns"] == 5.0 and not any("clock" in note for note in configured["notes"])
    assert configured["total"]["latency_cycles"] < built["total"]["latency_cycles"]  # a longer period holds more logic per cycle
    shutil.copytree(CALIBRATION / "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__jet_tagging__hls4ml_prj__DSP_reuse1", tmp_path / "jet_built")
    notes: list[str] = []
    spec = import_spec(tmp_path / "jet_built", "jet", None, tmp_path / "run", notes.append)
    assert spec.hls.clock_ns == 3.33 and any("3.33 ns" in note for note in notes)  # an import is the same build


@pytest.mark.slow
def test_a_project_is_scheduled_with_the_clock_uncertainty_its_build_set(hls4ml_project, tmp_path):
    """The period a cycle holds is the clock less the uncertainty the build set: its C-synthesis report's clock table
    first, else hls4ml's project.tcl, else the config's ClockUncertainty, else hls4ml 1.3's default of the backend.
    hls4ml 0.8 wrote 12.5% for Vitis too, and ArgyKokk's Vitis HLS 2021.1 builds used it (0.42 ns of 3.33 ns)."""
    from codesign.estimate.model import Timing
    from codesign.estimate.project import clock_uncertainty_of_build
    from codesign.estimate.vendor import REPORT_SAYS

    folder = tmp_path / "project"
    shutil.copytree(hls4ml_project, folder)
    assert clock_uncertainty_of_build(folder, 10.0) == (0.27, "project.tcl")  # hls4ml 1.3's Vitis backend writes 27%
    assert estimate_project(folder)["clock_uncertainty"] == 0.27
    tcl = folder / "project.tcl"
    tcl.write_text(tcl.read_text().replace("set clock_uncertainty 27%", "set clock_uncertainty 12.5%"))
    estimate = estimate_project(folder)
    assert estimate["clock_uncertainty"] == 0.125
    assert any("scheduled with a 12.5% clock uncertainty (from project.tcl), not hls4ml 1.3's 27% for Vitis" in note for note in estimate["notes"])
    tcl.unlink()
    config = folder / "hls4ml_config.yml"
    config.write_text(config.read_text() + "ClockUncertainty: '1.5'\n")  # in ns, as hls4ml also takes it
    assert clock_uncertainty_of_build(folder, 10.0) == (0.15, "the config's ClockUncertainty")
    argykokk = CALIBRATION / "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__jet_tagging__hls4ml_prj__DSP_reuse1"
    if argykokk.exists():
        assert clock_uncertainty_of_build(argykokk, 3.33) == (0.42 / 3.33, REPORT_SAYS)
    assert Timing(5.0, "Vitis", "ultrascale", "io_parallel").period == pytest.approx(3.65)
    assert Timing(5.0, "Vitis", "ultrascale", "io_parallel", uncertainty=0.125).period == pytest.approx(4.375)


def test_an_import_is_a_run_validated_bit_exact_as_configured(hls4ml_project, tmp_path):
    """`codesign import` keeps the author's HLSConfig and settings, validates over the input type's range (flagged
    synthetic) and gives the same Python API as any run."""
    import codesign

    messages: list[str] = []
    run = codesign.import_project(hls4ml_project, "imported", output_root=tmp_path, say=messages.append)
    spec = run.spec
    assert (spec.hls.precision, spec.hls.part, spec.hls.clock_ns, spec.hls.reuse_factor) == ("as-configured", "xc7z020clg400-1", 10, 4)
    validation = run.validate()
    assert validation.bit_exact and validation.samples == 1000 and validation.mismatched_samples == 0
    assert run.manifest["complete"]
    summary = json.loads((run.path / "reports" / "summary.json").read_text())
    assert summary["warning"].startswith("SYNTHETIC DATA")
    x = np.load(run.path / "imported" / "synthetic_inputs.npz")["x_test"]
    assert x.min() < -31 and x.max() > 31  # fixed<16,6>: inputs across [-32, 32)
    assert np.array_equal(x * 1024, np.round(x * 1024))  # every input exactly representable
    converted = json.loads((run.path / "reports" / "convert.json").read_text())
    assert converted["conversion"] == "as configured in hls4ml_config.yml"
    assert any("drawn across fixed<16,6," in message for message in messages)
    assert run.estimate().total == codesign.estimate_design(hls4ml_project).total  # the run estimates the project's design


@pytest.mark.slow
def test_a_project_with_only_its_firmware_imports_as_a_run_of_the_rebuilt_design(hls4ml_project, tmp_path):
    """What `codesign estimate PROJECT` accepts, `codesign import` accepts: with no config and no model, the design
    rebuilt from the firmware is the run's model, with the firmware's types, and estimates as the project."""
    import codesign

    folder = tmp_path / "firmware_only"
    shutil.copytree(hls4ml_project, folder)
    for name in ("hls4ml_config.yml", "keras_model.keras", "keras_model.h5", "build_prj.tcl", "project.tcl"):  # firmware/ and no build script
        (folder / name).unlink(missing_ok=True)
    messages: list[str] = []
    run = codesign.import_project(folder, "from_firmware", output_root=tmp_path / "runs", say=messages.append)
    assert any(message.startswith("note: the model rebuilt from the firmware") for message in messages)
    assert (run.path / "imported" / "keras_model_from_firmware.h5").is_file()
    assert any("no config or build script names the part and clock: hls4ml's defaults taken" in message for message in messages)
    assert (run.spec.hls.part, run.spec.hls.clock_ns) == ("xcvu13p-flga2577-2-e", 5)
    assert run.estimate().total == codesign.estimate_design(folder).total
    assert run.validate().samples == 1000


@pytest.mark.slow
def test_an_import_of_a_project_whose_firmware_is_not_its_configs_design_says_which_it_validates(hls4ml_project, tmp_path):
    """The run is the config's design (the author's Keras model); where the firmware differs (another hls4ml wrote
    it), a note says so and names what `codesign estimate FOLDER` estimates instead."""
    import re

    import codesign

    folder = tmp_path / "older"
    shutil.copytree(hls4ml_project, folder)
    defines = folder / "firmware" / "defines.h"
    defines.write_text(re.sub(r"typedef ap_fixed<16,6> input_t;", "typedef ap_fixed<30,12> input_t;", defines.read_text()))
    messages: list[str] = []
    run = codesign.import_project(folder, "older", output_root=tmp_path / "runs", say=messages.append)
    said = next(message for message in messages if OTHER_FIRMWARE in message)
    assert "the run is the config's design" in said and f"codesign estimate {folder}" in said and "LUT " in said
    assert run.spec.hls.precision == "as-configured"
    unchanged: list[str] = []
    codesign.import_project(hls4ml_project, "same", output_root=tmp_path / "runs", say=unchanged.append)
    assert not any(OTHER_FIRMWARE in message for message in unchanged)


def test_import_refuses_a_folder_that_is_not_a_project(tmp_path):
    result = CliRunner().invoke(main, ["import", str(tmp_path), "--name", "x", "--output-root", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not an hls4ml project folder (no hls4ml_config.yml in it, nor firmware/ with parameters.h and defines.h)" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_project_on_a_part_outside_the_table_imports_and_is_estimated_by_its_family(hls4ml_project, tmp_path):
    """What `codesign estimate PROJECT` accepts, `codesign import` accepts: the part is the author's, not a typo."""
    import codesign

    project = tmp_path / "ku15p_prj"
    shutil.copytree(hls4ml_project, project)
    config = project / "hls4ml_config.yml"
    config.write_text(config.read_text().replace("xc7z020clg400-1", "xcku15p-ffve1517-1-i"))
    run = codesign.import_project(project, "ku15p", output_root=tmp_path / "runs", say=lambda _: None)
    assert run.spec.hls.part == "xcku15p-ffve1517-1-i"
    estimate = run.estimate().dump()
    assert estimate["utilization"]["lut"] is None and estimate["part"]["family"] == "ultrascale"
    assert estimate["notes"][0] == (
        "part 'xcku15p-ffve1517-1-i' is not in codesign's part table (codesign/parts.py): estimated by its family, no utilization"
    )
    assert estimate["total"] == codesign.estimate_design(project).total
