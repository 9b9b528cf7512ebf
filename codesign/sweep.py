"""Design-space exploration: a base spec and a grid expanded to points, each a normal run directory, run on a
local process pool or a Dask cluster, resumable, with the Pareto front of accuracy, resources and latency."""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import yaml
from pydantic import Field, ValidationError

from codesign.config import Strict, _first_problem, load_spec, spec_from_dict
from codesign.errors import CodesignError, SpecError
from codesign.layout import RunLayout, SweepLayout
from codesign.pareto import pareto_front
from codesign.progress import Progress
from codesign.records import EstimateRecord, Manifest, SweepStatus, ValidationRecord

Say = Callable[[str], None]
SWEEPS_DIR = "_sweeps"
METRICS = ("accuracy", "emulation_accuracy", "bit_exact", "dsp", "lut", "ff", "bram_18k", "latency_cycles", "ii")
INTERVAL_COLUMNS = ("dsp", "lut", "latency_cycles")  # the estimate's interval, as <metric>_low / <metric>_high


class SweepSpec(Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="Sweep name (default: the file stem).")
    base: str = Field(description="The base spec, relative to the sweep file.")
    grid: dict[str, list[Any]] = Field(
        description="Dotted spec keys to their values; 'a,b' sets several keys to the same value (one axis)."
    )
    fixed: dict[str, Any] = Field(default_factory=dict, description="Dotted keys set on every point.")
    objectives: dict[str, Literal["max", "min"]] = Field(
        default_factory=lambda: {"accuracy": "max", "lut": "min", "latency_cycles": "min"},
        description="Pareto objectives among: " + ", ".join(METRICS),
    )


@dataclass(frozen=True)
class Point:
    """One configuration of the grid: its settings, resolved spec and the digests that name and group it."""

    settings: dict
    spec_data: dict
    digest: str
    train_digest: str


def load_sweep(path: Path) -> tuple[SweepSpec, dict, str]:
    """The sweep file, its base spec (as a dict with every default) and the sweep's name."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise SpecError(f"{path}: cannot read the sweep file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: malformed YAML: {str(error).splitlines()[0]}") from None
    try:
        sweep = SweepSpec.model_validate(data if isinstance(data, dict) else {})
    except ValidationError as error:
        raise SpecError(f"{path}: {_first_problem(error)}") from None
    unknown = [key for key in sweep.objectives if key not in METRICS]
    if unknown:
        raise SpecError(f"{path}: objectives: unknown metric '{unknown[0]}' (choose from {', '.join(METRICS)})")
    base = load_spec(path.parent / sweep.base).model_dump(mode="json")
    return sweep, base, sweep.name or path.stem


def expand(sweep: SweepSpec, base: dict, source: str = "sweep") -> list[Point]:
    """Every combination of the grid's axes applied to the base spec, each validated (errors name the point)."""
    axes = list(sweep.grid.items())
    points = []
    for values in itertools.product(*(values for _, values in axes)):
        settings = dict(zip((key for key, _ in axes), values))
        data = json.loads(json.dumps(base))
        for key, value in {**sweep.fixed, **settings}.items():
            for dotted in key.split(","):
                _set(data, dotted.strip(), value, source)
        data["name"] = None
        label = ", ".join(f"{key}={value}" for key, value in settings.items())
        spec = spec_from_dict(data, source=f"{source} point ({label})")
        digest = spec.digest()[:12]
        spec = spec_from_dict({**data, "name": f"point_{digest}"}, source=source)
        points.append(
            Point(settings, spec.model_dump(mode="json"), digest, spec.section_digest("dataset", "model", "quantization", "training")[:12])
        )
    return points


def _set(data: dict, dotted: str, value: Any, source: str) -> None:
    """Set a dotted key in the nested spec dict; the key's parents must exist."""
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part) if isinstance(node, dict) else None, dict):
            raise SpecError(f"{source}: grid key '{dotted}' does not name a spec key")
        node = node[part]
    node[parts[-1]] = value


