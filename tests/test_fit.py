"""What-ifs from the converted graph equal the full estimate, and `codesign fit` chooses settings that meet the goal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from codesign.config import HLSSpec, hls_from_dict

ROOT = Path(__file__).resolve().parents[1]

# Changes of every kind a what-if answers, from a Latency, reuse factor 1 conversion: a strategy for all (with a
# reuse factor hls4ml moves to a valid one per layer), per-layer overrides, another family's part and a clock.
WHAT_IFS = [
    {},
    {"strategy": "Resource", "reuse_factor": 3},
    {"strategy": "Latency", "reuse_factor": 2, "layers": {"fc": {"strategy": "Resource", "reuse_factor": 4}}},
    {"part": "xc7z020clg400-1", "clock_ns": 3.3, "layers": {"conv": {"strategy": "Resource", "reuse_factor": 9}, "out": {"reuse_factor": 5}}},
]


def _every_kind_2d():
    """Conv2D, batch normalization, DepthwiseConv2D, SeparableConv2D, pooling, Dense, softmax; seeded, some zero weights."""
    import tensorflow as tf

    inputs = tf.keras.Input((10, 10, 3))
    x = tf.keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = tf.keras.layers.BatchNormalization(name="bn")(x)
    x = tf.keras.layers.Activation("relu", name="relu")(x)
    x = tf.keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = tf.keras.layers.SeparableConv2D(6, 3, name="sep")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = tf.keras.layers.Dense(12, name="fc")(x)
    x = tf.keras.layers.Dense(5, name="out")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Activation("softmax", name="softmax")(x))


def _every_kind_1d():
    """Conv1D, average pooling, Dense."""
    import tensorflow as tf

    inputs = tf.keras.Input((16, 2))
    x = tf.keras.layers.Conv1D(4, 3, name="conv")(inputs)
    x = tf.keras.layers.AveragePooling1D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = tf.keras.layers.Dense(6, activation="relu", name="fc")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="out")(x))


def _seeded(model):
    rng = np.random.default_rng(7)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights and layer.name != "bn":
            layer.set_weights([np.where(rng.random(w.shape) < 0.2, 0.0, rng.normal(0, 0.5, w.shape)).astype(np.float32) for w in weights])
    return model


def _whatif(model, hls: HLSSpec, tmp_path):
    from codesign.estimate.run import convert_for_estimate
    from codesign.estimate.whatif import WhatIf

    graph, candidate = convert_for_estimate(model, hls, None, tmp_path / "log")
    return WhatIf(graph, hls, candidate)


@pytest.mark.parametrize("make, io_type", [(_every_kind_2d, "io_parallel"), (_every_kind_2d, "io_stream"), (_every_kind_1d, "io_parallel")])
def test_a_what_if_is_the_full_estimate_of_the_same_settings(make, io_type, tmp_path):
    """Every change a what-if answers gives the report a conversion with those settings gives, to the last field."""
    from codesign.estimate.run import estimate_model

    model = _seeded(make())
    base = HLSSpec(precision="ap_fixed<16,6>", io_type=io_type)
    whatif = _whatif(model, base, tmp_path)
    assert set(whatif.weighted) >= {"conv", "fc", "out"}
    for change in WHAT_IFS:
        hls = hls_from_dict({**base.model_dump(mode="json"), **change}, source="test")
        full = estimate_model(model, hls, None, tmp_path / "log")
        assert json.dumps(whatif.estimate(hls), sort_keys=True) == json.dumps(full, sort_keys=True), change


@pytest.mark.parametrize("recurrent", ["LSTM", "GRU", "TimeDistributed"])
def test_a_what_if_of_a_recurrent_layer_is_the_full_estimate_of_the_same_settings(recurrent, tmp_path):
    """An LSTM or GRU was not among the layers a what-if sets: a model-level Resource what-if kept it at the
    conversion's Latency strategy, where converting with that setting builds it Resource (hls4ml also moves its
    recurrent kernel's reuse factor to the valid one closest to the one asked, separately from its input kernel's).
    `codesign fit` can now choose its reuse factor. A Dense that a TimeDistributed wraps follows the model's setting,
    a copy per time step."""
    import tensorflow as tf

    from codesign.estimate.run import estimate_model

    inputs = tf.keras.Input((6, 3))
    if recurrent == "TimeDistributed":
        x = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(5, name="rnn"), name="steps")(inputs)
    else:
        x = getattr(tf.keras.layers, recurrent)(5, return_sequences=True, name="rnn")(inputs)
    model = _seeded(tf.keras.Model(inputs, tf.keras.layers.Dense(3, name="out")(tf.keras.layers.Flatten(name="flat")(x))))
    base = HLSSpec(precision="ap_fixed<16,6>")
    whatif = _whatif(model, base, tmp_path)
    assert set(whatif.weighted) == ({"out"} if recurrent == "TimeDistributed" else {"rnn", "out"})
    for change in ({"strategy": "Resource", "reuse_factor": 3}, {"strategy": "Resource", "reuse_factor": 7}, {"reuse_factor": 2},
                   {"layers": {("out" if recurrent == "TimeDistributed" else "rnn"): {"strategy": "Resource", "reuse_factor": 6}},
                    "part": "xc7z020clg400-1", "clock_ns": 4.0}):
        hls = hls_from_dict({**base.model_dump(mode="json"), **change}, source="test")
        full = estimate_model(model, hls, None, tmp_path / "log")
        assert json.dumps(whatif.estimate(hls), sort_keys=True) == json.dumps(full, sort_keys=True), change


def test_reuse_factors_are_the_ones_hls4ml_accepts_and_other_changes_convert_again(tmp_path):
    model = _seeded(_every_kind_2d())
    whatif = _whatif(model, HLSSpec(precision="ap_fixed<16,6>"), tmp_path)
    backend = whatif.graph.config.backend
    for name in whatif.weighted:
        n_in, n_out = backend.get_layer_mult_size(whatif.weighted[name])
        assert whatif.reuse_factors(name) == backend.get_valid_reuse_factors(n_in, n_out), name
        resource = whatif.reuse_factors(name, "Resource")  # an io_parallel convolution's: none past its kernel's inputs
        if name == "dw":  # nor any for a depthwise one, which hls4ml writes no Resource kernel for
            assert resource == [] and whatif.reuse_factors(name), name
        else:
            assert resource == [factor for factor in whatif.reuse_factors(name) if name != "conv" or factor <= n_in], name
    assert max(whatif.reuse_factors("conv")) > max(whatif.reuse_factors("conv", "Resource"))
    assert whatif.rebuilt_by({"io_type": "io_stream", "reuse_factor": 4}) == ["io_type"]
    assert whatif.rebuilt_by({"layers": {"fc": {"strategy": "distributed_arithmetic"}}}) == ["strategy distributed_arithmetic"]
    assert whatif.rebuilt_by({"io_type": "io_parallel", "part": "xc7z020clg400-1"}) == []
    with pytest.raises(ValueError, match="io_type"):
        whatif.estimate(HLSSpec(precision="ap_fixed<16,6>", io_type="io_stream"))


def _judged(report: dict) -> dict:
    return {key: report["interval"][key][1] for key in ("dsp", "lut", "ff", "bram_18k")}


def test_the_fit_meets_its_goal_at_the_upper_end_and_is_the_fastest_design_it_found(tmp_path):
    """The chosen settings fit 80% of the part at the interval's upper end, a conversion of them estimates the same,
    no priced design that meets the goal is faster, and the frontier trades latency for utilization."""
    from codesign.estimate.run import estimate_model
    from codesign.fit import Goal, fit

    model = _seeded(_every_kind_2d())
    whatif = _whatif(model, HLSSpec(precision="ap_fixed<16,6>"), tmp_path)
    result = fit(whatif, Goal(part="xczu3eg-sbva484-1-e"))
    available = result.report["part"]["available"]
    assert all(used <= 0.8 * available[key] for key, used in _judged(result.report).items())
    assert estimate_model(model, result.hls, None, tmp_path / "log")["total"] == result.report["total"]
    meeting = [point for point in result.frontier if point["meets"]]
    assert meeting and min(point["latency_cycles"] for point in meeting) == result.report["total"]["latency_cycles"]
    assert [point["latency_cycles"] for point in result.frontier] == sorted(point["latency_cycles"] for point in result.frontier)
    assert [point["utilization"] for point in result.frontier] == sorted((point["utilization"] for point in result.frontier), reverse=True)
    assert result.frontier[0]["utilization"] > 80  # the fastest design explored does not fit: the margin cost latency
    optimistic = fit(whatif, Goal(part="xczu3eg-sbva484-1-e", optimistic=True))
    assert optimistic.report["total"]["latency_cycles"] <= result.report["total"]["latency_cycles"]
    throughput = fit(whatif, Goal(part="xczu3eg-sbva484-1-e", objective="throughput", max_latency_cycles=10**6))
    assert throughput.report["total"]["ii"] <= result.report["total"]["ii"]
    resource = fit(whatif, Goal(part="xczu3eg-sbva484-1-e", strategy="Resource"))  # the depthwise layer keeps Latency: no Resource kernel
    assert resource.hls.layers["dw"].strategy == "Latency" and resource.hls.layers["conv"].strategy == "Resource"
    assert estimate_model(model, resource.hls, None, tmp_path / "log")["total"] == resource.report["total"]


def test_when_nothing_fits_the_error_names_the_smallest_part_or_the_latency_reachable(tmp_path):
    import tensorflow as tf

    from codesign.fit import Goal, NothingFits, fit

    inputs = tf.keras.Input((256,))
    model = _seeded(tf.keras.Model(inputs, tf.keras.layers.Dense(256, name="fc")(tf.keras.layers.Dense(256, name="fc0")(inputs))))
    whatif = _whatif(model, HLSSpec(precision="ap_fixed<16,6>"), tmp_path)
    with pytest.raises(NothingFits, match=r"nothing fits 80% of xc7a35t at any reuse factor \(its leanest design needs [\d,]+ [A-Z18]+ at the upper end .*\); the smallest part of the table that fits: \S+"):
        fit(whatif, Goal(part="xc7a35tcpg236-1"))
    with pytest.raises(NothingFits, match=r"no setting meets the latency/throughput asked: the fastest that fits 80% of xcu250 takes [\d,]+ cycles"):
        fit(whatif, Goal(part="xcu250-figd2104-2L-e", max_latency_cycles=1))


def test_cli_fit_errors_are_one_line_and_write_nothing(tmp_path):
    """An unknown part, a margin that is not a fraction, an unreadable target: exit 2, one line, no file written."""
    out = tmp_path / "fit.yaml"
    for arguments, expected in (
        (["models/digits_cnn.yaml", "--part", "xc7z999-1"], "unknown FPGA part"),
        (["models/digits_cnn.yaml", "--part", "xc7z020clg400-1", "--max-utilization", "1.5"], "--max-utilization 1.5"),
        ([str(tmp_path / "missing.yaml"), "--part", "xc7z020clg400-1"], "no such spec"),
    ):
        done = subprocess.run([sys.executable, "-m", "codesign.cli", "fit", *arguments, "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert not out.exists()


def test_run_what_ifs_convert_once_and_equal_the_cli_path(tiny_run):
    """Run.estimate(**what_if) prices from the run's converted graph (after the first call) as `codesign estimate
    RUN --reuse-factor ...` does by converting; Run.fit returns settings that meet its goal."""
    import codesign
    from codesign.commands import estimate_target

    run_dir, _ = tiny_run
    run = codesign.Run(run_dir)
    for change in ({"reuse_factor": 4, "strategy": "Resource"}, {"part": "xc7z020clg400-1", "clock_ns": 4.0}):
        assert run.estimate(**change).dump()["total"] == estimate_target(run_dir, change, None, lambda _: None)["total"], change
    result = run.fit(part="xc7z020clg400-1", max_utilization=0.5)
    available = result.report["part"]["available"]
    assert all(used <= 0.5 * available[key] for key, used in _judged(result.report).items())
    assert run.estimate(part="xc7z020clg400-1", layers=result.layer_settings()).dump()["total"] == result.report["total"]


@pytest.mark.slow
def test_cli_fit_of_a_spec_writes_a_spec_that_builds_to_the_same_estimate(tmp_path):
    """`codesign fit models/digits_cnn.yaml --part xc7z020clg400-1` (the issue's check): the written spec, built,
    estimates what the fit said, with the reuse factors it chose."""
    from codesign.commands import build_run, resolve_build_spec
    from codesign.results import EstimateResult

    out = tmp_path / "digits_fit.yaml"
    done = subprocess.run([sys.executable, "-m", "codesign.cli", "fit", "models/digits_cnn.yaml", "--part", "xc7z020clg400-1", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "every resource within 80% of the part at the upper end of the estimate's interval" in done.stdout
    fitted = json.loads(out.with_suffix(".json").read_text())
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    layers = yaml.safe_load(out.read_text())["hls"]["layers"]
    assert {name: [entry["strategy"], entry["reuse_factor"]] for name, entry in layers.items()} == \
        {name: [entry["strategy"], entry["reuse_factor"]] for name, entry in fitted["layers"].items()}
    spec, name = resolve_build_spec(out, None, Path("synthetic"), None, None, no_train=True)
    build_run(spec, tmp_path / name, lambda _: None, to_step="estimate")
    assert EstimateResult.read(tmp_path / name / "reports" / "estimate.json").dump()["total"] == fitted["estimate"]["total"]


def test_cli_fit_of_an_hls4ml_project_writes_its_config_with_the_chosen_settings(hls4ml_project, tmp_path):
    """A project's fit keeps its types and io type and writes its hls4ml_config.yml with the part and each weighted
    layer's strategy and reuse factor; that config, in the project's place, estimates what the fit said; the project
    itself is untouched."""
    import hashlib
    import shutil

    from click.testing import CliRunner

    from codesign.cli import main
    from codesign.estimate.project import estimate_project, load_config

    def digest(folder: Path) -> str:
        return hashlib.sha256(b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())).hexdigest()

    before = digest(hls4ml_project)
    out = tmp_path / "my_prj_fit.yml"
    result = CliRunner().invoke(main, ["fit", str(hls4ml_project), "--part", "xc7a35tcpg236-1", "--max-utilization", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert digest(hls4ml_project) == before
    fitted = json.loads(out.with_suffix(".json").read_text())
    config = load_config(out)
    assert config["Part"] == "xc7a35tcpg236-1" and config["IOType"] == "io_parallel" and str(config["KerasModel"]).endswith(".keras")
    layers = config["HLSConfig"]["LayerName"]
    assert {name: [layers[name]["Strategy"], layers[name]["ReuseFactor"]] for name in fitted["layers"]} == \
        {name: [entry["strategy"], entry["reuse_factor"]] for name, entry in fitted["layers"].items()}
    assert all(layers[name]["Precision"] for name in fitted["layers"])  # the project's types, kept
    refitted = tmp_path / "my_prj"  # the written config alone (its KerasModel is the project's model): what hls4ml converts from it
    refitted.mkdir()
    shutil.copy(out, refitted / "hls4ml_config.yml")
    assert estimate_project(refitted)["total"] == fitted["estimate"]["total"]
