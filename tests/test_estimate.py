"""The estimator: monotonic where hardware is, weight-aware, every layer type, the calibration baseline, the parsers."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codesign.cli import main
from codesign.config import HLSSpec
from codesign.estimate.run import estimate_model
from codesign.estimate.vendor import parse_csynth, parse_vivado_synth, vendor_results
from codesign.layout import RunLayout, read_json

CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "calibration"


def _dense_conv_model(side: int = 8, zero_fraction: float = 0.0, scale: float = 0.5):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    inputs = tf.keras.Input((side, side, 2))
    conv = tf.keras.layers.Conv2D(4, 3, name="conv")
    x = tf.keras.layers.Flatten()(tf.keras.layers.Activation("relu", name="relu")(conv(inputs)))
    dense = tf.keras.layers.Dense(8, name="fc")
    outputs = dense(x)
    model = tf.keras.Model(inputs, outputs)
    for layer in (conv, dense):
        kernel, bias = layer.get_weights()
        kernel = rng.normal(0, scale, kernel.shape)
        kernel[rng.random(kernel.shape) < zero_fraction] = 0.0
        layer.set_weights([kernel, bias])
    return model


def _estimate(model, tmp_path, **hls):
    settings = HLSSpec(**{"precision": "ap_fixed<16,6>", **hls})
    return estimate_model(model, settings, None, tmp_path / "log")


def _layer(report, name):
    return next(layer for layer in report["layers"] if layer["name"] == name)


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_higher_reuse_factor_never_adds_dsps_or_removes_cycles(tmp_path, io_type):
    model = _dense_conv_model()
    previous = first = None
    for reuse in (1, 2, 4, 8, 16):
        report = _estimate(model, tmp_path, io_type=io_type, strategy="Resource", reuse_factor=reuse)
        first = first or report
        if previous:
            for name in ("conv", "fc"):
                assert _layer(report, name)["dsp"] <= _layer(previous, name)["dsp"]
                # one more pass of dense_resource's loop, whose adder tree may be a level shallower (one cycle less)
                assert _layer(report, name)["latency_cycles"] >= _layer(previous, name)["latency_cycles"] - 1
        previous = report
    assert all(_layer(previous, name)["latency_cycles"] > _layer(first, name)["latency_cycles"] for name in ("conv", "fc"))
    assert _layer(previous, "fc")["dsp"] < _layer(_estimate(model, tmp_path, io_type=io_type), "fc")["dsp"]


def test_zero_weights_cost_nothing(tmp_path):
    dense = _estimate(_dense_conv_model(zero_fraction=0.0), tmp_path)["total"]
    sparse = _estimate(_dense_conv_model(zero_fraction=0.6), tmp_path)["total"]
    empty = _estimate(_dense_conv_model(zero_fraction=1.0), tmp_path)
    assert sparse["dsp"] < dense["dsp"] and sparse["lut"] < dense["lut"]
    assert _layer(empty, "fc")["dsp"] == 0 and _layer(empty, "conv")["dsp"] == 0


def test_constants_of_at_most_two_signed_digits_go_to_logic(tmp_path):
    """4-bit weights (|q| <= 8: at most two canonical signed digits) and powers of two need no DSP."""
    wide = _estimate(_dense_conv_model(), tmp_path)["total"]
    narrow = _estimate(_dense_conv_model(), tmp_path, precision="ap_fixed<4,2>")["total"]
    assert wide["dsp"] > 0 and narrow["dsp"] == 0 and narrow["lut"] > 0
    model = _dense_conv_model()
    for layer in model.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            layer.set_weights([np.sign(kernel) * 2.0 ** np.round(np.log2(np.abs(kernel) + 1e-9)), bias])
    assert _estimate(model, tmp_path)["total"]["dsp"] == 0


def test_csd_digits_and_the_dsp_rule_on_known_weights(tmp_path):
    """The binding rule of docs/estimation.md on hand-picked constants: a DSP per distinct (input, constant) with
    three or more CSD digits, none for zeros, powers of two and two-digit constants."""
    import tensorflow as tf

    from codesign.estimate.features import csd_digits

    assert csd_digits(np.array([0, 1, 2, 3, 5, 7, 11, 13, 21, 23, -11])).tolist() == [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]
    inputs = tf.keras.Input((2,))
    dense = tf.keras.layers.Dense(6, use_bias=False, name="fc")
    model = tf.keras.Model(inputs, dense(inputs))
    # in LSBs of ap_fixed<16,6> (10 fraction bits): row 0 has 11 twice (one DSP), 13, 7, 0, 4; row 1 has 21, -21, 3 ...
    lsb = 2.0**-10
    dense.set_weights([np.array([[11, 11, 13, 7, 0, 4], [21, -21, 3, 2, 1, 0]]) * lsb])
    assert _layer(_estimate(model, tmp_path), "fc")["dsp"] == 2 + 2


def test_a_reuse_factor_shares_the_multipliers_hls4ml_allows(tmp_path):
    """Latency strategy: at most ceil(n/RF) - zeros//RF multipliers (hls4ml's multiplier_limit), never more than RF 1's."""
    model = _dense_conv_model()
    one = _layer(_estimate(model, tmp_path), "fc")
    shared = _layer(_estimate(model, tmp_path, reuse_factor=100), "fc")
    products = 6 * 6 * 4 * 8
    assert shared["dsp"] == min(one["dsp"], -(-products // 100))
    assert shared["latency_cycles"] > one["latency_cycles"] and shared["ii"] > 1


def test_resource_strategy_weights_go_to_bram_as_reuse_factor_deep_words(tmp_path):
    """hls4ml's Resource strategy reads RF words of n/RF weights: BRAM18 blocks of 36 bits at any depth above one
    (Vivado HLS put 8-deep ones in BRAM on the streamed Conv1D projects); at RF 1 there is no memory."""
    import tensorflow as tf

    inputs = tf.keras.Input((256,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(256, name="fc")(inputs))
    model.layers[-1].set_weights([np.full((256, 256), 0.3), np.zeros(256)])
    one = _layer(_estimate(model, tmp_path, strategy="Resource", reuse_factor=1), "fc")
    shallow = _layer(_estimate(model, tmp_path, strategy="Resource", reuse_factor=8), "fc")
    deep = _layer(_estimate(model, tmp_path, strategy="Resource", reuse_factor=256), "fc")
    assert one["bram_18k"] == 0
    assert shallow["bram_18k"] == math.ceil(256 * 256 // 8 * 16 / 36) and deep["bram_18k"] == math.ceil(256 * 16 / 36)
    assert deep["dsp"] == 256 and shallow["dsp"] == 256 * 256 // 8


def test_small_io_parallel_layers_can_be_combinational(tmp_path):
    """The vendor reports 0 cycles for a Dense(64) on one input with a ReLU (hls4ml CI baselines): no 4-cycle floor."""
    import tensorflow as tf

    inputs = tf.keras.Input((1,))
    model = tf.keras.Model(inputs, tf.keras.layers.Activation("relu")(tf.keras.layers.Dense(64)(inputs)))
    report = _estimate(model, tmp_path, part="xcvu13p-flga2577-2-e")
    assert report["total"]["latency_cycles"] == 0


def test_interval_is_the_estimate_scaled_by_the_out_of_sample_ratios_and_layers_add_up(tmp_path):
    """The shipped fit's vendor/estimate ratios straddle 1 for every metric with spread (an unbiased estimator), and
    each interval is the estimate scaled by them: total and per layer."""
    from codesign.estimate.model import load_constants

    ratios = load_constants().interval
    assert all(low < 1 < high for metric, (low, high) in ratios.items() if metric in ("lut", "ff", "latency_cycles"))
    for io_type in ("io_parallel", "io_stream"):
        report = _estimate(_dense_conv_model(), tmp_path, io_type=io_type)
        for layer in [report["total"], *report["layers"]]:
            bounds = report["interval"] if layer is report["total"] else layer["interval"]
            for metric, (low, high) in ratios.items():
                assert bounds[metric] == [math.floor(layer[metric] * min(low, 1.0)), math.ceil(layer[metric] * max(high, 1.0))], metric
        assert report["interval"]["lut"][0] < report["total"]["lut"] < report["interval"]["lut"][1]
        for metric in ("dsp", "lut", "ff", "bram_18k", "uram"):
            assert sum(layer[metric] for layer in report["layers"]) == report["total"][metric], metric
        if io_type == "io_parallel":  # layer after layer: the top row holds the calls' registers
            assert sum(layer["latency_cycles"] for layer in report["layers"]) == report["total"]["latency_cycles"]


def test_io_stream_convolution_latency_grows_with_the_image(tmp_path):
    small = _layer(_estimate(_dense_conv_model(side=8), tmp_path, io_type="io_stream"), "conv")
    large = _layer(_estimate(_dense_conv_model(side=16), tmp_path, io_type="io_stream"), "conv")
    assert large["latency_cycles"] > 3 * small["latency_cycles"] > 0
    assert large["dsp"] == small["dsp"]  # the same kernel, streamed over more pixels


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_every_converted_layer_type_is_estimated(tmp_path, io_type):
    from codesign.config import spec_from_dict
    from codesign.model import build_qkeras
    from conftest import BASE_ALL_LAYERS

    spec = spec_from_dict({"model": {"layers": BASE_ALL_LAYERS}, "hls": {"io_type": io_type}})
    report = estimate_model(build_qkeras(spec, (8, 8, 1)), spec.hls, None, tmp_path / "log")
    kinds = {layer["type"] for layer in report["layers"]}
    assert {"Conv2DBatchnorm", "DepthwiseConv2D", "Pooling2D", "Dense", "Activation"} <= kinds
    for layer in report["layers"]:
        assert all(layer[key] >= 0 for key in ("dsp", "lut", "ff", "bram_18k", "latency_cycles", "ii"))
    total = report["total"]
    assert total["lut"] > 0 and total["latency_cycles"] > 0 and total["throughput_per_s"] > 0
    assert set(report["utilization"]) == {"dsp", "lut", "ff", "bram_18k", "uram"}
    assert total["latency_ns"] == pytest.approx(total["latency_cycles"] * 5.0)


@pytest.mark.slow
@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_shipped_constants_and_the_docs_table_are_what_the_benchmark_fits_and_prints():
    """constants.json is the fit of benchmarks/estimator.py on the calibration rows, and docs/estimation.md shows
    the leave-one-design-out tables it prints (rebuild: .venv/bin/python benchmarks/estimator.py --write)."""
    import importlib.util

    from codesign.estimate.model import load_constants

    spec = importlib.util.spec_from_file_location("estimator_benchmark", Path(__file__).resolve().parents[1] / "benchmarks" / "estimator.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    result = benchmark.evaluate(CALIBRATION)
    shipped = load_constants()
    fitted = result["constants"]
    assert (shipped.lut, shipped.ff, shipped.latency, shipped.interval) == (fitted.lut, fitted.ff, fitted.latency, fitted.interval)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "estimation.md").read_text()
    for line in benchmark.markdown(result):
        assert line in docs, line


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
@pytest.mark.skipif(not (CALIBRATION / "projects2").exists(), reason="shared/calibration is not beside the checkout")
def test_a_vivado_hls_2018_report_without_latency_times_is_read():
    """Vivado HLS 2018.3 wrote cycles and intervals only (no times): the latency is the max cycles, the II the max interval."""
    report = next((CALIBRATION / "projects2").glob("filipemlins__*")) / "reports" / "myproject_csynth.rpt"
    parsed = parse_csynth(report)
    assert (parsed["latency_cycles"], parsed["ii"], parsed["dsp"], parsed["lut"], parsed["ff"]) == (7004283, 2917349, 9, 8349, 4852)


def test_parsers_read_the_real_vendor_reports():
    svhn = parse_csynth(CALIBRATION / "reports" / "svhn_cnn_pruned_float_csynth.rpt")
    assert (svhn["latency_cycles"], svhn["ii"], svhn["dsp"], svhn["lut"], svhn["ff"], svhn["bram_18k"]) == (1044, 1028, 5414, 245466, 52549, 100)
    assert len(svhn["instances"]) == 16 and sum(row["dsp"] for row in svhn["instances"]) == 5414
    jet = parse_csynth(CALIBRATION / "reports" / "jet_mlp_16b_rf1_csynth_excerpt.txt")
    assert (jet["dsp"], jet["lut"], jet["ff"], jet["bram_18k"]) == (1502, 101839, 9363, 8)
    assert "latency_cycles" not in jet  # the excerpt has no summary table: nothing is invented
    vivado = parse_vivado_synth(CALIBRATION / "reports" / "svhn_cnn_pruned_float_vivado_synth.rpt")
    assert (vivado["lut"], vivado["ff"], vivado["dsp"], vivado["bram_18k"]) == (123948, 43435, 5386, 84)



@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_the_report_read_is_the_networks_top_function_not_a_layers_or_the_axi_wrappers(tmp_path):
    """The tools write a report per function and a VivadoAccelerator build one of its AXI wrapper: the estimate of the
    network is compared with the report of hls4ml's top function, named as the project names it."""
    lenet = CALIBRATION / "projects" / "CestMerNeil__FPGA_Accelerator4NN_Inference__LeNet__LeNet_Alveo"
    collected = tmp_path / "collected" / "reports"
    collected.mkdir(parents=True)
    for name in ("myproject_axi_csynth.rpt", "myproject_csynth.rpt"):
        (collected / name).write_text((lenet / "reports" / name).read_text())
    found = vendor_results(collected.parent)["csynth"]
    assert (found["latency_cycles"], found["dsp"], found["ff"]) == (1189, 10, 62515)
    assert len(found["instances"]) == 9  # its layers, where the wrapper has the network as one instance

    built = tmp_path / "built"
    reports = built / "jets_prj" / "solution1" / "syn" / "report"
    reports.mkdir(parents=True)
    (built / "project.tcl").write_text('variable project_name\nset project_name "jets"\n')
    (reports / "dense_latency_ap_fixed_16_6_config2_s_csynth.rpt").write_text((lenet / "reports" / "myproject_axi_csynth.rpt").read_text())
    (reports / "jets_csynth.rpt").write_text((CALIBRATION / "reports" / "svhn_cnn_pruned_float_csynth.rpt").read_text())
    assert vendor_results(built)["csynth"]["latency_cycles"] == 1044



def csynth_xml(parsed: dict, version: str, clock_ns: float, uncertainty_ns: float, flow_target: str | None = None) -> str:
    """A report's figures written as the tools write `<top>_csynth.xml` (the tags hls4ml's parse_vivado_report reads;
    Vivado HLS names the DSPs DSP48E, Vitis HLS DSP and adds a flow target)."""
    dsp = "DSP" if flow_target else "DSP48E"
    flow = f"<FlowTarget>{flow_target}</FlowTarget>" if flow_target else ""
    return (f"<profile><ReportVersion><Version>{version}</Version></ReportVersion><UserAssignments><unit>ns</unit>"
            f"<TopModelName>myproject</TopModelName><TargetClockPeriod>{clock_ns:.2f}</TargetClockPeriod>"
            f"<ClockUncertainty>{uncertainty_ns:.2f}</ClockUncertainty>{flow}</UserAssignments><PerformanceEstimates>"
            f"<SummaryOfTimingAnalysis><EstimatedClockPeriod>4.1</EstimatedClockPeriod></SummaryOfTimingAnalysis>"
            f"<SummaryOfOverallLatency><Best-caseLatency>{parsed['latency_cycles']}</Best-caseLatency>"
            f"<Worst-caseLatency>{parsed['latency_cycles']}</Worst-caseLatency><Interval-min>{parsed['ii']}</Interval-min>"
            f"<Interval-max>{parsed['ii']}</Interval-max></SummaryOfOverallLatency></PerformanceEstimates><AreaEstimates>"
            f"<Resources><BRAM_18K>{parsed['bram_18k']}</BRAM_18K><{dsp}>{parsed['dsp']}</{dsp}><FF>{parsed['ff']}</FF>"
            f"<LUT>{parsed['lut']}</LUT><URAM>0</URAM></Resources><AvailableResources><BRAM_18K>280</BRAM_18K></AvailableResources>"
            "</AreaEstimates></profile>")


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_a_c_synthesis_xml_report_is_read_where_no_text_report_is(tmp_path):
    """A folder whose C-synthesis report is the tools' XML alone gives the same totals, the tool and its clock (Vitis
    HLS by its flow target); where both exist the text report is read (it has the per-instance rows); a broken XML is
    refused in one line naming it."""
    from codesign.errors import CodesignError
    from codesign.estimate.vendor import build_of_report

    text = parse_csynth(CALIBRATION / "reports" / "svhn_cnn_pruned_float_csynth.rpt")
    reports = tmp_path / "myproject_prj" / "solution1" / "syn" / "report"
    reports.mkdir(parents=True)
    (reports / "myproject_csynth.xml").write_text(csynth_xml(text, "2022.2", 5.0, 1.35, flow_target="vivado"))
    (reports / "conv_2d_cl_config2_s_csynth.xml").write_text(csynth_xml({**text, "lut": 1}, "2022.2", 5.0, 1.35, flow_target="vivado"))
    found = vendor_results(tmp_path)["csynth"]
    metrics = ("latency_cycles", "ii", "dsp", "lut", "ff", "bram_18k")
    assert {key: found[key] for key in metrics} == {key: text[key] for key in metrics} and found["instances"] == []
    assert build_of_report(tmp_path) == {"tool": "Vitis HLS 2022.2", "clock_ns": 5.0, "uncertainty_ns": 1.35}
    (reports / "myproject_csynth.xml").write_text(csynth_xml(text, "2019.2", 5.0, 0.62))
    assert build_of_report(tmp_path)["tool"] == "Vivado HLS 2019.2"
    (reports / "myproject_csynth.rpt").write_text((CALIBRATION / "reports" / "svhn_cnn_pruned_float_csynth.rpt").read_text())
    assert len(vendor_results(tmp_path)["csynth"]["instances"]) == 16
    (reports / "myproject_csynth.rpt").unlink()
    (reports / "myproject_csynth.xml").write_text("<profile><AreaEstimates>")
    with pytest.raises(CodesignError, match="myproject_csynth.xml: not a readable C-synthesis XML report"):
        vendor_results(tmp_path)

def test_cli_estimate_model_file(tmp_path, monkeypatch):
    """A model file is estimated under the options given, and leaves nothing behind in the temporary folder."""
    model = _dense_conv_model()
    model.save(tmp_path / "m.h5")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    runner = CliRunner()
    result = runner.invoke(main, ["estimate", str(tmp_path / "m.h5"), "--io-type", "io_stream", "--reuse-factor", "2",
                                  "--strategy", "Resource", "--precision", "ap_fixed<16,6>", "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "e.json").read_text())
    assert set(report["total"]) >= {"dsp", "lut", "ff", "bram_18k", "uram", "latency_cycles", "ii", "latency_ns", "throughput_per_s"}
    assert all({"name", "type", "dsp", "lut", "latency_cycles", "ii"} <= set(layer) for layer in report["layers"])
    assert report["io_type"] == "io_stream" and report["settings"]["reuse_factor"] == 2
    assert "total" in result.output and "xcu250" in result.output
    assert not list(scratch.iterdir())
    bad = runner.invoke(main, ["estimate", str(tmp_path / "m.h5"), "--part", "xc7z02"])
    assert bad.exit_code == 2 and "unknown FPGA part 'xc7z02'" in bad.stderr and "xc7z020" in bad.stderr


def test_cli_estimate_as_a_named_tool_would_synthesize(tmp_path):
    """--tool: 8-bit products go to DSPs on Vitis HLS 2021 and to logic on current tools; estimate.json says which
    tool it assumed; a tool not named as a report names it is one line, exit 2."""
    model = _dense_conv_model()
    model.save(tmp_path / "m.h5")
    runner = CliRunner()
    reports = {}
    for tool in ("Vitis HLS 2021.1", None):
        out = tmp_path / f"{tool}.json"
        result = runner.invoke(main, ["estimate", str(tmp_path / "m.h5"), "--precision", "ap_fixed<8,3>", "--json", str(out)]
                               + (["--tool", tool] if tool else []))
        assert result.exit_code == 0, result.output
        reports[tool] = json.loads(out.read_text())
    assert reports["Vitis HLS 2021.1"]["settings"]["tool"] == "Vitis HLS 2021.1" and reports[None]["settings"]["tool"].startswith("current")
    assert reports["Vitis HLS 2021.1"]["total"]["dsp"] > reports[None]["total"]["dsp"] == 0
    bad = runner.invoke(main, ["estimate", str(tmp_path / "m.h5"), "--tool", "vitis 2021"])
    assert bad.exit_code == 2 and "tool 'vitis 2021'" in bad.stderr and "\n" not in bad.stderr.strip()


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_a_run_with_a_vendor_report_is_estimated_as_the_tool_that_built_it(tiny_run, tmp_path):
    """After `codesign synth`, the report's header names the tool: the estimate step reruns (its inputs changed) and
    assumes that tool; the report is shown beside it."""
    import shutil

    run_dir = tmp_path / "tiny"
    shutil.copytree(tiny_run[0], run_dir)
    layout = RunLayout(run_dir)
    assert read_json(layout.report("estimate"))["settings"]["tool"].startswith("current")
    report = CALIBRATION / "projects" / "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__jet_tagging__hls4ml_prj__DSP_reuse1" / "reports" / "myproject_csynth.rpt"
    (layout.hls_dir / "reports").mkdir(parents=True, exist_ok=True)
    shutil.copy(report, layout.hls_dir / "reports" / "myproject_csynth.rpt")
    result = CliRunner().invoke(main, ["estimate", str(run_dir)])
    assert result.exit_code == 0, result.output
    estimate = read_json(layout.report("estimate"))
    assert estimate["settings"]["tool"] == "Vitis HLS 2021.1" and estimate["vendor"]["csynth"]["latency_cycles"] == 58

def test_cli_synth_without_vendor_tools(tiny_run, monkeypatch):
    run_dir, _ = tiny_run
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = CliRunner().invoke(main, ["synth", str(run_dir)])
    assert result.exit_code == 2 and "vitis_hls not found on PATH" in result.stderr


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_conv1d_is_estimated_and_streams_over_its_length(tmp_path, io_type):
    import tensorflow as tf

    def model(length):
        inputs = tf.keras.Input((length, 4))
        conv = tf.keras.layers.Conv1D(8, 3, name="conv")
        outputs = tf.keras.layers.Dense(2, name="fc")(tf.keras.layers.Flatten()(conv(inputs)))
        built = tf.keras.Model(inputs, outputs)
        conv.set_weights([np.random.default_rng(1).normal(0, 0.5, (3, 4, 8)), np.zeros(8)])
        return built

    short = _layer(_estimate(model(16), tmp_path, io_type=io_type), "conv")
    long = _layer(_estimate(model(64), tmp_path, io_type=io_type), "conv")
    assert short["type"] == "Conv1D" and short["dsp"] > 0 and short["lut"] > 0
    assert long["latency_cycles"] > short["latency_cycles"]


@pytest.mark.slow
def test_what_if_on_a_run_equals_the_run_rebuilt_with_that_setting(tmp_path, tiny_spec_dict):
    """`codesign estimate RUN --reuse-factor 4 --strategy Resource` estimates the run's own converted model (its
    input quantizer and types included) with only those settings changed."""
    import copy

    from codesign.commands import build_run, estimate_target
    from codesign.config import spec_from_dict

    build_run(spec_from_dict(copy.deepcopy(tiny_spec_dict)), tmp_path / "run", lambda _: None, to_step="estimate")
    what_if = estimate_target(tmp_path / "run", {"reuse_factor": 4, "strategy": "Resource"}, None, lambda _: None)
    tiny_spec_dict["hls"] = {"reuse_factor": 4, "strategy": "Resource"}
    build_run(spec_from_dict(tiny_spec_dict), tmp_path / "rebuilt", lambda _: None, to_step="estimate")
    rebuilt = read_json(RunLayout(tmp_path / "rebuilt").report("estimate"))
    assert what_if["total"] == rebuilt["total"] and what_if["layers"] == rebuilt["layers"]
    assert what_if["total"] != read_json(RunLayout(tmp_path / "run").report("estimate"))["total"]


@pytest.mark.slow
def test_a_bit_exact_run_puts_its_types_cost_beside_hls4ml_default(tiny_run):
    """What the verified and proven types cost against hls4ml's fixed<16,6> everywhere, the same model estimated."""
    report = read_json(RunLayout(tiny_run[0]).report("estimate"))
    versus = report["versus_hls4ml_default"]
    assert set(versus) == {"dsp", "lut", "ff", "latency_cycles"}
    assert all(versus[key]["these_types"] == report["total"][key] for key in versus)
    assert versus["lut"]["hls4ml_default"] > versus["lut"]["these_types"]  # 16-bit types against the tiny spec's 6-bit ones
    assert any("against hls4ml's default, fixed<16,6> everywhere" in line for line in tiny_run[1])


def test_leaving_a_source_out_leaves_out_its_rows_and_its_designs_built_by_the_same_tool(monkeypatch):
    """The grouping docs/estimation.md states: a source is a repository and tool; its designs built by that tool in
    another source (the SVHN CNN, published and in a fork) go with it, the same design by another tool stays."""
    from codesign.estimate import fit

    def sample(id, group, repository, tool):
        return fit.Sample(id, group, "MLP", "project", None, [], {}, repository, tool, "MLP")

    rows = [
        sample("svhn_published", "svhn", "tutorial", "Vivado HLS 2020.1"),
        sample("svhn_fork", "svhn", "fork", "Vivado HLS 2020.1"),
        sample("dense_vitis", "dense", "hls4ml", "Vitis HLS 2024.1"),
        sample("dense_vivado", "dense", "hls4ml", "Vivado HLS 2020.1"),
        sample("pool_vivado", "pool", "hls4ml", "Vivado HLS 2020.1"),
    ]
    trained_on = {}
    monkeypatch.setattr(fit, "fit_constants", lambda training, **_: tuple(sorted(row.id for row in training)))
    monkeypatch.setattr(fit, "predict", lambda row, constants: trained_on.setdefault(row.id, constants))
    fit.leave_one_source_out(rows)
    assert trained_on["svhn_published"] == ("dense_vitis", "dense_vivado", "pool_vivado")
    assert trained_on["svhn_fork"] == ("dense_vitis", "dense_vivado", "pool_vivado")
    assert trained_on["dense_vitis"] == ("dense_vivado", "pool_vivado", "svhn_fork", "svhn_published")
    assert trained_on["dense_vivado"] == trained_on["pool_vivado"] == ("dense_vitis", "svhn_fork", "svhn_published")


def test_a_price_no_training_row_determines_keeps_its_prior():
    """A feature absent from every training row is priced at the prior, not at zero; a determined one by the rows."""
    import numpy as np

    from codesign.estimate.fit import PRICE_PRIOR, _nnls_relative

    rows = np.array([[100.0 * n, 0.0, 1.0] for n in range(1, 21)])  # feature 0 seen, feature 1 never; a constant
    prices = _nnls_relative(rows, 3.0 * rows[:, 0] + 10.0)
    assert prices[1] == pytest.approx(PRICE_PRIOR) and prices[0] == pytest.approx(3.0, rel=0.02)


def test_a_timing_few_rows_read_keeps_its_prior_and_one_many_rows_read_follows_them(monkeypatch):
    """The latency fit's priors (LATENCY_START): one design's residual of a few cycles does not carry a timing only
    it reads to the grid's end (as the PYNQ MLP did to the 7-series LUT multiplier), forty designs move theirs."""
    from codesign.estimate import fit

    def sample(id, cycles):
        return fit.Sample(id, id, "MLP", "project", None, [], {"latency_cycles": cycles}, "repository", "tool", "MLP")

    def cycles(sample, latency):  # the MLPs read the softmax timing, the odd design a multiplier's 5 cycles short
        if sample.id == "odd":
            return 250 + round(latency["logic_mult_ns_7series"]), []
        return round(latency["softmax_ns_ultrascale"]), []

    monkeypatch.setattr(fit, "_cycles", cycles)
    rows = [sample(f"mlp{n}", 12) for n in range(40)] + [sample("odd", 258)]
    fitted = fit.fit_latency(rows)
    assert round(fitted["softmax_ns_ultrascale"]) == 12  # the nearest value to the prior (8) that gives 12 cycles
    assert fitted["logic_mult_ns_7series"] == fit.LATENCY_START["logic_mult_ns_7series"] == 3.0
    monkeypatch.setattr(fit, "LATENCY_PRIOR_WEIGHT", 0.0)
    assert 250 + round(fit.fit_latency(rows)["logic_mult_ns_7series"]) == 258  # without the prior it follows the one design


def test_initializer_draws_are_told_from_trained_weights_and_widen_the_dsp_interval(tmp_path):
    """A model whose kernels are its initializers' draws is called untrained, and its DSP and LUT intervals span what
    training did to the calibration designs; the same model with other weights is not."""
    import numpy as np
    from tensorflow import keras

    from codesign.estimate.model import load_constants
    from codesign.estimate.weights import untrained

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, name="fc1", kernel_initializer="lecun_uniform"), keras.layers.Dense(5, name="out")])
    assert untrained(model) == "the weights look untrained: every kernel is a draw of its initializer (fc1 (lecun_uniform), out (glorot_uniform))"
    drawn = _estimate(model, tmp_path)
    rng = np.random.default_rng(0)
    model.get_layer("fc1").set_weights([rng.laplace(0, 0.1, (16, 64)), np.zeros(64)])  # heavy-tailed, as training leaves them
    assert untrained(model) is None
    trained = _estimate(model, tmp_path)
    assert drawn["weights"] == "untrained" and trained["weights"] == "trained"
    constants = load_constants()
    low, high = constants.interval["dsp"]
    span_low, span_high = constants.untrained["dsp"]
    assert drawn["interval"]["dsp"] == [int(np.floor(drawn["total"]["dsp"] * min(low, 1) * min(span_low, 1))),
                                       int(np.ceil(drawn["total"]["dsp"] * max(high, 1) * max(span_high, 1)))]
    assert trained["interval"]["dsp"] == [int(np.floor(trained["total"]["dsp"] * min(low, 1))), int(np.ceil(trained["total"]["dsp"] * max(high, 1)))]
    assert any(note.startswith("the weights look untrained") for note in drawn["notes"]) and trained["notes"] == []


def test_a_design_outside_the_calibrated_territory_says_so_and_gets_the_wider_interval(tmp_path, monkeypatch):
    """A layer type in an io type no calibration row has is named in a note, and the interval is the widened one."""
    import dataclasses

    from tensorflow import keras

    from codesign.estimate import model as estimate_model_module

    constants = estimate_model_module.load_constants()
    narrowed = dataclasses.replace(constants, territory={"layers": [entry for entry in constants.territory["layers"] if entry != "Dense in io_parallel"],
                                                          "tools": constants.territory["tools"]})
    monkeypatch.setattr(estimate_model_module, "load_constants", lambda *args: narrowed)
    inputs = keras.Input((16,))
    model = keras.Model(inputs, keras.layers.Dense(5)(inputs))
    model.layers[-1].set_weights([np.full((16, 5), 0.3), np.zeros(5)])
    report = _estimate(model, tmp_path)
    assert report["territory"] == {"inside": False, "gaps": ["no calibration design has a Dense in io_parallel"]}
    assert report["notes"][0].startswith("outside the calibrated territory: no calibration design has a Dense in io_parallel")
    low, high = narrowed.interval_widest["lut"]
    assert report["interval"]["lut"] == [int(np.floor(report["total"]["lut"] * min(low, 1))), int(np.ceil(report["total"]["lut"] * max(high, 1)))]


def test_a_vitis_hls_era_and_family_no_calibration_design_was_built_by_is_outside_the_territory(tmp_path):
    """The territory kept the backend on the family: a Vitis HLS 2022.2 build on UltraScale counted as calibrated by
    Vitis HLS 2024.1's rows, though Vitis HLS 2020-2022 binds and schedules otherwise (its only rows: 2021.1 on
    7-series), and a Vitis HLS 2024.1 build on a Zynq-7000 by Vitis HLS 2021.1's."""
    import tensorflow as tf

    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import estimate_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((16,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(8, name="fc")(inputs))
    hls = HLSSpec(precision="ap_fixed<16,6>")
    graph = build_graph(model, hls, tmp_path, None, tmp_path / "log", policy_candidate(hls.precision))

    def tool_gaps(part, tool):
        report = estimate_graph(graph, find_part(part), 5.0, "io_parallel", "Vitis", tool=tool)
        return [gap for gap in report["territory"]["gaps"] if "was built by" in gap]

    assert tool_gaps("xcu250-figd2104-2L-e", "Vitis HLS 2022.2") == ["no calibration design was built by Vitis HLS 2020-2022 on ultrascale"]
    assert tool_gaps("xc7z020clg400-1", "Vitis HLS 2024.1") == ["no calibration design was built by Vitis HLS 2023 or later on 7series"]
    assert tool_gaps("xcu250-figd2104-2L-e", "Vitis HLS 2024.1") == tool_gaps("xcu250-figd2104-2L-e", None) == []
    assert tool_gaps("xc7z020clg400-1", "Vitis HLS 2021.1") == tool_gaps("xc7z020clg400-1", "Vivado HLS 2019.2") == []


def test_a_vitis_hls_2020_2022_kernel_prices_its_tree_cuts_as_that_tool_on_every_family(tmp_path):
    """Vitis HLS 2020-2022 registers more of an adder tree than the tools of the UltraScale rows (issue #34's jet
    tagger on xcku115: 24.2 k FF by Vitis HLS 2022.2, 11.3 k by Vivado HLS 2019.2): its tree cuts take its own price
    on UltraScale too, and only its; the registers of a layer that cuts no tree keep their family's price."""
    import dataclasses

    import tensorflow as tf

    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import Timing, estimate_graph, load_constants, stage_key
    from codesign.parts import find_part

    tree = {"kind": "dense", "shape": {"strategy": "latency"}}
    keys = {(family, era): stage_key(tree, Timing(5.0, "Vitis", family, "io_parallel", era=era))
            for family in ("7series", "ultrascale") for era in ("Vitis HLS 2020-2022", "Vitis HLS 2023 or later", "Vivado HLS")}
    assert keys == {("7series", "Vitis HLS 2020-2022"): "tree_vitis_2020_2022", ("ultrascale", "Vitis HLS 2020-2022"): "tree_vitis_2020_2022",
                    ("7series", "Vitis HLS 2023 or later"): "tree_7series", ("7series", "Vivado HLS"): "tree_7series",
                    ("ultrascale", "Vitis HLS 2023 or later"): "tree_ultrascale", ("ultrascale", "Vivado HLS"): "tree_ultrascale"}
    stages = {"kind": "dense", "shape": {"strategy": "resource"}}
    assert stage_key(stages, Timing(5.0, "Vitis", "ultrascale", "io_parallel", era="Vitis HLS 2020-2022")) == "stages_ultrascale"

    inputs = tf.keras.Input((16,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(64, name="fc")(inputs))
    hls = HLSSpec(precision="ap_fixed<16,6>")
    graph = build_graph(model, hls, tmp_path, None, tmp_path / "log", policy_candidate(hls.precision))
    shipped = load_constants()

    def fc_ff(tool, tree_price):
        constants = dataclasses.replace(shipped, ff={**shipped.ff, "tree_vitis_2020_2022": tree_price})
        report = estimate_graph(graph, find_part("xcu250-figd2104-2L-e"), 2.5, "io_parallel", "Vitis", tool=tool, constants=constants, local=False)
        return next(layer["ff"] for layer in report["layers"] if layer["name"] == "fc")

    current = fc_ff("Vitis HLS 2024.1", 0.0)
    assert fc_ff("Vitis HLS 2022.2", shipped.ff["tree_ultrascale"]) == current == fc_ff("Vitis HLS 2024.1", 9.0)
    assert fc_ff("Vitis HLS 2022.2", shipped.ff["tree_ultrascale"] + 1.0) > current


def test_a_latency_kernel_by_a_tool_no_calibration_design_has_on_that_family_is_outside_the_territory(tmp_path):
    """A Latency kernel's timings are priced per family, from the builds of the tools that made that family's rows
    (io_parallel on 7-series: Vitis HLS 2021.1 alone): a Vivado HLS io_parallel build on a Zynq-7000 takes another
    tool's timings and says so, its interval widened; on UltraScale Vivado HLS's own rows price it."""
    import tensorflow as tf

    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import estimate_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((16,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(8, name="fc")(inputs))
    hls = HLSSpec(precision="ap_fixed<16,6>")
    graph = build_graph(model, hls, tmp_path, None, tmp_path / "log", policy_candidate(hls.precision))

    def kernel_gaps(part, tool, backend="Vivado"):
        report = estimate_graph(graph, find_part(part), 5.0, "io_parallel", backend, tool=tool)
        return [gap for gap in report["territory"]["gaps"] if gap.startswith("the Latency kernels of")], report

    gaps, report = kernel_gaps("xc7z020clg400-1", "Vivado HLS 2019.2")
    assert len(gaps) == 1 and gaps[0].startswith("the Latency kernels of fc in io_parallel by Vivado HLS on 7series: no calibration design has one")
    assert report["territory"]["inside"] is False and any(note.startswith("outside the calibrated territory") for note in report["notes"])
    assert kernel_gaps("xcu250-figd2104-2L-e", "Vivado HLS 2020.1")[0] == kernel_gaps("xc7z020clg400-1", "Vitis HLS 2021.1", "Vitis")[0] == []


def test_narrow_products_go_to_logic_except_on_vitis_before_2023(tmp_path):
    """8-bit data into 8-bit weights: LUTs on Vivado HLS and current Vitis HLS, DSPs by the digit rule on Vitis HLS
    2021 (the ArgyKokk projects); 16-bit data keeps its DSPs everywhere."""
    import tensorflow as tf

    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import estimate_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((16,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(8, name="fc")(inputs))
    model.layers[-1].set_weights([np.full((16, 8), 0.34375), np.zeros(8)])  # 0.34375 = 0.0101100b: 3 signed digits

    def dsp(precision, tool):
        hls = HLSSpec(precision=precision)
        graph = build_graph(model, hls, tmp_path, None, tmp_path / "log", policy_candidate(hls.precision))
        return _layer(estimate_graph(graph, find_part(hls.part), 5.0, "io_parallel", tool=tool), "fc")["dsp"]

    assert dsp("ap_fixed<8,2>", None) == dsp("ap_fixed<8,2>", "Vivado HLS 2019.2") == dsp("ap_fixed<8,2>", "Vitis HLS 2024.1") == 0
    assert dsp("ap_fixed<8,2>", "Vitis HLS 2021.1") == 16  # one per distinct (input, constant)
    assert dsp("ap_fixed<16,6>", None) == dsp("ap_fixed<16,6>", "Vitis HLS 2021.1") == 16


@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_the_estimate_a_user_gets_is_what_the_fit_predicts_for_that_row():
    """The CLI/API path (estimate_graph) and the fit's path (the docs table) price a calibration row alike: the same
    cycles (the top function is not a layer call), DSP and BRAM, LUT and FF up to per-layer rounding; the SVHN CNN's
    streamed poolings and kernels with their own terms too."""
    from codesign.estimate.calibration import _sample, all_rows
    from codesign.estimate.fit import predict
    from codesign.estimate.model import estimate_graph, load_constants
    from codesign.parts import find_part

    rows = [row for row in all_rows(CALIBRATION) if row.id in ("hls4ml_ci_026", "hls4ml_ci_049", "hls4ml_ci_043", "tut_p1_vitis2024", "tut_p6_cnn_pruned_vhls2020")]
    assert len(rows) == 5
    for row in rows:
        graph = row.convert()
        total = estimate_graph(graph, find_part(row.part), row.clock_ns, row.io_type, row.backend, row.multipliers, tool=row.tool,
                                uncertainty=row.uncertainty)["total"]
        predicted = predict(_sample(row, graph), load_constants())
        assert {key: total[key] for key in ("latency_cycles", "dsp", "bram_18k")} == {key: predicted[key] for key in ("latency_cycles", "dsp", "bram_18k")}, row.id
        layers = len(graph.get_layers())
        assert abs(total["lut"] - predicted["lut"]) <= layers and abs(total["ff"] - predicted["ff"]) <= layers, row.id


def test_vivado_hls_registers_less_around_the_layer_calls_of_a_pipelined_top(tmp_path):
    """Failure pattern 3: the same io_parallel MLP, Latency strategy (hls4ml pipelines its top), is scheduled in fewer
    cycles by Vivado HLS than by Vitis HLS (hls4ml's CI Dense: 2 cycles against 3); with the Resource strategy
    (a dataflow top) each call keeps its register on both tools."""
    import tensorflow as tf

    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import estimate_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((16,))
    x = inputs
    for index, units in enumerate((64, 32, 32, 5), start=1):
        x = tf.keras.layers.Dense(units, name=f"fc{index}")(x)
        x = tf.keras.layers.Activation("relu" if units != 5 else "softmax", name=f"act{index}")(x)
    model = tf.keras.Model(inputs, x)

    def cycles(strategy, tool):
        hls = HLSSpec(precision="ap_fixed<16,6>", strategy=strategy, reuse_factor=2)
        graph = build_graph(model, hls, tmp_path, None, tmp_path / "log", policy_candidate(hls.precision))
        return estimate_graph(graph, find_part(hls.part), 5.0, "io_parallel", tool=tool)["total"]["latency_cycles"]

    assert cycles("Latency", "Vivado HLS 2019.2") < cycles("Latency", "Vitis HLS 2024.1")
    assert cycles("Resource", "Vivado HLS 2019.2") == cycles("Resource", "Vitis HLS 2024.1")


def test_a_project_without_a_report_is_estimated_as_its_log_or_scripts_name_the_tool(hls4ml_project, tmp_path):
    """No C-synthesis report: the tool's log banner names tool and version; else hls4ml's project.tcl names the backend's
    tool (unless it says vivado over the Vitis backend's templates, as hls4ml 0.8 wrote); the estimate says which it
    assumed and why."""
    import shutil

    from codesign.estimate.project import estimate_project
    from codesign.estimate.vendor import tool_of_folder

    folder = tmp_path / "prj"
    shutil.copytree(hls4ml_project, folder)
    assert tool_of_folder(folder, "Vitis") == ("Vitis HLS", 'project.tcl (set backend "vitis")')
    vitis = estimate_project(folder)
    assert vitis["settings"]["tool"] == "Vitis HLS" and any("estimated as Vitis HLS builds it (from project.tcl" in note for note in vitis["notes"])
    (folder / "vivado_hls.log").write_text("****** Vivado(TM) HLS - High-Level Synthesis from C, C++ and SystemC v2020.1 (64-bit)\n")
    assert tool_of_folder(folder, "Vitis") == ("Vivado HLS 2020.1", "the banner of vivado_hls.log")
    vivado = estimate_project(folder)
    assert vivado["settings"]["tool"] == "Vivado HLS 2020.1" and any("from the banner of vivado_hls.log" in note for note in vivado["notes"])
    (folder / "vivado_hls.log").unlink()
    tcl = folder / "project.tcl"
    tcl.write_text(tcl.read_text().replace('set backend "vitis"', 'set backend "vivado"'))  # what hls4ml 0.8's Vitis backend wrote
    assert tool_of_folder(folder, "Vitis") == ("Vitis HLS", "firmware/nnet_utils (hls4ml's Vitis templates)")
    shutil.rmtree(folder / "firmware" / "nnet_utils")
    assert tool_of_folder(folder, "Vitis") == ("Vivado HLS", 'project.tcl (set backend "vivado")')
    tcl.unlink()
    assert tool_of_folder(folder, "VivadoAccelerator")[0] == "Vivado HLS" and tool_of_folder(folder, "Vitis")[0] == "Vitis HLS"


def test_the_terms_outside_the_calibration_are_named_with_their_layers(tmp_path):
    """A Resource-strategy layer above the calibrated reuse factors and a lookup table larger than hls4ml's 1,024
    entries: each gap names its layer and the term that extrapolates, and the interval is the widened one."""
    from tensorflow import keras

    from codesign.estimate.model import load_constants

    constants = load_constants()
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, name="wide")(inputs)
    outputs = keras.layers.Activation("sigmoid", name="head")(keras.layers.Dense(4, name="out")(hidden))
    model = keras.Model(inputs, outputs)
    report = _estimate(model, tmp_path, strategy="Resource", reuse_factor=128)
    gaps = report["territory"]["gaps"]
    calibrated = max(constants.territory["resource_reuse"])
    assert any(gap.startswith("the Resource strategy's input multiplexer and weight memory of wide at reuse factor 128") and
               f"no calibration design above reuse factor {calibrated}" in gap for gap in gaps), gaps
    inside = _estimate(model, tmp_path, strategy="Resource", reuse_factor=32)
    assert not any("Resource strategy" in gap for gap in inside["territory"]["gaps"])
    assert report["interval"]["lut"][1] / report["total"]["lut"] > inside["interval"]["lut"][1] / inside["total"]["lut"]  # widened

    import hls4ml

    from codesign.estimate.model import estimate_graph
    from codesign.parts import part_or_unlisted

    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["LayerName"]["head"]["TableSize"] = 4096
    graph = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=str(tmp_path / "prj"), backend="Vitis")
    tabled = estimate_graph(graph, part_or_unlisted("xcu250-figd2104-2L-e")[0], 5.0, "io_parallel")
    assert tabled["territory"]["gaps"] == ["the lookup tables of head (4,096 entries): every calibration design has hls4ml's 1,024-entry tables "
                                           "(priced by their bits)"]
    assert _layer(tabled, "head")["bram_18k"] == 2 * -(-4096 * 18 // 18432)  # two dual-port tables for four outputs, 18-bit entries


@pytest.mark.skipif(not (CALIBRATION / "projects").exists(), reason="shared/calibration is not beside the checkout")
def test_calibrating_with_two_builds_of_a_source_moves_the_third_estimate_toward_its_vendor_figures(tmp_path, monkeypatch, hls4ml_project):
    """`codesign calibrate` on copies of two of the HAR MLP's three LUT-multiplier projects (Vitis HLS 2021.1 on a
    7-series part; their folders do not say that the build forced the multipliers into logic, which their reports
    show): the third's estimate, read with that calibration, is closer to its own report over the four metrics, and
    says so. A report file alone and a folder without a report are refused in one line, nothing written. (The jet
    tagger's DSP projects, used before, are not a fair trio: the reuse-100 folder's config says reuse factor 1.)"""
    import shutil

    from codesign.estimate.project import estimate_project

    stem = "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__HAR__hls4ml_prj__LUT_reuse"
    for reuse in (1, 100):
        shutil.copytree(CALIBRATION / "projects" / f"{stem}{reuse}", tmp_path / f"reuse{reuse}")
    text_report = tmp_path / "reuse100" / "reports" / "myproject_csynth.rpt"  # this build's report as the tool's XML only
    tool_reports = tmp_path / "reuse100" / "myproject_prj" / "solution1" / "syn" / "report"
    tool_reports.mkdir(parents=True)
    (tool_reports / "myproject_csynth.xml").write_text(csynth_xml(parse_csynth(text_report), "2021.1", 5.0, 0.62))
    text_report.unlink()
    third = CALIBRATION / "projects" / f"{stem}2"
    into = tmp_path / "mine" / "calibration.json"
    result = CliRunner().invoke(main, ["calibrate", str(tmp_path / "reuse1"), str(tmp_path / "reuse100"), "--into", str(into)])
    assert result.exit_code == 0, result.output
    assert "Vitis HLS on 7series: 2 builds" in result.output and into.is_file()
    assert {build["vendor"]["lut"] for build in read_json(into)["builds"]} == {264390, 204460}  # the XML's figures, as the text's
    vendor = vendor_results(third)["csynth"]

    def error(report):
        return sum(abs(math.log((report["total"][metric] + 1) / (vendor[metric] + 1))) for metric in ("dsp", "lut", "ff", "latency_cycles"))

    monkeypatch.setenv("CODESIGN_CALIBRATION", str(tmp_path / "none.json"))
    shipped = estimate_project(third)
    monkeypatch.setenv("CODESIGN_CALIBRATION", str(into))
    calibrated = estimate_project(third)
    assert error(calibrated) < error(shipped)
    assert calibrated["calibrated_with"]["builds"] == 2 and any(note.startswith("calibrated with 2 of your builds") for note in calibrated["notes"])
    other = estimate_project(hls4ml_project)  # a Vitis design on a Zynq (7-series) too: scaled; its key is the same family
    assert other["calibrated_with"]["builds"] == 2

    for refused, words in ((vendor["report"], "a report alone has no design"), (hls4ml_project, "no C-synthesis report")):
        failed = CliRunner().invoke(main, ["calibrate", str(refused), "--into", str(tmp_path / "refused.json")])
        assert failed.exit_code == 2 and words in failed.output and len(failed.output.strip().splitlines()) == 1, failed.output
        assert not (tmp_path / "refused.json").exists()


def test_calibrating_a_folder_of_builds_adds_each_project_with_a_report(tmp_path, hls4ml_project):
    """`codesign calibrate FOLDER`, FOLDER a user's build area: each project in it with a C-synthesis report is added,
    those without are named and skipped; a folder none of whose projects has a report is refused, nothing written."""
    import shutil

    stem = "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__HAR__hls4ml_prj__LUT_reuse"
    for reuse in (1, 2):
        shutil.copytree(CALIBRATION / "projects" / f"{stem}{reuse}", tmp_path / "builds" / "har" / f"reuse{reuse}")
    shutil.copytree(hls4ml_project, tmp_path / "builds" / "notebook_prj")
    into = tmp_path / "calibration.json"
    result = CliRunner().invoke(main, ["calibrate", str(tmp_path / "builds"), "--into", str(into)])
    assert result.exit_code == 0, result.output
    assert "1 of its 3 projects have no C-synthesis report, skipped: notebook_prj" in result.output
    assert sorted(Path(build["source"]).name for build in read_json(into)["builds"]) == ["reuse1", "reuse2"]
    shutil.copytree(hls4ml_project, tmp_path / "unbuilt" / "my_prj")
    failed = CliRunner().invoke(main, ["calibrate", str(tmp_path / "unbuilt"), "--into", str(tmp_path / "refused.json")])
    assert failed.exit_code == 2 and "none of the 1 projects it holds has a C-synthesis report" in failed.output
    assert not (tmp_path / "refused.json").exists()


def test_more_products_than_hls4ml_partitions_are_summed_in_a_chain_on_vitis_hls(tmp_path):
    """A Latency-strategy Dense of more than 4,096 products (hls4ml's partition limit) takes a cycle per few nonzero
    products on Vitis HLS (ArgyKokk's MNIST and HAR first layers), a tree's few cycles at 4,096 or on Vivado HLS; on
    UltraScale, where no calibration row has one, the estimate says so and names the layer."""
    import tensorflow as tf

    from codesign.estimate.model import load_constants

    def dense(n_in, name):
        inputs = tf.keras.Input((n_in,))
        model = tf.keras.Model(inputs, tf.keras.layers.Dense(8, name=name)(inputs))
        model.layers[-1].set_weights([np.random.default_rng(1).normal(0, 0.5, (n_in, 8)), np.zeros(8)])
        return model

    zynq = {"part": "xc7z020clg400-1"}
    chained = estimate_model(dense(600, "wide"), HLSSpec(precision="ap_fixed<16,6>", **zynq), None, tmp_path / "a", tool="Vitis HLS 2021.1")
    at_limit = estimate_model(dense(512, "limit"), HLSSpec(precision="ap_fixed<16,6>", **zynq), None, tmp_path / "b", tool="Vitis HLS 2021.1")
    vivado = estimate_model(dense(600, "wide"), HLSSpec(precision="ap_fixed<16,6>", backend="Vivado", **zynq), None, tmp_path / "c", tool="Vivado HLS 2020.1")
    period = 5.0 * (1 - 0.27)
    chain_ns = load_constants().latency["chain_add_ns_7series"]
    assert _layer(chained, "wide")["latency_cycles"] == math.ceil(600 * chain_ns / period)  # every weight nonzero
    assert _layer(at_limit, "limit")["latency_cycles"] <= 10 and _layer(vivado, "wide")["latency_cycles"] <= 10
    assert chained["territory"]["inside"] is True
    ultrascale = estimate_model(dense(600, "wide"), HLSSpec(precision="ap_fixed<16,6>"), None, tmp_path / "d", tool="Vitis HLS 2024.1")
    assert any(gap.startswith("the products of wide summed one after another") for gap in ultrascale["territory"]["gaps"])


def test_a_parallelization_factor_computes_that_many_pixels_at_once(tmp_path):
    """hls4ml's io_parallel Resource convolution (conv_2d_resource_cl) computes ParallelizationFactor output pixels
    per pass of its reuse loop, each with its own multipliers: the pixel passes and the multipliers are counted from it."""
    import yaml

    model = _dense_conv_model()  # Conv2D(4, 3) on 8x8x2: 36 output pixels of 18x4 products

    def conv(factor):
        config = tmp_path / f"pf{factor}.yml"
        config.write_text(yaml.safe_dump({"LayerName": {"conv": {"ParallelizationFactor": factor, "ReuseFactor": 9, "Strategy": "Resource"}}}))
        report = estimate_model(model, HLSSpec(precision="ap_fixed<16,6>", strategy="Resource", reuse_factor=9, hls4ml_config=str(config)), None,
                                tmp_path / f"log{factor}")
        return _layer(report, "conv"), report["territory"]["gaps"]

    (one, _), (four, gaps) = conv(1), conv(4)
    assert any(gap.startswith("the parallelization factor of conv (4, resource)") for gap in gaps)
    assert four["dsp"] == 4 * one["dsp"] > 0
    passes = one["ii"] // 36
    assert one["ii"] == 36 * passes and four["ii"] == 9 * passes
    assert one["latency_cycles"] - four["latency_cycles"] == 27 * passes


def test_a_shared_resource_kernel_in_io_parallel_holds_its_accumulators_and_its_multipliers_registers(tmp_path):
    """io_parallel dense_resource keeps acc[n_out] and, for each of its ceil(n_in x n_out / RF) shared multipliers, an
    input, a weight and a product across its reuse loop: its FF are those bits, counted (on UltraScale the fitted stage
    price had left it none), and the estimate says no calibration design has such a kernel there."""
    import yaml

    model = _dense_conv_model()  # fc: Dense(8) on the 6x6x4 = 144 values of the convolution's relu
    config = tmp_path / "fc.yml"
    config.write_text(yaml.safe_dump({"LayerName": {"fc": {"Strategy": "Resource", "ReuseFactor": 16}}}))
    report = estimate_model(model, HLSSpec(precision="ap_fixed<16,6>", hls4ml_config=str(config), part="xcu250-figd2104-2L-e"), None, tmp_path / "log")
    multipliers = math.ceil(144 * 8 / 16)
    assert _layer(report, "fc")["ff"] == 8 * 16 + multipliers * (16 + 16 + 16)  # every type ap_fixed<16,6>
    assert any(gap.startswith("the Resource kernels of fc in io_parallel on ultrascale: no calibration design has one") for gap in report["territory"]["gaps"])


def test_a_softmax_is_priced_per_lane_and_bit_whatever_its_pipeline_depth(tmp_path):
    """The calibration's softmax instances hold 7.6-14.8 FF per lane and output bit at 8 to 20 cycles deep (Vitis HLS
    2021.1): at a faster clock the same softmax takes more cycles but its registers stay, while a Dense's pipeline
    registers (output bits x depth) grow with the cycles."""
    import tensorflow as tf

    inputs = tf.keras.Input((16,))
    hidden = tf.keras.layers.Dense(10, name="fc")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Softmax(name="probabilities")(hidden))
    model.layers[1].set_weights([np.random.default_rng(2).normal(0, 0.5, (16, 10)), np.zeros(10)])
    slow, fast = (estimate_model(model, HLSSpec(precision="ap_fixed<16,6>", part="xc7z020clg400-1", clock_ns=clock), None, tmp_path / str(clock),
                                 tool="Vitis HLS 2021.1") for clock in (10.0, 2.5))
    assert _layer(fast, "probabilities")["latency_cycles"] > _layer(slow, "probabilities")["latency_cycles"]
    assert _layer(fast, "probabilities")["ff"] == _layer(slow, "probabilities")["ff"] > 0
    assert _layer(fast, "fc")["latency_cycles"] > _layer(slow, "fc")["latency_cycles"] and _layer(fast, "fc")["ff"] > _layer(slow, "fc")["ff"]


def test_a_streamed_softmax_fills_its_tables_at_every_call_on_vitis_hls(tmp_path):
    """hls4ml's io_stream softmax fills its tables in a loop at every call, from ap_fixed bit slices that Vitis HLS does
    not fold (issue #34: 1,024 of a streamed softmax's 1,053 cycles on Vitis HLS 2024.2): its cycles and the design's
    interval hold the fill there, not on Vivado HLS, not in io_parallel (one pipelined function), not for the legacy
    implementation (tables from floats, folded), and the estimate names the term as outside the calibration."""
    import tensorflow as tf

    from codesign.estimate.model import estimate_graph
    from codesign.estimate.run import convert_for_estimate
    from codesign.parts import part_or_unlisted

    inputs = tf.keras.Input((16,))
    hidden = tf.keras.layers.Dense(10, name="fc")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Softmax(name="probabilities")(hidden))
    model.layers[1].set_weights([np.random.default_rng(2).normal(0, 0.5, (16, 10)), np.zeros(10)])

    def estimate(io_type, tool, implementation=None):
        hls = HLSSpec(precision="ap_fixed<16,6>", part="xcvu9p-flga2104-2-e", clock_ns=5.0, io_type=io_type)
        graph, _ = convert_for_estimate(model, hls, None, tmp_path / "convert.log")
        if implementation:
            next(layer for layer in graph.get_layers() if layer.name == "probabilities").set_attr("implementation", implementation)
        return estimate_graph(graph, part_or_unlisted(hls.part)[0], hls.clock_ns, io_type, hls.backend, tool=tool)

    filled = estimate("io_stream", "Vitis HLS 2024.2")
    assert _layer(filled, "probabilities")["latency_cycles"] >= 1024 and filled["total"]["latency_cycles"] >= 1024
    assert filled["total"]["ii"] >= 1024  # the fill comes again with every input
    assert any("table fill of probabilities (1,024 cycles a call)" in gap for gap in filled["territory"]["gaps"])
    for io_type, tool, implementation in (("io_stream", "Vivado HLS 2020.1", None), ("io_parallel", "Vitis HLS 2024.2", None),
                                          ("io_stream", "Vitis HLS 2024.2", "legacy")):
        folded = estimate(io_type, tool, implementation)
        assert _layer(folded, "probabilities")["latency_cycles"] < 30 and folded["total"]["ii"] < 30, (io_type, tool, implementation)
        assert not any("table fill" in gap for gap in folded["territory"]["gaps"])


def test_a_saturating_accumulator_sums_in_a_chain_and_the_estimate_says_why(tmp_path):
    """hls4ml's `acc[j] += mult[i]` into an accum_t that saturates depends on the order of the adds, so the tools keep
    it: a Dense of fan-in 64 takes a saturating add per product (model.SATURATING_ADD_NS), a wrapping accumulator of
    the same width a tree of a few cycles; the estimate names the layer and the reason."""
    import tensorflow as tf

    from codesign.estimate.model import SATURATING_ADD_NS

    inputs = tf.keras.Input((64,))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(16, name="dense")(inputs))
    model.layers[-1].set_weights([np.random.default_rng(2).normal(0, 0.3, (64, 16)), np.zeros(16)])
    estimates = {precision: estimate_model(model, HLSSpec(precision=precision, backend="Vivado"), None, tmp_path / precision[-8:-1], tool="Vivado HLS 2020.1")
                 for precision in ("ap_fixed<16,8,AP_RND,AP_SAT>", "ap_fixed<16,8,AP_RND,AP_WRAP>")}
    saturating, wrapping = (_layer(estimate, "dense") for estimate in estimates.values())
    period = 5.0 * (1 - 0.125)
    assert saturating["latency_cycles"] == math.ceil(64 * SATURATING_ADD_NS / period) and wrapping["latency_cycles"] <= 4
    assert saturating["lut"] > 5 * wrapping["lut"] and saturating["ff"] > 5 * wrapping["ff"]
    gaps = estimates["ap_fixed<16,8,AP_RND,AP_SAT>"]["territory"]["gaps"]
    assert any(gap.startswith("the products of dense summed one after another because its accumulator type saturates") for gap in gaps), gaps
    assert not any("saturates" in gap for gap in estimates["ap_fixed<16,8,AP_RND,AP_WRAP>"]["territory"]["gaps"])


def test_a_streamed_dense_after_a_flatten_reads_one_word_per_pixel(tmp_path):
    """io_stream keeps a Flatten's input stream (hls4ml's InplaceStreamFlatten): the Dense after it reads one word per
    pixel of the convolution before (6x6 pixels of 4 channels: 36 words), one a cycle, before its kernel runs."""
    import tensorflow as tf

    inputs = tf.keras.Input((8, 8, 3))
    flat = tf.keras.layers.Flatten(name="flatten")(tf.keras.layers.Conv2D(4, 3, name="conv")(inputs))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(5, name="dense")(flat))
    streamed = _layer(estimate_model(model, HLSSpec(io_type="io_stream"), None, tmp_path / "s"), "dense")
    parallel = _layer(estimate_model(model, HLSSpec(io_type="io_parallel"), None, tmp_path / "p"), "dense")
    assert streamed["ii"] == 36 and streamed["latency_cycles"] >= 36 and parallel["ii"] == 1 and parallel["latency_cycles"] < 10


@pytest.mark.parametrize(("recurrent", "gates", "directions"), [("LSTM", 4, 1), ("GRU", 3, 1), ("Bidirectional", 4, 2)])
def test_a_recurrent_layer_is_priced_as_the_calls_of_its_time_step(tmp_path, recurrent, gates, directions):
    """An LSTM or GRU was priced as element-wise logic (an 8-unit LSTM: 0 DSP, 1 cycle). hls4ml's template runs one
    step's hardware once per time step: a kernel on the input (n_in x gates*units at the reuse factor), one on the
    state (units x gates*units; hls4ml 1.3 gives it the same reuse factor), the gates' tables, 3 products a unit. Its
    DSPs are N-TORC's rule (gates*u*n_in/RF + gates*u*u/RF + 3u), each step takes at least its RF cycles, the next
    input waits for the last step, and twice the steps take twice the cycles on the same hardware. A Bidirectional
    LSTM runs both directions' steps side by side: twice the hardware, the same cycles."""
    import tensorflow as tf

    def rnn(steps):
        tf.keras.utils.set_random_seed(3)
        layer = tf.keras.layers.Bidirectional(tf.keras.layers.LSTM(8), name="rnn") if directions == 2 else getattr(tf.keras.layers, recurrent)(8, name="rnn")
        model = tf.keras.Sequential([tf.keras.Input((steps, 4)), layer, tf.keras.layers.Dense(3, name="out")])
        return _layer(_estimate(model, tmp_path, strategy="Resource", reuse_factor=8), "rnn")

    layer, longer = rnn(10), rnn(20)
    assert layer["type"] == recurrent
    assert layer["dsp"] == directions * (gates * 8 * 4 // 8 + gates * 8 * 8 // 8 + 3 * 8)
    assert layer["latency_cycles"] >= 10 * 8 and layer["ii"] == layer["latency_cycles"]
    assert layer["bram_18k"] > 0 and layer["lut"] > 0 and layer["ff"] > 0
    assert {key: longer[key] for key in ("dsp", "lut", "ff", "bram_18k")} == {key: layer[key] for key in ("dsp", "lut", "ff", "bram_18k")}
    assert longer["latency_cycles"] == 2 * layer["latency_cycles"]


def test_a_time_distributed_layer_is_a_copy_per_step_in_a_pipelined_top_and_step_after_step_in_a_dataflow_one(tmp_path):
    """hls4ml 1.x writes a TimeDistributed as a loop over the time steps in the top function, around the wrapped
    layer's call: its markers were priced as element-wise logic (1,524 LUT for a Dense(5) over 8 steps) and the wrapped
    Dense once. A pipelined io_parallel top unrolls the loop (a copy per step); a dataflow top runs the steps in turn."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(31)
    wrapped = tf.keras.layers.Dense(5, name="fc")
    model = tf.keras.Sequential([tf.keras.Input((8, 4)), tf.keras.layers.TimeDistributed(wrapped, name="steps"), tf.keras.layers.Flatten(name="flat"),
                                 tf.keras.layers.Dense(2, name="out")])
    alone = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(5, name="fc")])
    alone.get_layer("fc").set_weights(wrapped.get_weights())
    parallel = _estimate(model, tmp_path, io_type="io_parallel")
    one = _layer(_estimate(alone, tmp_path, io_type="io_parallel"), "fc")
    assert _layer(parallel, "fc")["dsp"] == 8 * one["dsp"] > 0
    markers = [layer for layer in parallel["layers"] if layer["type"] == "TimeDistributed"]
    assert len(markers) == 2 and all(layer["lut"] == layer["ff"] == layer["dsp"] == 0 for layer in markers)
    streamed = _layer(_estimate(model, tmp_path, io_type="io_stream"), "fc")
    assert streamed["dsp"] == one["dsp"] and streamed["latency_cycles"] >= 8 and streamed["latency_cycles"] % 8 == 0
    assert any("inside a TimeDistributed loop, fc (8 steps)" in note for note in parallel["notes"])


def test_an_average_pooling_that_pads_divides_at_run_time_on_vivado_hls(tmp_path):
    """hls4ml's io_parallel average pooling divides each sum by the count of unpadded values it took (`y /= length`):
    where the layer pads, Vivado HLS builds a divider per output (hls4ml's CI, Vivado HLS 2020.1: 21 cycles, 137,178 FF
    for 61x3 outputs), where it does not, or on Vitis HLS, the count folds into a constant."""
    import tensorflow as tf

    def pooling(padding):
        inputs = tf.keras.Input((121, 3))
        return tf.keras.Model(inputs, tf.keras.layers.AveragePooling1D(2, padding=padding, name="pool")(inputs))

    vivado = {"backend": "Vivado", "part": "xcvu13p-flga2577-2-e"}
    padded = estimate_model(pooling("same"), HLSSpec(**vivado), None, tmp_path / "same", tool="Vivado HLS 2020.1")
    valid = estimate_model(pooling("valid"), HLSSpec(**vivado), None, tmp_path / "valid", tool="Vivado HLS 2020.1")
    vitis = estimate_model(pooling("same"), HLSSpec(part="xcvu13p-flga2577-2-e"), None, tmp_path / "vitis", tool="Vitis HLS 2024.1")
    assert _layer(padded, "pool")["latency_cycles"] >= 10 and _layer(valid, "pool")["latency_cycles"] == 0 == _layer(vitis, "pool")["latency_cycles"]
    assert _layer(padded, "pool")["ff"] > 10 * max(_layer(valid, "pool")["ff"], _layer(vitis, "pool")["ff"], 1)
    assert _layer(padded, "pool")["lut"] > 10 * max(_layer(valid, "pool")["lut"], _layer(vitis, "pool")["lut"])
    assert padded["territory"]["inside"] is True  # hls4ml's CI rows of it are in the calibration


def test_an_identity_leaky_relu_is_free_but_streamed_keeps_its_streams_register(tmp_path):
    """LeakyReLU(alpha=1) is x -> x: the tools remove its logic and cycles; streamed, its dataflow process keeps its
    stream's register (hls4ml's CI, Vitis HLS 2024.1: Dense(64) and it, 2,064 FF, as with a ReLU; it was 1,024)."""
    import tensorflow as tf

    inputs = tf.keras.Input((1,))
    x = tf.keras.layers.Dense(64, name="dense")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.LeakyReLU(alpha=1.0, name="leaky")(x))
    streamed = estimate_model(model, HLSSpec(part="xcvu13p-flga2577-2-e", io_type="io_stream"), None, tmp_path / "stream", tool="Vitis HLS 2024.1")
    parallel = estimate_model(model, HLSSpec(part="xcvu13p-flga2577-2-e"), None, tmp_path / "parallel", tool="Vitis HLS 2024.1")
    leaky = _layer(streamed, "leaky")
    assert leaky["ff"] >= 64 * 16 and leaky["lut"] == 0 and leaky["latency_cycles"] == 0
    assert _layer(parallel, "leaky")["ff"] == _layer(parallel, "leaky")["lut"] == 0


def test_the_models_output_stream_is_the_top_functions_port_not_a_fifo(tmp_path):
    """io_stream: each layer's output stream is a FIFO as deep as its pixels (BRAM above 32 deep), except the model's
    output, which hls4ml passes to the top function (hls4ml's CI DepthwiseConv2D 32x32x3 -> 30x30x3 alone, Vivado HLS
    2020.1: 0 BRAM, estimated 12 before)."""
    import tensorflow as tf

    inputs = tf.keras.Input((32, 32, 3))
    x = tf.keras.layers.DepthwiseConv2D(3, name="depthwise")(inputs)
    spec = HLSSpec(backend="Vivado", part="xcvu13p-flga2577-2-e", io_type="io_stream", precision="ap_fixed<32,12>")
    alone = estimate_model(tf.keras.Model(inputs, x), spec, None, tmp_path / "alone", tool="Vivado HLS 2020.1")
    followed = estimate_model(tf.keras.Model(inputs, tf.keras.layers.ReLU(name="relu")(x)), spec, None, tmp_path / "followed", tool="Vivado HLS 2020.1")
    assert _layer(alone, "depthwise")["bram_18k"] == 0
    assert _layer(followed, "depthwise")["bram_18k"] >= 3 and _layer(followed, "relu")["bram_18k"] == 0  # 900 deep, a FIFO per channel


def test_combinational_layers_are_cut_by_the_top_function_at_each_clock_period(tmp_path):
    """Where every layer's logic fits a cycle, the tools leave each call unregistered, but their chain does not fit one:
    the top function registers it once per clock period (Vitis HLS 2024.1, an HGQ MLP's seven calls at 5 ns: 4 and
    6 cycles; at 25 ns: 0 and 1). Longer periods take fewer cycles, down to none. Its constants have three CSD digits or
    more (each product a multiplier, not a shift or one add)."""
    import tensorflow as tf

    from codesign.estimate.model import estimate_graph
    from codesign.estimate.run import convert_for_estimate
    from codesign.parts import part_or_unlisted

    rng = np.random.default_rng(4)
    inputs = tf.keras.Input((8,))
    hidden = inputs
    for index in range(3):
        hidden = tf.keras.layers.ReLU(name=f"relu{index}")(tf.keras.layers.Dense(8, name=f"fc{index}")(hidden))
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(4, name="out")(hidden))
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.choice([-0.71875, -0.40625, 0.34375, 0.59375], w.shape) for w in layer.get_weights()])

    def estimate(clock_ns):
        hls = HLSSpec(precision="ap_fixed<8,3>", part="xcvu9p-flga2104-2-e", clock_ns=clock_ns, io_type="io_parallel")
        graph, _ = convert_for_estimate(model, hls, None, tmp_path / "convert.log")
        return estimate_graph(graph, part_or_unlisted(hls.part)[0], hls.clock_ns, "io_parallel", hls.backend, tool="Vitis HLS 2024.1")

    cycles = {}
    for clock_ns in (5.0, 10.0, 25.0):
        report = estimate(clock_ns)
        assert all(layer["latency_cycles"] == 0 for layer in report["layers"] if layer["name"] != "top"), report["layers"]
        cycles[clock_ns] = report["total"]["latency_cycles"]
    assert cycles[5.0] >= 2 and cycles[5.0] > cycles[10.0] >= cycles[25.0] == 0, cycles


def test_a_pipelined_top_registers_each_layer_calls_output_unless_a_table_read_or_a_dataflow_top_holds_it(tmp_path):
    """The top function's registers between layer calls (the reports' `layerN_out` rows): every layer's output bits once
    some layer takes a cycle, in the top's row; none in a dataflow top (the Resource strategy), none for a sigmoid's
    output (the block RAM's read register holds it), none where every layer is combinational."""
    import tensorflow as tf

    from codesign.convert import build_graph, policy_candidate
    from codesign.estimate.model import call_register_bits, estimate_graph, load_constants
    from codesign.parts import find_part

    def mlp(hidden_activation):
        inputs = tf.keras.Input((16,))
        x = inputs
        for index, units in enumerate((64, 32, 5), start=1):
            x = tf.keras.layers.Dense(units, name=f"fc{index}")(x)
            x = tf.keras.layers.Activation(hidden_activation if units != 5 else "softmax", name=f"act{index}")(x)
        return tf.keras.Model(inputs, x)

    def top_ff(model, strategy):
        hls = HLSSpec(precision="ap_fixed<16,6>", strategy=strategy, reuse_factor=2)
        graph = build_graph(model, hls, tmp_path, None, tmp_path / "log", policy_candidate(hls.precision))
        report = estimate_graph(graph, find_part(hls.part), 5.0, "io_parallel", tool="Vitis HLS 2024.1")
        return _layer(report, "top")["ff"]

    price, base = load_constants().ff["output"], round(load_constants().ff["base"])
    assert price > 0
    relu, sigmoid = mlp("relu"), mlp("sigmoid")
    every_output = (64 + 64 + 32 + 32 + 5 + 5) * 16  # each Dense's and each activation's outputs, 16 bits
    assert top_ff(relu, "Latency") == base + round(price * every_output)
    assert top_ff(sigmoid, "Latency") == base + round(price * (every_output - (64 + 32) * 16))  # the sigmoids' reads are held by their tables
    assert top_ff(relu, "Resource") == base  # a dataflow top hands the arrays over
    layer = {"ff": {"output": 1024.0}}
    from codesign.estimate.model import Timing

    pipelined = Timing(5.0, "Vitis", "ultrascale", "io_parallel", "Vitis HLS", "pipeline")
    assert call_register_bits([layer, layer], [1, 0], pipelined) == 2048.0
    assert call_register_bits([layer, layer], [0, 0], pipelined) == 0.0  # a combinational chain: cut per clock period, not per call


def test_the_call_registers_are_priced_on_the_reports_top_functions_of_designs_whose_types_are_their_widths(monkeypatch):
    """fit.fit_call_registers: a report's design FF less its instances' FF against the bits the top registers; designs
    without instance rows, and HGQ's (types that are upper bounds of narrower values), do not set the price."""
    from codesign.estimate import fit

    bits = {"a": 1000.0, "b": 3000.0, "c": 2000.0, "hgq": 4000.0, "total_only": 5000.0}

    def sample(id, ff, instance_ff, declared=True):
        instances = [{"ff": instance_ff}] if instance_ff is not None else []
        return fit.Sample(id, id, "MLP", "project", None, [], {"ff": ff}, "repository", "tool", "MLP", True, instances, declared)

    monkeypatch.setattr(fit, "_call_registers", lambda sample, latency: bits[sample.id])
    rows = [sample("a", 5000 + 800, 5000), sample("b", 20000 + 2400, 20000), sample("c", 100 + 1600, 100)]
    assert fit.fit_call_registers(rows, {}) == pytest.approx(0.8, abs=0.01)
    rows += [sample("hgq", 1000 + 400, 1000, declared=False), sample("total_only", 90000, None)]
    assert fit.fit_call_registers(rows, {}) == pytest.approx(0.8, abs=0.01)


def test_the_softmax_lut_prices_are_fitted_on_its_report_instances_not_on_design_totals(monkeypatch):
    """fit.fit_softmax_lut: LUT per lane and output bit, per lane and input bit of the stable implementation's max, per
    bit x bit of a product in logic and per lane and bit of a streamed softmax, read from the reports' softmax instances
    (what a design total, 1-3% softmax, cannot pin down); other layers' instances, and an instance the tool bound to
    DSPs where the features say logic, do not enter it."""
    from codesign.estimate import fit

    true = {"softmax": 4.0, "softmax_max": 3.0, "softmax_mult": 1.2, "softmax_stream": 6.0}

    def softmax(dsp, **lut):
        return {"kind": "softmax", "dsp": dsp, "lut": lut}, {"dsp": dsp, "lut": sum(true[key] * value for key, value in lut.items())}

    stable, latency = softmax(5, softmax=80.0, softmax_max=80.0), softmax(5, softmax=80.0)
    fabric, streamed = softmax(0, softmax=256.0, softmax_max=256.0, softmax_mult=5184.0), softmax(10, softmax=160.0, softmax_max=160.0, softmax_stream=160.0)
    wide, wide_latency, streamed_latency = softmax(16, softmax=256.0, softmax_max=256.0), softmax(3, softmax=48.0), softmax(5, softmax=80.0, softmax_stream=80.0)
    bound_otherwise = ({"kind": "softmax", "dsp": 0, "lut": {"softmax": 80.0, "softmax_max": 80.0, "softmax_mult": 1620.0}}, {"dsp": 5, "lut": 704})
    dense = ({"kind": "dense", "dsp": 10, "lut": {"softmax": 0.0, "adder": 5000.0}}, {"dsp": 10, "lut": 40000})
    pairs = {"a": [stable, dense, bound_otherwise] * 4, "b": [latency, fabric] * 4, "c": [streamed, wide] * 4, "d": [wide_latency, streamed_latency] * 4}
    monkeypatch.setattr(fit, "matched", lambda instances, features: pairs[features])
    rows = [fit.Sample(id, id, "MLP", "project", None, id, {}, "repository", "tool", "MLP") for id in pairs]
    assert fit.fit_softmax_lut(rows) == pytest.approx(true, rel=0.05)  # four instances of each (as the reports' twins): the weak prior barely shows
