"""The open-source RTL path: spec rules, missing tools, the im2col of a convolution kernel, and a real run."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.config import spec_from_dict
from codesign.errors import SpecError, ToolchainError
from codesign.fixed import Fixed
from codesign.layout import RunLayout, read_json


def _da_spec(tiny_spec_dict: dict, **rtl) -> dict:
    data = copy.deepcopy(tiny_spec_dict)
    data["hls"] = {"strategy": "distributed_arithmetic"}
    data["rtl"] = {"enabled": True, **rtl}
    return data


def test_rtl_needs_the_distributed_arithmetic_strategy(tiny_spec_dict):
    data = _da_spec(tiny_spec_dict)
    data["hls"]["strategy"] = "Latency"
    with pytest.raises(SpecError, match="rtl.enabled: the RTL path writes da4ml's adder graphs"):
        spec_from_dict(data)
    data = _da_spec(tiny_spec_dict)
    data["hls"]["reuse_factor"] = 2
    with pytest.raises(SpecError, match="distributed_arithmetic strategy takes reuse factor 1 only"):
        spec_from_dict(data)


def test_missing_tools_are_named_with_how_to_get_them(monkeypatch, tmp_path):
    from codesign.rtl import tool_versions

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match=r"needs verilator \(apt-get install verilator.*; yosys \(apt-get install yosys"):
        tool_versions(synth=True)
    result = CliRunner().invoke(main, ["rtl", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a run directory" in result.output


def test_da4mls_first_compile_is_told_from_its_cache(monkeypatch, tmp_path):
    """A fresh environment (no numba index files beside da4ml's code) is told apart from one where da4ml has run, so
    the first distributed_arithmetic conversion says why it waits."""
    import importlib.machinery
    import importlib.util

    from codesign import convert

    package = tmp_path / "da4ml"
    (package / "cmvm").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    found = importlib.machinery.ModuleSpec("da4ml", None, is_package=True)
    found.submodule_search_locations = [str(package)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: found if name == "da4ml" else None)
    assert convert.da4ml_compiles_first()
    (package / "cmvm" / "__pycache__").mkdir()
    (package / "cmvm" / "__pycache__" / "api.solve-155.py311.nbi").write_bytes(b"")
    assert not convert.da4ml_compiles_first()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert not convert.da4ml_compiles_first()  # no da4ml: nothing to compile (hls4ml says what is missing)


def test_convolution_vectors_are_the_kernel_patches_keras_convolves():
    """im2col with 'same' padding and stride: patches @ W equals Keras's Conv2D on the same feature maps."""
    import tensorflow as tf

    from codesign.rtl import Kernel, vectors

    rng = np.random.default_rng(0)
    weights = rng.integers(-8, 8, (3, 3, 2, 4)).astype(np.float64)
    maps = rng.integers(0, 16, (5, 7, 6, 2)).astype(np.float64)
    for stride, padding in ((1, "same"), (2, "valid")):
        layer = tf.keras.layers.Conv2D(4, 3, strides=stride, padding=padding, use_bias=False)
        expected = layer(maps)
        layer.set_weights([weights])
        expected = layer(maps).numpy()
        geometry = {"in_height": 7, "in_width": 6, "n_chan": 2, "out_height": expected.shape[1], "out_width": expected.shape[2],
                    "filt_height": 3, "filt_width": 3, "stride_height": stride, "stride_width": stride,
                    "pad_top": 1 if padding == "same" else 0, "pad_left": 1 if padding == "same" else 0}
        kernel = Kernel("conv", "Conv2D", weights.reshape(-1, 4), np.zeros(4), Fixed(8, 4, False), Fixed(16, 8, True), "in", geometry)
        patches, outputs = vectors(kernel, maps.reshape(5, -1), expected.reshape(5, -1))
        assert np.array_equal(patches @ kernel.weights, outputs)


@pytest.mark.slow
def test_a_distributed_arithmetic_run_is_simulated_bit_exact_and_synthesized(tmp_path, tiny_spec_dict):
    from codesign.commands import build_run

    messages: list[str] = []
    build_run(spec_from_dict(_da_spec(tiny_spec_dict)), tmp_path / "da", messages.append)
    report = read_json(RunLayout(tmp_path / "da").report("rtl"))
    assert report["bit_exact"] is True and report["samples"] == 360 and report["mismatched_samples"] == 0
    assert [layer["name"] for layer in report["layers"]] == ["conv1", "fc1", "output"]
    conv = report["layers"][0]
    assert conv["vectors"] == 360 * 36 and conv["pixels"] == 36 and conv["instances"] == 1  # hls4ml reuses one kernel
    assert conv["lut"] == conv["kernel_lut"] > 0 and conv["fully_parallel_lut"] == 36 * conv["kernel_lut"]
    assert report["total"]["lut"] == sum(layer["lut"] for layer in report["layers"]) and report["total"]["carry"] > 0
    assert report["fully_parallel"]["lut"] == sum(layer["fully_parallel_lut"] for layer in report["layers"]) > report["total"]["lut"]
    assert set(report["versions"]) == {"da4ml", "verilator", "yosys"} and report["family"] == "xc7"
    assert (tmp_path / "da" / "rtl" / "fc1" / "src" / "kernel_fc1.v").exists()
    summary = (tmp_path / "da" / "reports" / "summary.md").read_text()
    assert "## RTL: Verilator and yosys (xc7)" in summary and "**bit-exact**" in summary
    assert any(line.startswith("  rtl: Verilog in") and "bit-exact on all 360 samples" in line for line in messages)
    proof = read_json(RunLayout(tmp_path / "da").report("validate"))["proof"]  # no weight files to analyse: said so by name
    assert proof["status"] == "unproven" and "conv1 (Conv2D): not analysed: its weights are compiled into the firmware (distributed arithmetic)" in proof["why"]