# --- running points (these run in worker processes: plain arguments, plain results) --------------


def _limit_threads(threads: int) -> None:
    """Keep TensorFlow in a worker to its share of the cores, so parallel points do not fight."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already started in this worker: the first setting stays


def train_once(trained_dir: str, spec_data: dict, threads: int) -> dict:
    """Train one training configuration, shared by every point that differs only in hls settings."""
    _limit_threads(threads)
    from codesign.commands import build_run

    started = time.perf_counter()
    try:
        build_run(spec_from_dict(spec_data), Path(trained_dir), _log_to(RunLayout(Path(trained_dir))), to_step="train")
        return {"dir": trained_dir, "status": "done", "seconds": time.perf_counter() - started, "error": None}
    except Exception as error:  # recorded, never fatal to the sweep
        return {"dir": trained_dir, "status": "failed", "seconds": time.perf_counter() - started, "error": _message(error)}


def run_point(point_dir: str, spec_data: dict, trained_dir: str | None, threads: int) -> dict:
    """Run one point's whole pipeline, reusing a trained model; its status is written beside it."""
    _limit_threads(threads)
    from codesign.commands import build_run

    layout = RunLayout(Path(point_dir))
    restarts = 0
    if _interrupted(layout):  # an earlier attempt's process died inside it (a killed sweep, a lost Dask worker)
        restarts = SweepStatus.read(layout.sweep_status).restarts + 1
        shutil.rmtree(layout.root)  # start clean: what it left half-written is not this attempt's to trust
    layout.root.mkdir(parents=True, exist_ok=True)
    SweepStatus(status="running", restarts=restarts).write(layout.sweep_status)
    started = time.perf_counter()
    try:
        if trained_dir and not layout.manifest.exists():
            _adopt_training(RunLayout(Path(trained_dir)), layout)
        build_run(spec_from_dict(spec_data), layout.root, _log_to(layout))
        status, error = "done", None
    except Exception as error_:  # recorded, never fatal to the sweep
        status, error = "failed", _message(error_)
    result = {"status": status, "seconds": round(time.perf_counter() - started, 2), "error": error, "restarts": restarts}
    SweepStatus(**result).write(layout.sweep_status)
    return {"dir": point_dir, **result}


def _interrupted(layout: RunLayout) -> bool:
    """A point left 'running' by a process that died: its status says running and no live build holds its lock."""
    from filelock import FileLock, Timeout

    status = SweepStatus.read_if_exists(layout.sweep_status)
    if status is None or status.status != "running":
        return False
    lock = FileLock(layout.lock)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False  # a live build is in it (another sweep on the same folder): not ours to clean
    lock.release()
    return True


def _adopt_training(trained: RunLayout, point: RunLayout) -> None:
    """Copy a shared training into a point: model files, train report and the train step's manifest record."""
    shutil.copytree(trained.model_dir, point.model_dir, dirs_exist_ok=True)
    point.reports_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(trained.report("train"), point.report("train"))
    manifest = Manifest.read(trained.manifest)
    manifest.steps = {"train": manifest.steps["train"]}
    manifest.complete = False
    manifest.write(point.manifest)


def _log_to(layout: RunLayout) -> Say:
    layout.logs_dir.mkdir(parents=True, exist_ok=True)
    log = layout.log("sweep")

    def say(message: str) -> None:
        with open(log, "a") as stream:
            stream.write(message + "\n")

    return say


