"""The Python API (codesign.Run, codesign.build), the assertion for users' tests, and the CLI's fast answers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import codesign
from codesign.cli import main
from codesign.data import load_digits
from codesign.errors import RunDirError
from codesign.layout import RunLayout, read_json, write_json
from codesign.testing import assert_bit_exact


def test_import_codesign_does_not_import_tensorflow():
    code = "import sys, codesign, codesign.testing; print('tensorflow' in sys.modules, 'hls4ml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_no_submodule_shadows_a_function_of_the_api():
    """Importing a submodule sets it as an attribute of the package: a module named like an API function would replace
    that function after its first call (codesign.build was the module codesign/build.py on its second call)."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(codesign.__path__):
        importlib.import_module(f"codesign.{module.name}")
    assert all(not isinstance(getattr(codesign, name), type(codesign)) for name in codesign.__all__)
    assert codesign.build is codesign.api.build and codesign.compare is codesign.api.compare


def test_opening_what_is_not_a_finished_run_is_a_clear_error(tmp_path):
    with pytest.raises(RunDirError, match="not a run directory"):
        codesign.Run(tmp_path)
    (tmp_path / "config.yaml").write_text("name: x\n")
    write_json(tmp_path / "manifest.json", {"complete": False, "steps": {"train": {"status": "ok"}, "convert": {"status": "failed"}}})
    with pytest.raises(RunDirError, match=r"did not finish \(step convert, estimate, compile, validate not done\)"):
        codesign.Run(tmp_path)


def test_cli_version_and_binary_spec(tmp_path):
    runner = CliRunner()
    version = runner.invoke(main, ["--version"])
    assert version.exit_code == 0 and version.output.strip() == f"codesign {codesign.__version__}"
    binary = tmp_path / "spec.yaml"
    binary.write_bytes(bytes(range(256)))
    result = runner.invoke(main, ["build", str(binary)])
    assert result.exit_code == 2 and result.output.strip().startswith(f"error: {binary}: not a YAML spec")
    assert len(result.output.strip().splitlines()) == 1


def test_a_spec_typo_is_reported_before_tensorflow_is_imported(tmp_path, tiny_spec_dict):
    import yaml

    tiny_spec_dict["hls"] = {"reuse_factr": 2}
    spec = tmp_path / "typo.yaml"
    spec.write_text(yaml.safe_dump(tiny_spec_dict))
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom codesign.cli import main\n"
        f"result = CliRunner().invoke(main, ['build', {str(spec)!r}])\n"
        "print(result.exit_code, 'tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["2", "False"]


@pytest.mark.slow
def test_a_built_run_through_the_api(tiny_run):
    run_dir, _ = tiny_run
    run = codesign.Run(run_dir)
    manifest = run.manifest
    assert run.path == run_dir and run.spec.name == "tiny" and manifest["complete"] is True
    data = load_digits(seed=1)
    x, y = data.x_test[:100], data.y_test[:100]
    emulated = run.emulate(x)
    assert emulated.shape == (100, 10) and np.array_equal(emulated, run.predict_qkeras(x).astype(np.float64))
    assert run.predict_float(x).shape == (100, 10)
    result = assert_bit_exact(run, x, y)
    assert result.samples == 100 and result.mismatched_samples == 0 and result.first_divergence is None
    assert result.accuracy["qkeras"] == result.accuracy["emulation"] and result.task == "classification"
    own = run.validate()
    assert own.bit_exact and own.samples == read_json(RunLayout(run_dir).report("validate"))["samples"]
    estimate = run.estimate()
    assert estimate.total["lut"] > 0 and estimate.layers and estimate.utilization
    assert run.manifest == manifest  # opening, emulating, validating and estimating an unchanged run touch nothing
    what_if = run.estimate(reuse_factor=4)
    assert what_if.settings["reuse_factor"] == 4 and run.manifest == manifest
    with pytest.raises(ValueError, match=r"samples of shape \(8, 8, 1\)"):
        run.emulate(np.zeros((3, 5)))


