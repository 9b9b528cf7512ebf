"""The step runner on stand-in steps: bugs keep their traceback in the log, locks and schemas are respected."""

from __future__ import annotations

import json

import pytest
from filelock import FileLock

from codesign import pipeline, steps
from codesign.commands import bring_up_to
from codesign.config import spec_from_dict
from codesign.errors import InternalError, RunDirError
from codesign.layout import RunLayout, read_json
from codesign.pipeline import run_pipeline
from codesign.steps import Context, Step


@pytest.fixture
def fake_steps(monkeypatch):
    """Replace the real steps with ones that record their calls and write one file each, another at every call; each
    step's inputs are the spec and what the step before it wrote (as the real steps read their predecessors' files)."""
    calls: list[str] = []

    def make(index, name):
        def run(ctx):
            calls.append(name)
            ctx.layout.report(name).write_text(json.dumps({"call": len(calls)}))
            return {}

        def inputs(ctx):
            before = ctx.layout.report(steps.STEP_NAMES[index - 1]) if index else None
            return {"spec": ctx.spec.digest(), "before": before.read_text() if before is not None and before.exists() else ""}

        return Step(name, run, inputs, lambda layout: [layout.report(name)])

    monkeypatch.setattr(pipeline, "STEPS", [make(index, name) for index, name in enumerate(steps.STEP_NAMES)])
    return calls


def _context(tmp_path, tiny_spec_dict, messages=None):
    sink = messages if messages is not None else []
    return Context(spec_from_dict(tiny_spec_dict), RunLayout(tmp_path / "run"), sink.append)


def test_skip_from_and_to(tmp_path, tiny_spec_dict, fake_steps):
    run_pipeline(_context(tmp_path, tiny_spec_dict))
    assert fake_steps == ["train", "convert", "estimate", "compile", "validate", "rtl", "bench", "report"]
    run_pipeline(_context(tmp_path, tiny_spec_dict))
    assert len(fake_steps) == 8
    run_pipeline(_context(tmp_path, tiny_spec_dict), from_step="compile", to_step="compile")
    assert fake_steps[8:] == ["compile"]
    manifest = read_json(tmp_path / "run" / "manifest.json")
    assert manifest["complete"] is False  # --to stopped before the steps whose input compile rewrote
    (tmp_path / "run" / "reports" / "convert.json").unlink()
    run_pipeline(_context(tmp_path, tiny_spec_dict))
    assert fake_steps[9:] == ["convert", "estimate", "compile", "validate", "rtl", "bench", "report"]
    assert read_json(tmp_path / "run" / "manifest.json")["complete"] is True


def test_from_a_step_that_never_ran_before_is_refused(tmp_path, tiny_spec_dict, fake_steps):
    with pytest.raises(RunDirError, match="step 'train' has not completed"):
        run_pipeline(_context(tmp_path, tiny_spec_dict), from_step="convert")


def test_a_bug_keeps_its_traceback_in_the_step_log(tmp_path, tiny_spec_dict, fake_steps, monkeypatch):
    def broken(ctx):
        raise ZeroDivisionError("division by zero")

    pipeline.STEPS[1] = Step("convert", broken, lambda ctx: {}, lambda layout: [])
    with pytest.raises(InternalError, match=r"internal error in step 'convert': ZeroDivisionError.*traceback in .*convert\.log"):
        run_pipeline(_context(tmp_path, tiny_spec_dict))
    layout = RunLayout(tmp_path / "run")
    assert "Traceback" in layout.log("convert").read_text()
    manifest = read_json(layout.manifest)
    assert manifest["steps"]["convert"]["status"] == "failed" and manifest["complete"] is False
    assert manifest["steps"]["train"]["status"] == "ok"


def test_second_build_in_the_same_directory_is_refused(tmp_path, tiny_spec_dict, fake_steps):
    layout = RunLayout(tmp_path / "run")
    layout.root.mkdir(parents=True)
    with FileLock(layout.lock):
        with pytest.raises(RunDirError, match="another build is running"):
            run_pipeline(_context(tmp_path, tiny_spec_dict))
    assert fake_steps == []


def test_reading_an_up_to_date_run_takes_no_lock_so_a_build_beside_it_is_not_refused(tmp_path, tiny_spec_dict, fake_steps):
    """Run.estimate()/validate() bring the run up to date first: on a finished run they only read it. Taking the
    run directory's lock for that made a build started at the same moment in another process refuse (seen with two
    pytest-xdist workers on one codesign_build)."""
    run_pipeline(_context(tmp_path, tiny_spec_dict))
    layout = RunLayout(tmp_path / "run")
    written = layout.manifest.stat().st_mtime_ns
    with FileLock(layout.lock):  # a build of this run, in another process
        manifest = bring_up_to(spec_from_dict(tiny_spec_dict), layout, "estimate")
        assert manifest.complete and layout.manifest.stat().st_mtime_ns == written
        layout.report("convert").unlink()  # now there is work to do: that still waits for no one and is refused
        with pytest.raises(RunDirError, match="another build is running"):
            bring_up_to(spec_from_dict(tiny_spec_dict), layout, "estimate")
    assert fake_steps[8:] == []
    bring_up_to(spec_from_dict(tiny_spec_dict), layout, "estimate")
    assert fake_steps[8:] == ["convert", "estimate"]


def test_manifest_from_a_newer_codesign_is_not_overwritten(tmp_path, tiny_spec_dict, fake_steps):
    layout = RunLayout(tmp_path / "run")
    layout.root.mkdir(parents=True)
    layout.manifest.write_text(json.dumps({"schema": 99, "steps": {}}))
    with pytest.raises(RunDirError, match="newer codesign"):
        run_pipeline(_context(tmp_path, tiny_spec_dict))
    assert json.loads(layout.manifest.read_text())["schema"] == 99


@pytest.mark.parametrize("content, said", [
    ({"schema": 1, "steps": {"train": {"inputs": {}}}}, r"manifest.json: not a codesign manifest \(steps\.train\.status: Field required\)"),
    ([1, 2], r"manifest.json: not a codesign manifest \(a JSON list\)"),
])
def test_a_manifest_that_is_not_one_is_named_and_left_alone(tmp_path, tiny_spec_dict, fake_steps, content, said):
    """manifest.json is read through its model (codesign/records.py): content it does not hold is one line naming the
    field, and the file is not overwritten."""
    layout = RunLayout(tmp_path / "run")
    layout.root.mkdir(parents=True)
    layout.manifest.write_text(json.dumps(content))
    with pytest.raises(RunDirError, match=said):
        run_pipeline(_context(tmp_path, tiny_spec_dict))
    assert json.loads(layout.manifest.read_text()) == content and fake_steps == []
