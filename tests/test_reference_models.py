"""The reference CNNs and the large-model pitfalls: synthetic data only when asked, oversized Latency layers refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from codesign.commands import resolve_build_spec
from codesign.cli import main
from codesign.config import HLSSpec, load_spec, spec_from_dict
from codesign.convert import convert, policy_candidate
from codesign.data import SYNTHETIC_WARNING, load_dataset
from codesign.errors import SpecError
from codesign.layout import RunLayout, read_json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_synthetic_data_only_when_asked(tiny_spec_dict):
    spec, _ = resolve_build_spec(ROOT / "models" / "cifar10_cnn.yaml", None, Path("synthetic"), None, None, no_train=True)
    assert spec.dataset.name == "cifar10" and spec.dataset.synthetic and not spec.training.enabled
    data = load_dataset(spec.dataset)
    assert data.synthetic and data.x_train.shape[1:] == (32, 32, 3) and len(data.x_test) == 100
    assert load_spec(ROOT / "models" / "cifar10_cnn.yaml").dataset.synthetic is False
    tiny_spec_dict["dataset"] = {"name": "npz", "path": "x.npz", "synthetic": True}
    with pytest.raises(SpecError, match="'synthetic' needs a named dataset"):
        spec_from_dict(tiny_spec_dict)


def test_oversized_latency_layer_is_refused_before_compile(tmp_path):
    import tensorflow as tf

    inputs = tf.keras.Input((1024,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(1024, name="huge")(inputs))
    hls = HLSSpec(strategy="Latency", precision="ap_fixed<16,6>")
    with pytest.raises(SpecError, match=r"layer 'huge' \(Dense, 1,048,576 products\).*strategy: Resource.*reuse_factor >= 2"):
        convert(model, hls, tmp_path / "hls", None, tmp_path / "log", policy_candidate(hls.precision))
    assert not (tmp_path / "hls" / "build_lib.sh").exists()
    fine = HLSSpec(strategy="Resource", reuse_factor=4, precision="ap_fixed<16,6>")
    report = convert(model, fine, tmp_path / "ok", None, tmp_path / "log", policy_candidate(fine.precision))
    assert report["strategy"] == "Resource"


@pytest.mark.slow
@pytest.mark.parametrize("spec_name", ["svhn_cnn.yaml", "cifar10_cnn.yaml"])
def test_reference_cnn_builds_untrained_and_bit_exact(tmp_path, spec_name):
    result = CliRunner().invoke(
        main, ["build", str(ROOT / "models" / spec_name), "--no-train", "--data", "synthetic", "--output-root", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    layout = RunLayout(tmp_path / spec_name.removesuffix(".yaml"))
    validation = read_json(layout.report("validate"))
    assert list(validation)[0] == "warning" and validation["warning"] == SYNTHETIC_WARNING
    assert validation["bit_exact"] and validation["samples"] == 100
    emulators = validation["emulators"]
    assert emulators["vectorized"]["used"] and emulators["cpp"]["identical_to_vectorized"] is True
    for step in ("train", "bench"):
        assert list(read_json(layout.report(step)))[0] == "warning"
    assert read_json(layout.report("train"))["source"] == "untrained (seeded random weights)"
    summary = result.output[result.output.index("summary of"):].splitlines()
    assert summary[1].strip() == SYNTHETIC_WARNING
    estimate = read_json(layout.report("estimate"))
    worst = max(value for value in estimate["utilization"].values() if value is not None)
    verdict = read_json(layout.reports_dir / "summary.json")["verdict"]
    assert verdict["worst_utilization_percent"] == worst and verdict["fits"] == (worst <= 100)  # said as estimated
    if spec_name == "svhn_cnn.yaml":
        assert verdict["fits"]  # 8-bit products in LUTs: 28% of the U250's LUTs (docs/reference_models.md)
    assert read_json(layout.report("compile"))["compiler_peak_memory_mib"] > 0