def test_every_validation_field_is_documented():
    """validate.json is written from ValidationResult: docs/reports.md must describe every field of it."""
    from pathlib import Path

    from codesign.results import ValidationResult

    docs = (Path(__file__).resolve().parents[1] / "docs" / "reports.md").read_text()
    section = docs[docs.index("## `reports/validate.json`") : docs.index("## `reports/convert.json`")]
    missing = [name for name in ValidationResult.model_fields if f"`{name}`" not in section]
    assert not missing, f"docs/reports.md does not describe validate.json's {missing}"


def test_emulate_skips_the_cpp_spot_check_only_for_the_library_its_validation_checked(tiny_run, tmp_path, monkeypatch):
    """Run.emulate trusts the vectorized emulator without the C++ emulation where the run's validation found both
    identical on the library the run has now; another library (or no such record) is spot-checked as before, and
    validate(x) on new data always runs the C++ emulation on its first samples."""
    import shutil

    from codesign import emulate as emulation
    from codesign.records import Manifest

    run_dir = tmp_path / "tiny"
    shutil.copytree(tiny_run[0], run_dir)
    layout = RunLayout(run_dir)
    assert emulation.cross_checked(layout)
    checked: list[int] = []
    real = emulation.emulate
    monkeypatch.setattr(emulation, "emulate", lambda layout, x, cpp_samples, *rest, **options: checked.append(cpp_samples) or real(layout, x, cpp_samples, *rest, **options))
    run = codesign.Run(run_dir)
    x = load_digits(seed=1).x_test[:40]
    first = run.emulate(x)
    result = run.validate(x)
    manifest = Manifest.read(layout.manifest)
    manifest.steps["validate"].inputs["library"] = "another library"
    manifest.write(layout.manifest)
    assert not emulation.cross_checked(layout)
    assert np.array_equal(run.emulate(x), first) and result.bit_exact
    assert checked == [0, emulation.CROSS_CHECK_SAMPLES, emulation.CROSS_CHECK_SAMPLES]


def test_the_exact_reference_of_a_bit_exact_validation_runs_on_its_first_samples(tiny_run):
    from codesign.validate import EXACT_REFERENCE_SAMPLES

    run = codesign.Run(tiny_run[0])
    x = np.random.default_rng(3).random((EXACT_REFERENCE_SAMPLES + 88, 8, 8, 1)).astype(np.float32) * 16
    result = run.validate(x)
    assert result.bit_exact and result.samples == EXACT_REFERENCE_SAMPLES + 88
    assert result.exact_reference["available"] and result.exact_reference["samples"] == EXACT_REFERENCE_SAMPLES


USER_TESTS_SHARING_A_BUILD = '''
import os
import time
from pathlib import Path

import codesign.api


def one_build_at_a_time(spec=None, output_root=None, **options):
    """Stands in for codesign.build (minutes of TensorFlow and g++): fails if another worker builds the same call now."""
    building = Path(output_root).parent / "building"
    if building.exists():
        raise RuntimeError("two workers build one call at once")
    building.touch()
    time.sleep(2)
    building.unlink()
    (Path(output_root).parent / f"built by {os.getpid()}").touch()
    return spec


codesign.api.build = one_build_at_a_time


def test_a_users_firmware(codesign_build):
    assert codesign_build("tiny_net.yaml") == "tiny_net.yaml"
'''


def test_pytest_xdist_workers_take_turns_on_a_shared_codesign_build(tmp_path):
    """A user's suite under pytest-xdist: every worker asks codesign_build for the same run at once (--dist each);
    they share pytest's cache, so they take turns instead of failing on the run directory's lock."""
    (tmp_path / "test_user.py").write_text(USER_TESTS_SHARING_A_BUILD)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "each", "-o", f"cache_dir={tmp_path / 'cache'}",
                             "test_user.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert len(list((tmp_path / "cache").rglob("built by *"))) == 2  # both asked; the second found it built