def _message(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return text if isinstance(error, CodesignError) else f"{type(error).__name__}: {text}"


# --- executors -----------------------------------------------------------------------------------


class LocalPool:
    """A process pool, one worker per job (spawned: TensorFlow does not survive fork)."""

    def __init__(self, jobs: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.jobs = jobs
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, function, *args):
        return self.pool.submit(function, *args)

    def as_completed(self, futures):
        from concurrent.futures import as_completed

        return as_completed(futures)

    def close(self):
        self.pool.shutdown(cancel_futures=True)


class DaskExecutor:
    """Dask distributed: an existing scheduler (tcp://host:port) or a LocalCluster of n worker processes."""

    def __init__(self, scheduler: str | None, local_workers: int | None):
        from distributed import Client, LocalCluster

        if scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except OSError as error:
                raise CodesignError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error})") from None
            self.cluster = None
        else:
            self.cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        self.jobs = max(1, len(self.client.scheduler_info().get("workers", {})) or (local_workers or 1))

    def submit(self, function, *args):
        return self.client.submit(function, *args, pure=False)

    def as_completed(self, futures):
        from distributed import as_completed

        return as_completed(futures)

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# --- the sweep -----------------------------------------------------------------------------------


def sweep_dir(name: str, output_root: Path) -> Path:
    return Path(output_root) / SWEEPS_DIR / name


