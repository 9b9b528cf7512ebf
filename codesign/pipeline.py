"""Runs the ordered steps in a run directory: skips unchanged ones, restarts from a named one, keeps manifest.json."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import traceback
from datetime import datetime, timezone

from filelock import FileLock, Timeout
from pydantic import ValidationError

from codesign.config import dump_spec
from codesign.errors import CodesignError, InternalError, RunDirError, ToolchainError
from codesign.layout import write_atomic
from codesign.records import MANIFEST_SCHEMA, Manifest, StepState
from codesign.quiet import dependency_warnings_silenced
from codesign.steps import STEP_NAMES, STEPS, Context
from codesign.versions import stack_versions

UNWRITABLE = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS)


def steps_through(step: str) -> list[str]:
    """The names of the steps up to and including this one, in pipeline order."""
    return STEP_NAMES[: STEP_NAMES.index(step) + 1]


def run_pipeline(ctx: Context, from_step: str | None = None, to_step: str | None = None) -> Manifest:
    """Run the steps from..to; a step whose inputs and outputs are unchanged is skipped unless it is --from or later."""
    first = STEP_NAMES.index(from_step) if from_step else 0
    last = STEP_NAMES.index(to_step) if to_step else len(STEPS) - 1
    if first > last:
        raise CodesignError(f"--from {from_step} comes after --to {to_step} (steps: {', '.join(STEP_NAMES)})")
    layout = ctx.layout
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirError(f"{layout.root}: cannot create the run directory ({error.strerror})") from None
    lock = FileLock(layout.lock)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunDirError(f"{layout.root}: another build is running in this run directory") from None
    try:
        rerun = from_step is not None
        _recover_interrupted_rebuild(layout)
        if _is_complete(layout) and _has_work(ctx, first, last, rerun):
            return _rebuild_beside(ctx, first, last, rerun)
        return _run_locked(ctx, first, last, rerun)
    finally:
        lock.release()


def bring_up_to(ctx: Context, step: str) -> Manifest:
    """Run the steps up to this one that are not up to date. A run already up to date is only read (no lock, nothing
    written), so reading a finished run never makes another process's build of it refuse ("another build is running")."""
    layout = ctx.layout
    if layout.manifest.exists():
        manifest = load_manifest(layout.manifest)
        if all(_up_to_date(each, manifest, ctx) for each in STEPS[: STEP_NAMES.index(step) + 1]):
            return manifest
    return run_pipeline(ctx, None, step)


def _is_complete(layout) -> bool:
    """Whether the run directory holds a finished build (which a failed rebuild must not damage)."""
    return layout.manifest.exists() and load_manifest(layout.manifest).complete


def _has_work(ctx: Context, first: int, last: int, rerun: bool) -> bool:
    """Whether any step from..to would run (a finished run has every step's outputs to digest)."""
    if rerun:
        return True
    manifest = load_manifest(ctx.layout.manifest)
    return not all(_up_to_date(step, manifest, ctx) for step in STEPS[first : last + 1])


def _up_to_date(step, manifest: Manifest, ctx: Context, inputs: dict | None = None) -> bool:
    """Whether the manifest says the step finished on its inputs (digested here unless given) and its outputs are all
    there: it need not run."""
    state = manifest.steps.get(step.name)
    return state is not None and state.status == "ok" and _holds(step, state, ctx, inputs)


def _holds(step, state, ctx: Context, inputs: dict | None = None) -> bool:
    """Whether the step's outputs are there and it recorded the inputs it would read now (digested here unless given)."""
    return all(path.exists() for path in step.outputs(ctx.layout)) and state.inputs == (step.inputs(ctx) if inputs is None else inputs)


def _rebuild_beside(ctx: Context, first: int, last: int, rerun: bool) -> Manifest:
    """Rebuild a finished run in place with a backup beside it: a failed rebuild puts the finished run back.

    In place, because the compiled emulation remembers its own directory (hls4ml bakes WEIGHTS_DIR into it).
    """
    root = ctx.layout.root
    backup = root.with_name(f".{root.name}.backup")
    shutil.rmtree(backup, ignore_errors=True)
    shutil.copytree(root, backup, ignore=shutil.ignore_patterns(".lock"), symlinks=True)
    try:
        manifest = _run_locked(ctx, first, last, rerun)
    except BaseException:
        failed = root.with_name(f".{root.name}.failed")
        shutil.rmtree(failed, ignore_errors=True)
        shutil.copytree(root, failed, ignore=shutil.ignore_patterns(".lock"), symlinks=True)
        _restore(backup, root)
        ctx.say(f"the finished run in {root} is restored as it was; this failed attempt is kept in {failed}")
        raise
    shutil.rmtree(backup, ignore_errors=True)
    return manifest


def _restore(backup, root) -> None:
    """Put a backup's contents back into the run directory (the lock file stays where it is)."""
    for entry in root.iterdir():
        if entry.name == ".lock":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in backup.iterdir():
        os.replace(entry, root / entry.name)
    shutil.rmtree(backup, ignore_errors=True)


def _recover_interrupted_rebuild(layout) -> None:
    """A rebuild killed before it finished left its backup: the finished run comes back before anything else."""
    backup = layout.root.with_name(f".{layout.root.name}.backup")
    if backup.exists():
        if _is_complete(layout):
            shutil.rmtree(backup, ignore_errors=True)
        else:
            _restore(backup, layout.root)


