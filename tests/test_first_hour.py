"""The first hour of a user coming from the hls4ml tutorial: what they meet with their own model and data, each as
they would meet it (their one-hot labels, a model without an input quantizer, a part name typed from memory, a
colleague opening the report, a wrong path)."""

from __future__ import annotations

import copy
import os
import shutil
import stat
import warnings

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from codesign.cli import main
from codesign.commands import build_run
from codesign.config import spec_from_dict
from codesign.data import load_npz
from codesign.errors import SpecError
from codesign.layout import RunLayout, read_json, write_atomic
from conftest import TINY_SPEC


def _tutorial_model(input_quantizer: bool = False):
    """The hls4ml tutorial's part-6 CNN shape in QKeras, small: no input quantizer unless asked, 6-bit kernels."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense

    inputs = tf.keras.Input((8, 8, 1), name="input_1")
    x = QActivation("quantized_bits(8,0,alpha=1)", name="input_q")(inputs) if input_quantizer else inputs
    x = QConv2D(4, 3, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)", name="conv")(x)
    x = QActivation("quantized_relu(6)", name="relu")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(10, kernel_quantizer="quantized_bits(6,0,alpha=1)", bias_quantizer="quantized_bits(6,0,alpha=1)", name="out")(x)
    return tf.keras.Model(inputs, tf.keras.layers.Activation("softmax", name="softmax")(x))


def _digits(tmp_path, one_hot: bool):
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., np.newaxis]
    y = np.eye(10, dtype=np.float32)[data.target] if one_hot else data.target
    np.savez(tmp_path / "digits.npz", x_train=x[:200], y_train=y[:200], x_test=x[200:320], y_test=y[200:320])
    return tmp_path / "digits.npz"


def _saved(model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    return path


def test_one_hot_labels_are_read_as_classes_and_said(tmp_path):
    data = load_npz(_digits(tmp_path, one_hot=True))
    assert data.is_classification and data.y_test.dtype == np.int64 and data.y_test.max() == 9
    assert "one-hot" in data.note and "class labels 0-9" in data.note
    plain = load_npz(_digits(tmp_path, one_hot=False))
    assert plain.note is None and np.array_equal(plain.y_test, data.y_test)
    soft = tmp_path / "soft.npz"  # probabilities are not one-hot: regression targets, as before
    np.savez(soft, x_train=np.zeros((4, 3)), y_train=np.full((4, 2), 0.5), x_test=np.zeros((4, 3)), y_test=np.full((4, 2), 0.5))
    assert load_npz(soft).note is None and not load_npz(soft).is_classification


@pytest.mark.parametrize("part, said", [
    ("xc7z020-clg400-1", "did you mean xc7z020clg400-1"),
    ("xc7z020", "not a full part number"),
    ("xcu250", "e.g. xcu250-figd2104-2L-e"),
    ("xcu250-figd2104", "not a full Alveo U250 part number"),
    ("xc7z02", "did you mean xc7z020clg400-1"),
    ("pynq-z2", "'pynq-z2' is a board, not an FPGA part: its part is xc7z020clg400-1"),  # the tutorial's target; 'known parts: ...' before
    ("KV260", "'KV260' is a board, not an FPGA part: its part is xck26-sfvc784-2LV-c"),
])
def test_a_part_that_is_no_full_part_number_is_refused_in_the_spec_and_on_the_command_line(part, said, tmp_path):
    spec = copy.deepcopy(TINY_SPEC) | {"hls": {"part": part}}
    with pytest.raises(SpecError, match="hls.part") as error:
        spec_from_dict(spec)
    assert said in str(error.value)
    result = CliRunner().invoke(main, ["estimate", str(tmp_path / "none.h5"), "--part", part])
    assert result.exit_code == 2 and result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: --part: ") and said in result.stderr


@pytest.mark.parametrize("part", ["xc7z020clg400-1", "xcu250-figd2104-2L-e", "xczu3eg-sbva484-1-e", "xc7a35ticsg324-1L", "xcvu9p-flga2104-2L-e",
                                  "xck26-sfvc784-2LV-c", "xc7s50csga324-1", "xcau15p-ffvb676-2-e"])
def test_full_part_numbers_are_accepted(part):
    assert spec_from_dict(copy.deepcopy(TINY_SPEC) | {"hls": {"part": part}}).hls.part == part


@pytest.mark.parametrize("part, base, family, versal", [
    ("xa7a100tcsg324-1I", "xa7a100t", "7series", False),  # automotive Artix-7: was read as UltraScale
    ("xq7z020-cl400-1i", "xq7z020", "7series", False),
    ("xc7s25csga324-1", "xc7s25", "7series", False),  # Spartan-7: its package was kept in the base
    ("xc7vx690t-ffg1761-2", "xc7vx690t", "7series", False),
    ("xqzu5ev-ffrb900-1-i", "xqzu5ev", "ultrascale", False),
    ("xcvc1902-vsva2197-2MP-e-S", "xcvc1902", "ultrascale", True),
])
def test_a_part_outside_the_table_is_read_by_its_family_and_a_versal_one_says_how(part, base, family, versal):
    """The Kria K26 (KV260) was outside the part table (no utilization); an automotive or defense 7-series part was
    priced as UltraScale; a Versal part is priced as UltraScale+ and now says so."""
    from codesign.estimate.features import family_of
    from codesign.parts import part_or_unlisted

    found, note = part_or_unlisted(part)
    assert (found.base, family_of(found.base), "a Versal part, priced as UltraScale+" in note) == (base, family, versal)
    assert part_or_unlisted("xck26-sfvc784-2LV-c")[0].dsp == 1248


def test_files_a_run_writes_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.html", "<html></html>")
        assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644
        os.umask(0o077)
        write_atomic(tmp_path / "private.json", "{}")
        assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)


@pytest.mark.slow
def test_a_finished_run_is_readable_by_colleagues(tiny_run):
    reports = RunLayout(tiny_run[0]).reports_dir
    written = [path for path in reports.iterdir() if path.is_file()] + [tiny_run[0] / "manifest.json", tiny_run[0] / "config.yaml"]
    assert written and all(path.stat().st_mode & stat.S_IROTH for path in written), [oct(path.stat().st_mode) for path in written]


@pytest.mark.parametrize("mistake", ["missing model", "wrong shape", "float model", "missing data"])
def test_a_mistaken_input_leaves_no_run_directory(mistake, tmp_path):
    import tensorflow as tf

    data = _digits(tmp_path, one_hot=False)
    model = tmp_path / "model.h5"
    if mistake == "wrong shape":
        inputs = tf.keras.Input((4, 4, 1))
        _saved(tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.Flatten()(inputs))), model)
    elif mistake == "float model":
        inputs = tf.keras.Input((8, 8, 1))
        _saved(tf.keras.Model(inputs, tf.keras.layers.Dense(2)(tf.keras.layers.Flatten()(inputs))), model)
    elif mistake == "missing data":
        _saved(_tutorial_model(), model)
        data = tmp_path / "nowhere.npz"
    result = CliRunner().invoke(main, ["build", "--model", str(model), "--data", str(data), "--name", "mine",
                                       "--output-root", str(tmp_path / "runs")])
    assert result.exit_code == 2 and result.stderr.startswith("error: "), result.output
    assert not (tmp_path / "runs" / "mine").exists()


@pytest.mark.slow
def test_a_model_without_input_quantizer_says_its_input_type_and_why_off_grid_inputs_differ(tmp_path):
    import codesign

    model = _saved(_tutorial_model(), tmp_path / "tutorial.h5")
    result = CliRunner().invoke(main, ["build", "--model", str(model), "--data", str(_digits(tmp_path, one_hot=True)), "--name", "tut",
                                       "--output-root", str(tmp_path / "runs"), "--to", "validate"])
    assert result.exit_code == 0, result.output
    assert "one-hot" in result.output and "read as class labels 0-9" in result.output
    assert "note: the model has no input quantizer: the firmware's input type ufixed<5,1" in result.output
    assert "put a QActivation(quantized_bits(...)) first to choose it" in result.output
    run = codesign.Run(tmp_path / "runs" / "tut", require_complete=False)
    assert read_json(run.path / "reports" / "validate.json")["accuracy"]["emulation"] is not None  # classes, not regression
    off_grid = np.random.default_rng(0).uniform(0, 1, (20, 8, 8, 1)).astype(np.float32)
    checked = run.validate(off_grid)
    assert not checked.bit_exact
    assert "not values of the firmware's input type ufixed<5,1" in checked.first_diverging_layer["why"]


@pytest.mark.slow
def test_a_domain_given_by_validate_stays_through_an_identical_build(tiny_run, tmp_path):
    run_dir = tmp_path / "tiny"
    shutil.copytree(tiny_run[0], run_dir)
    assert CliRunner().invoke(main, ["validate", str(run_dir), "--domain", "-1,1"]).exit_code == 0
    said: list[str] = []
    build_run(spec_from_dict(copy.deepcopy(TINY_SPEC)), run_dir, said.append)
    assert any("keeping the run's proof domain [-1.0, 1.0]" in line for line in said)
    assert yaml.safe_load(RunLayout(run_dir).config.read_text())["validation"]["domain"] == [-1.0, 1.0]
    assert not any(line.strip().startswith("convert") and "ran" in line for line in said)


@pytest.mark.slow
def test_a_what_if_on_the_command_line_says_what_changed_and_compares_with_the_run(tiny_run):
    result = CliRunner().invoke(main, ["estimate", str(tiny_run[0]), "--reuse-factor", "4", "--part", "xc7z020clg400-1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    changed = next(line for line in lines if line.startswith("what-if: "))
    assert "reuse_factor 1 -> 4" in changed and "part xcu250-figd2104-2L-e -> xc7z020clg400-1" in changed
    compared = next(line for line in lines if "against the run's own estimate: " in line)
    run_total = read_json(RunLayout(tiny_run[0]).report("estimate"))["total"]
    assert f"LUT {run_total['lut']:,} -> " in compared and f"latency (cycles) {run_total['latency_cycles']:,} -> " in compared
    assert any("the part's family changes (ultrascale -> 7series)" in line for line in lines)
    assert any("xc7z020 (" in line and ("fits: yes" in line or "fits: no (" in line) for line in lines)
