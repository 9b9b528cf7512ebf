"""The spec schema: bundled specs load, every mistake is a SpecError naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from codesign.config import Spec, load_spec, parse_ap_fixed, spec_from_dict
from codesign.errors import SpecError
from codesign.fixed import Fixed

ROOT = Path(__file__).resolve().parents[1]


def write_spec(tmp_path: Path, data: dict | str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("path", sorted((ROOT / "models").glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_specs_load(path):
    spec = load_spec(path)
    assert spec.model.layers


def test_defaults_are_filled_in(tiny_spec_dict):
    spec = spec_from_dict(tiny_spec_dict)
    assert spec.hls.backend == "Vitis"
    assert spec.hls.precision == "bit-exact"
    assert spec.quantization.activations.bits == 8


def test_unknown_top_level_key_names_file_and_key(tmp_path, tiny_spec_dict):
    tiny_spec_dict["trainig"] = {"epochs": 3}
    path = write_spec(tmp_path, tiny_spec_dict)
    with pytest.raises(SpecError, match=re.escape(f"{path}: unknown key 'trainig'")):
        load_spec(path)


def test_unknown_key_inside_a_layer_names_its_index(tmp_path, tiny_spec_dict):
    tiny_spec_dict["model"]["layers"][0]["filter"] = 3
    with pytest.raises(SpecError, match=r"unknown key 'model\.layers\.0\.filter'"):
        load_spec(write_spec(tmp_path, tiny_spec_dict))


def test_wrong_type_is_not_coerced(tmp_path, tiny_spec_dict):
    tiny_spec_dict["model"]["layers"][0]["filters"] = "8"
    with pytest.raises(SpecError, match=r"key 'model\.layers\.0\.filters'.*'8'"):
        load_spec(write_spec(tmp_path, tiny_spec_dict))


def test_wrong_type_in_hls(tiny_spec_dict):
    tiny_spec_dict["hls"] = {"reuse_factor": 1.5}
    with pytest.raises(SpecError, match=r"key 'hls\.reuse_factor'"):
        spec_from_dict(tiny_spec_dict)


def test_unknown_layer_type(tiny_spec_dict):
    tiny_spec_dict["model"]["layers"][0]["type"] = "conv3d"
    with pytest.raises(SpecError, match=r"model\.layers\.0.*conv3d"):
        spec_from_dict(tiny_spec_dict)


def test_malformed_yaml_gives_line_and_column(tmp_path):
    path = write_spec(tmp_path, "model:\n  layers: [\n    {type: dense, units: 3\n")
    with pytest.raises(SpecError, match=r"malformed YAML at line \d+, column \d+"):
        load_spec(path)


def test_missing_model_section(tiny_spec_dict):
    del tiny_spec_dict["model"]
    with pytest.raises(SpecError, match="missing key 'model'"):
        spec_from_dict(tiny_spec_dict)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["quantization"].update(weights={"bits": 4, "integer": 4}), "integer .4. must be smaller"),
        (lambda d: d["quantization"].update(weights={"bits": 0, "integer": 0}), "quantization.weights.bits"),
        (lambda d: d["hls"].update(clock_ns=0.0), "hls.clock_ns"),
        (lambda d: d["hls"].update(precision="fixed16"), "not a precision policy"),
        (lambda d: d["hls"].update(io_type="io_serial"), "hls.io_type"),
        (lambda d: d["hls"].update(layers={"fc9": {"reuse_factor": 2}}), r"hls\.layers\.fc9: no layer of that name"),
        (lambda d: d["quantization"].update(layers={"nope": {}}), r"quantization\.layers\.nope: no layer"),
        (lambda d: d["hls"].update(layers={"fc1": {"accum": "int16"}}), "not a precision policy"),
        (lambda d: d["model"]["layers"].insert(0, {"type": "batchnorm"}), "batchnorm must directly follow a conv2d"),
        (lambda d: d["model"]["layers"].insert(0, {"type": "activation", "activation": "softmax"}), "only allowed as the last"),
        (lambda d: d["model"]["layers"][1].update(name="conv1"), "two layers have the same name"),
        (lambda d: d["dataset"].update(name="npz"), "needs 'path'"),
        (lambda d: d["dataset"].update(path="x.npz"), "only for dataset 'npz'"),
        (lambda d: d["model"].update(file="m.h5"), "exactly one of 'layers' or 'file'"),
        (lambda d: d["training"].update(pruning_sparsity=1.0), "training.pruning_sparsity"),
    ],
)
def test_inconsistent_specs_are_refused(tiny_spec_dict, mutate, message):
    tiny_spec_dict.setdefault("hls", {})
    mutate(tiny_spec_dict)
    with pytest.raises(SpecError, match=message):
        spec_from_dict(tiny_spec_dict)


def test_explicit_precision_and_overrides_are_accepted(tiny_spec_dict):
    tiny_spec_dict["hls"] = {"precision": "ap_fixed<18,8>", "layers": {"fc1": {"reuse_factor": 4, "accum": "ap_fixed<24,12>"}}}
    spec = spec_from_dict(tiny_spec_dict)
    assert spec.hls.layers["fc1"].reuse_factor == 4
    assert parse_ap_fixed("ap_ufixed<8,3>") == Fixed(8, 3, False)
    assert parse_ap_fixed("ap_fixed<8,3,RND_CONV,SAT>").hls4ml() == "fixed<8,3,RND_CONV,SAT>"


def test_default_layer_names(tiny_spec_dict):
    for layer in tiny_spec_dict["model"]["layers"]:
        del layer["name"]
    names = [name for name, _ in spec_from_dict(tiny_spec_dict).model.named_layers()]
    assert names[:3] == ["conv2d_1", "activation_1", "max_pooling2d_1"]
    assert names[4] == "dense_1" and names[6] == "dense_2"


def test_digest_ignores_key_order_and_tracks_values(tmp_path, tiny_spec_dict):
    first = load_spec(write_spec(tmp_path, tiny_spec_dict)).digest()
    reordered = dict(reversed(list(tiny_spec_dict.items())))
    second = load_spec(write_spec(tmp_path, yaml.safe_dump(reordered, sort_keys=False))).digest()
    assert first == second
    tiny_spec_dict["training"]["epochs"] = 4
    assert load_spec(write_spec(tmp_path, tiny_spec_dict)).digest() != first


def test_relative_data_path_is_relative_to_the_spec(tmp_path, tiny_spec_dict):
    (tmp_path / "data").mkdir()
    tiny_spec_dict["dataset"] = {"name": "npz", "path": "data/set.npz"}
    spec = load_spec(write_spec(tmp_path, tiny_spec_dict))
    assert Path(spec.dataset.path) == (tmp_path / "data" / "set.npz").resolve()


def _field_names(model: type[BaseModel], seen: set) -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for candidate in _models_in(field.annotation):
            if candidate not in seen:
                seen.add(candidate)
                names |= _field_names(candidate, seen)
    return names


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in getattr(annotation, "__args__", ()) for model in _models_in(argument)]


def test_docs_document_every_field():
    documented = (ROOT / "docs" / "spec.md").read_text()
    missing = sorted(name for name in _field_names(Spec, set()) if f"`{name}`" not in documented)
    assert not missing, f"docs/spec.md does not document: {missing}"


def test_a_users_large_cnn_streams_unless_a_spec_chose_its_io_type(tmp_path):
    """`codesign build --model` of a CNN over 32x32 inputs or more is built in io_stream, as hls4ml recommends, and
    says so; a smaller one, or a spec that sets hls.io_type, keeps its choice."""
    import tensorflow as tf

    from codesign.commands import resolve_build_spec

    for side in (32, 8):
        inputs = tf.keras.Input((side, side, 3))
        tf.keras.Model(inputs, tf.keras.layers.Conv2D(2, 3)(inputs)).save(tmp_path / f"cnn{side}.keras")
    said: list[str] = []
    large, _ = resolve_build_spec(None, tmp_path / "cnn32.keras", None, "large", None, say=said.append)
    small, _ = resolve_build_spec(None, tmp_path / "cnn8.keras", None, "small", None, say=said.append)
    assert large.hls.io_type == "io_stream" and small.hls.io_type == "io_parallel"
    assert said == ["note: a convolutional model over 32x32 inputs is built in io_stream, as hls4ml recommends (set hls.io_type in a spec to choose)"]
    import yaml

    spec = yaml.safe_load((Path(__file__).resolve().parents[1] / "models" / "digits_cnn.yaml").read_text())
    spec.setdefault("hls", {})["io_type"] = "io_parallel"
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    chosen, _ = resolve_build_spec(spec_file, tmp_path / "cnn32.keras", None, None, None)
    assert chosen.hls.io_type == "io_parallel"