def _run_locked(ctx: Context, first: int, last: int, rerun: bool) -> Manifest:
    """The pipeline body, under the run directory's lock."""
    layout = ctx.layout
    layout.make_dirs()
    manifest = load_manifest(layout.manifest)
    manifest.spec_digest, manifest.versions, manifest.complete = ctx.spec.digest(), stack_versions(), False
    write_atomic(layout.config, dump_spec(ctx.spec))
    manifest.write(layout.manifest)
    for index, step in enumerate(STEPS[: last + 1]):
        state = manifest.steps.get(step.name)
        if index < first:
            _revalidate(step, state, ctx)
            if manifest.status(step.name) != "ok":
                raise RunDirError(f"{layout.root}: step '{step.name}' has not completed; run without --from first")
            continue
        inputs = step.inputs(ctx)
        if _up_to_date(step, manifest, ctx, inputs) and not rerun:
            ctx.say(f"[{step.name}] up to date, skipped")
            continue
        ctx.say(f"[{step.name}]")
        started = time.perf_counter()
        record = {"inputs": inputs, "started_at": _now()}
        manifest.steps[step.name] = StepState(**record, status="running")
        for later in STEP_NAMES[index + 1 :]:
            if later in manifest.steps:
                manifest.steps[later].status = "stale"
        manifest.write(layout.manifest)
        try:
            with dependency_warnings_silenced():
                step.run(ctx)
        except BaseException as error:
            manifest.steps[step.name] = StepState(
                **record,
                status="interrupted" if isinstance(error, KeyboardInterrupt) else "failed",
                seconds=round(time.perf_counter() - started, 2),
                error=str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
            manifest.write(layout.manifest)
            if isinstance(error, OSError) and error.errno in UNWRITABLE:
                where = f" ({error.filename})" if error.filename else ""
                raise RunDirError(f"step '{step.name}' cannot write in {layout.root}: {error.strerror}{where}") from error
            if isinstance(error, Exception) and not isinstance(error, CodesignError):
                raise (_onednn_failure(error, step.name) or _internal(error, layout.log(step.name), step.name)) from error
            raise
        seconds = time.perf_counter() - started
        manifest.steps[step.name] = StepState(**record, status="ok", seconds=round(seconds, 2), finished_at=_now())
        manifest.write(layout.manifest)
        ctx.say(f"[{step.name}] done in {seconds:.1f} s")
    for step in STEPS[last + 1 :]:  # the steps after the last that ran: still valid where their inputs are as they were
        _revalidate(step, manifest.steps.get(step.name), ctx)
    manifest.complete = all(manifest.status(name) == "ok" for name in STEP_NAMES)
    manifest.write(layout.manifest)
    return manifest


def _revalidate(step, state, ctx: Context) -> None:
    """A step marked stale when an earlier one reran is valid again where its inputs are as it recorded them and its
    outputs are there (the estimate step rerun after `codesign calibrate` leaves compile and validate as they were)."""
    if state is not None and state.status == "stale" and _holds(step, state, ctx):
        state.status = "ok"


def _onednn_failure(error: Exception, step: str) -> ToolchainError | None:
    """TensorFlow's oneDNN kernels have none for some layer shapes ("could not create a primitive descriptor": a 1x1
    QSeparableConv1D of one filter on an (8, 1) input, fuzz seed 1382 model 7), where TensorFlow's own kernels run
    the model: the user's environment can say so; None for any other error."""
    message = str(error)
    if "could not create a primitive" not in message:
        return None
    node = re.search(r"\{\{node ([^}]+)\}\}", message)
    return ToolchainError(f"step '{step}': TensorFlow's oneDNN kernels cannot run {f'node {node.group(1)}' if node else 'this model'} "
                          "(\"could not create a primitive descriptor\"): rerun with TF_ENABLE_ONEDNN_OPTS=0 in the environment "
                          "(TensorFlow's own kernels)")


def _internal(error: Exception, log_path, step: str) -> InternalError:
    """Keep a bug's traceback in the step's log; the terminal gets one line that points there."""
    with open(log_path, "a") as log:
        log.write(traceback.format_exc())
    return InternalError(f"internal error in step '{step}': {type(error).__name__}: {error} (traceback in {log_path})")


def load_manifest(path) -> Manifest:
    """The run's manifest, or a new one; a manifest from a newer codesign is refused, not overwritten."""
    if not path.exists():
        return Manifest(schema=MANIFEST_SCHEMA, steps={})
    try:
        data = json.loads(path.read_text())
    except ValueError:
        raise RunDirError(f"{path}: manifest is not valid JSON; delete the run directory to rebuild") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: not a codesign manifest (a JSON {type(data).__name__}); delete the run directory to rebuild")
    if data.get("schema", 0) > MANIFEST_SCHEMA:
        raise RunDirError(f"{path}: written by a newer codesign (schema {data['schema']}); upgrade codesign")
    try:
        return Manifest(**{"steps": {}, **data})
    except ValidationError as error:
        raise RunDirError(f"{path}: not a codesign manifest ({_first_error(error)}); delete the run directory to rebuild") from None


def _first_error(error: ValidationError) -> str:
    problem = error.errors()[0]
    return f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"


def _now() -> str:
    """UTC timestamp for the manifest."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