def run_sweep(
    path: Path, output_root: Path, say: Say, jobs: int | None = None, scheduler: str | None = None,
    dask_local: int | None = None, dry_run: bool = False,
) -> dict:
    """Expand, skip finished points, train each training configuration once, run the rest, summarise."""
    sweep, base, name = load_sweep(path)
    points = expand(sweep, base, source=str(path))
    folders = SweepLayout(sweep_dir(name, output_root))
    trainings = {point.train_digest: point for point in points}
    todo = [point for point in points if _status(folders, point) != "done"]
    say(f"sweep {name}: {len(points)} points, {len(trainings)} trainings, {len(points) - len(todo)} already done")
    if dry_run:
        for point in points:
            say(f"  {point.digest}  train {point.train_digest}  {_label(point)}  [{_status(folders, point) or 'new'}]")
        return {"name": name, "points": len(points), "todo": len(todo)}
    executor = DaskExecutor(scheduler, dask_local) if (scheduler or dask_local) else LocalPool(jobs or os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // executor.jobs)
    try:
        needed = {point.train_digest for point in todo}
        trained = _run_wave(
            executor, say, "training",
            {executor.submit(train_once, str(folders.trained(digest).root), trainings[digest].spec_data, threads): digest
             for digest in needed if not folders.trained(digest).qkeras_model.exists()},
        )
        failed_trainings = {digest for digest, result in trained.items() if result["status"] != "done"}
        futures = {}
        for point in todo:
            trained_dir = folders.trained(point.train_digest).root
            if point.train_digest in failed_trainings:
                _record_failure(folders, point, trained[point.train_digest]["error"])
                continue
            futures[executor.submit(run_point, str(folders.point(point.digest).root), point.spec_data, str(trained_dir), threads)] = point.digest
        _run_wave(executor, say, "points", futures, labels={point.digest: _label(point) for point in points})
    finally:
        executor.close()
    return summarise(sweep, name, points, folders, say)


def _run_wave(executor, say: Say, what: str, futures: dict, labels: dict | None = None) -> dict:
    """Wait for a wave of tasks, printing done / failed / running and the time of each."""
    results, failed = {}, 0
    total = len(futures)
    bar = Progress(total, f"sweep {what}", "task")
    for future in executor.as_completed(list(futures)):
        key = futures[future]
        result = future.result()
        results[key] = result
        failed += result["status"] != "done"
        running = min(executor.jobs, total - len(results))
        detail = f"  {result['error']}" if result["error"] else ""
        say(
            f"  [{what}: {len(results) - failed} done, {failed} failed, {running} running, of {total}] "
            f"{key} {(labels or {}).get(key, '')} {result['status']} in {result['seconds']:.1f} s{detail}"
        )
        bar.advance(1, f"{failed} failed" if failed else None)
    bar.close()
    return results


def _record_failure(folders: SweepLayout, point: Point, error: str) -> None:
    SweepStatus(status="failed", seconds=0, error=f"training failed: {error}").write(folders.point(point.digest).sweep_status)


def _status(folders: SweepLayout, point: Point) -> str | None:
    status = SweepStatus.read_if_exists(folders.point(point.digest).sweep_status)
    return status.status if status else None


def _label(point: Point) -> str:
    return ", ".join(f"{key}={value}" for key, value in point.settings.items())


# --- results ---------------------------------------------------------------------------------------


def point_row(folders: SweepLayout, point: Point) -> dict:
    """One results.csv row: the point's settings, status and metrics (None where a step did not run)."""
    layout = folders.point(point.digest)
    status = SweepStatus.read_if_exists(layout.sweep_status)
    validation = ValidationRecord.read_if_exists(layout.report("validate"))
    estimate = EstimateRecord.read_if_exists(layout.report("estimate"))
    total, interval = (estimate.total, estimate.interval) if estimate else ({}, {})
    accuracy = validation.accuracy if validation else {}
    row = {"point": point.digest, "label": _label(point), **{key: value for key, value in point.settings.items()}}
    row.update(
        status=status.status if status else "not run",
        accuracy=accuracy.get("qkeras"),
        emulation_accuracy=accuracy.get("emulation"),
        bit_exact=validation.bit_exact if validation else None,
        **{key: total.get(key) for key in ("dsp", "lut", "ff", "bram_18k", "latency_cycles", "ii")},
        **{f"{key}_{end}": (interval.get(key) or [None, None])[side] for key in INTERVAL_COLUMNS for side, end in enumerate(("low", "high"))},
        seconds=status.seconds if status else None,
        error=status.error if status else None,
        run_dir=str(layout.root),
    )
    return row


def best_point(rows: list[dict], max_dsp: int | None, max_lut: int | None, min_accuracy: float | None) -> dict | None:
    """The most accurate finished point within the limits (fewest LUTs on a tie), or None."""
    allowed = [
        row for row in rows
        if row["status"] == "done" and row["accuracy"] is not None and row["lut"] is not None
        and (max_dsp is None or row["dsp"] <= max_dsp)
        and (max_lut is None or row["lut"] <= max_lut)
        and (min_accuracy is None or row["accuracy"] >= min_accuracy)
    ]
    return max(allowed, key=lambda row: (row["accuracy"], -row["lut"]), default=None)


def summarise(sweep: SweepSpec, name: str, points: list[Point], folders: SweepLayout, say: Say) -> dict:
    """results.csv, the Pareto front, plots and the sweep's page (JSON, Markdown, HTML)."""
    from codesign.report.render import write_sweep_reports

    rows = [point_row(folders, point) for point in points]
    front = pareto_front([row if row["status"] == "done" else {} for row in rows], sweep.objectives)
    for index, row in enumerate(rows):
        row["pareto"] = index in front
    folders.root.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else []
    results = folders.results
    with open(results.with_suffix(".csv.tmp"), "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(results.with_suffix(".csv.tmp"), results)
    summary = {
        "schema_version": 1,
        "name": name,
        "grid": sweep.grid,
        "objectives": sweep.objectives,
        "points": rows,
        "pareto": [rows[i]["point"] for i in front],
        "counts": {status: sum(row["status"] == status for row in rows) for status in ("done", "failed", "not run", "running")},
    }
    for path in write_sweep_reports(summary, folders.root):
        say(f"wrote {path}")
    say(f"  {summary['counts']['done']} done, {summary['counts']['failed']} failed; Pareto front: {', '.join(summary['pareto']) or '-'}")
    return summary


def results_of(path: Path, output_root: Path) -> list[dict]:
    """The rows of a finished (or partly finished) sweep, for --best."""
    sweep, base, name = load_sweep(path)
    folders = SweepLayout(sweep_dir(name, output_root))
    if not folders.results.exists():
        raise CodesignError(f"{folders.root}: no results yet; run 'codesign sweep {path}' first")
    return [point_row(folders, point) for point in expand(sweep, base, source=str(path))]
