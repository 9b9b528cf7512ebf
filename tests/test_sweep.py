"""Sweeps: grid expansion, best point, the plots' fronts, local pool and Dask runs, failures, kill and resume."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys

import pytest
import yaml

from codesign.errors import SpecError
from codesign.sweep import SweepSpec, best_point, expand, run_sweep, sweep_dir


def _row(point, accuracy, lut, latency, status="done", dsp=0):
    return {"point": point, "status": status, "accuracy": accuracy, "lut": lut, "latency_cycles": latency, "dsp": dsp}


def test_each_sweep_plot_draws_its_own_front_with_labels_and_intervals():
    """LUT and latency plots have different fronts (issue: each 2D plot, the Pareto front of its own two axes)."""
    from codesign.report.plots import sweep_scatter, sweep_series

    rows = [
        {**_row("a", 0.90, 100, 30), "label": "bits=4", "lut_low": 80, "lut_high": 150},
        {**_row("b", 0.95, 200, 40), "label": "bits=6", "lut_low": 150, "lut_high": 300},
        {**_row("c", 0.97, 400, 20), "label": "bits=8", "lut_low": 300, "lut_high": 600},
        {**_row("d", 0.93, 500, 50), "label": "bits=8, rf=4"},
        _row("e", None, 100, 10, status="failed"),
    ]
    lut = sweep_series(rows, "lut")
    assert lut["front"] == [(100, 0.90), (200, 0.95), (400, 0.97)]  # cheapest first: the corners of the step line
    assert lut["labels"] == ["bits=4", "bits=6", "bits=8", "bits=8, rf=4"]
    assert lut["xerr"] == [[20, 50, 100, 0], [50, 100, 200, 0]]  # d has no interval: no bar
    assert sweep_series(rows, "latency_cycles")["front"] == [(20, 0.97)]
    encoded, png = sweep_scatter(rows, "lut", "LUT")
    assert png.startswith(b"\x89PNG") and len(encoded) > 1000


def test_best_point_under_constraints():
    rows = [_row("a", 0.90, 100, 10), _row("b", 0.95, 200, 10, dsp=5), _row("c", 0.95, 150, 10, dsp=50), _row("d", 0.99, 900, 5, status="failed")]
    assert best_point(rows, None, None, None)["point"] == "c"  # fewest LUTs among the most accurate
    assert best_point(rows, 10, None, None)["point"] == "b"
    assert best_point(rows, None, 120, None)["point"] == "a"
    assert best_point(rows, None, 120, 0.95) is None


def test_grid_expansion_links_keys_and_names_bad_points(tiny_spec_dict):
    from codesign.config import spec_from_dict

    base = spec_from_dict(tiny_spec_dict).model_dump(mode="json")
    sweep = SweepSpec(base="x", grid={"quantization.weights.bits,quantization.biases.bits": [4, 6], "hls.reuse_factor": [1, 2, 4]}, fixed={"training.epochs": 1})
    points = expand(sweep, base)
    assert len(points) == 6 and len({point.digest for point in points}) == 6
    assert len({point.train_digest for point in points}) == 2  # reuse factor does not retrain
    first = points[0].spec_data
    assert first["quantization"]["weights"]["bits"] == first["quantization"]["biases"]["bits"] == 4
    assert first["training"]["epochs"] == 1
    with pytest.raises(SpecError, match="grid key 'hls.nope.x' does not name a spec key"):
        expand(SweepSpec(base="x", grid={"hls.nope.x": [1]}), base)
    with pytest.raises(SpecError, match=r"point \(quantization.activations.bits=2\).*integer \(3\) must be smaller"):
        expand(SweepSpec(base="x", grid={"quantization.activations.bits": [8, 2]}), base)


def _sweep_file(tmp_path, tiny_spec_dict, grid, name="small"):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**tiny_spec_dict, "name": None, "bench": {"batch_sizes": [1], "runs": 5}}))
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", "grid": grid, "fixed": {"training.epochs": 1}}))
    return path


def _results(root):
    with open(root / "results.csv") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.slow
def test_local_pool_sweep_shares_training_and_records_a_failing_point(tmp_path, tiny_spec_dict):
    grid = {"hls.layers": [{}, {"fc1": {"accum": "ap_fixed<6,2>"}}]}
    path = _sweep_file(tmp_path, tiny_spec_dict, grid)
    messages: list[str] = []
    summary = run_sweep(path, tmp_path / "out", messages.append, jobs=2)
    root = sweep_dir("small", tmp_path / "out")
    rows = _results(root)
    assert sorted(row["status"] for row in rows) == ["done", "failed"]
    failed = next(row for row in rows if row["status"] == "failed")
    assert "not bit-exact" in failed["error"] and "fc1" in failed["error"]
    assert summary["counts"] == {"done": 1, "failed": 1, "not run": 0, "running": 0}
    assert len(list((root / "trained").iterdir())) == 1
    for row in rows:
        assert "[train] up to date, skipped" in (root / "points" / row["point"] / "logs" / "sweep.log").read_text()
    assert (root / "sweep.html").exists() and (root / "accuracy_vs_lut.png").stat().st_size > 0


@pytest.mark.slow
def test_dask_local_cluster_sweep(tmp_path, tiny_spec_dict):
    path = _sweep_file(tmp_path, tiny_spec_dict, {"hls.reuse_factor": [1, 2]})
    summary = run_sweep(path, tmp_path / "out", lambda _: None, dask_local=2)
    assert summary["counts"]["done"] == 2
    rows = _results(sweep_dir("small", tmp_path / "out"))
    assert {row["hls.reuse_factor"] for row in rows} == {"1", "2"}
    assert all(row["bit_exact"] == "True" for row in rows)


@pytest.mark.slow
def test_killed_sweep_resumes_and_skips_finished_points(tmp_path, tiny_spec_dict):
    path = _sweep_file(tmp_path, tiny_spec_dict, {"hls.reuse_factor": [1, 2]})
    command = [sys.executable, "-m", "codesign.cli", "sweep", str(path), "--jobs", "1", "--output-root", str(tmp_path / "out")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in process.stdout:
        if "[points: 1 done" in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    root = sweep_dir("small", tmp_path / "out")
    statuses = [d / "sweep_status.json" for d in (root / "points").iterdir()]  # a point killed as it began has none
    finished = [path.parent for path in statuses if path.exists() and yaml.safe_load(path.read_text())["status"] == "done"]
    assert len(finished) == 1
    before = (finished[0] / "sweep_status.json").read_text()
    messages: list[str] = []
    summary = run_sweep(path, tmp_path / "out", messages.append, jobs=1)
    assert "2 points, 1 trainings, 1 already done" in messages[0]
    assert (finished[0] / "sweep_status.json").read_text() == before  # not run again
    assert summary["counts"]["done"] == 2


def test_a_point_left_running_by_a_dead_process_is_started_clean_and_a_live_one_is_left_alone(tmp_path):
    """What a killed sweep or a lost Dask worker leaves (status 'running', half-written files, its lock free) is
    removed before the point runs again; a point whose lock a live build holds is not touched."""
    from filelock import FileLock

    from codesign.layout import RunLayout
    from codesign.records import SweepStatus
    from codesign.sweep import _interrupted

    layout = RunLayout(tmp_path / "point")
    layout.root.mkdir()
    assert not _interrupted(layout)  # never started
    SweepStatus(status="running").write(layout.sweep_status)
    layout.manifest.write_text('{"steps": {"train": ')  # cut off mid-write
    assert _interrupted(layout)
    holder = subprocess.Popen([sys.executable, "-c", f"from filelock import FileLock; lock = FileLock({str(layout.lock)!r}); lock.acquire(); "
                               "print('held', flush=True); import time; time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not _interrupted(layout)  # a live build's
    finally:
        holder.kill()
        holder.wait()
    assert _interrupted(layout) and FileLock(layout.lock).acquire(timeout=0)  # its holder died: the lock is free again
    SweepStatus(status="done", seconds=1.0).write(layout.sweep_status)
    assert not _interrupted(layout)


def _comparable(rows: list[dict]) -> list[dict]:
    """results.csv rows without what differs between two runs of the same sweep (times)."""
    return sorted(({key: value for key, value in row.items() if "seconds" not in key and key not in ("error", "run_dir")} for row in rows), key=lambda row: row["point"])


@pytest.mark.slow
def test_a_dask_sweep_that_loses_a_worker_during_a_point_finishes_every_point_as_an_undisturbed_one(tmp_path, tiny_spec_dict):
    """A real scheduler and two workers, each its own process (no nanny to revive it); one worker is killed while
    it runs a point. Dask gives the lost point to the other worker, which starts it clean: every point done, each
    once, and results.csv as an undisturbed local sweep's. About 80 s: two sweeps of two builds each."""
    import time

    path = _sweep_file(tmp_path, tiny_spec_dict, {"hls.reuse_factor": [1, 2]})
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "fixed": {"training.enabled": False}}))  # identical models in both sweeps
    undisturbed = run_sweep(path, tmp_path / "local", lambda _: None, jobs=1)
    assert undisturbed["counts"]["done"] == 2
    scheduler_file = tmp_path / "scheduler.json"
    environment = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(scheduler_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        while not scheduler_file.exists():
            time.sleep(0.2)
        address = yaml.safe_load(scheduler_file.read_text())["address"]
        workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                                     "--name", f"w{index}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
                   for index in range(2)]
        processes += workers
        sweep = subprocess.Popen([sys.executable, "-m", "codesign.cli", "sweep", str(path), "--scheduler", address, "--output-root", str(tmp_path / "dask")],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        processes.append(sweep)
        points = sweep_dir("small", tmp_path / "dask") / "points"
        deadline = time.time() + 600
        while time.time() < deadline and sweep.poll() is None:
            running = [status for status in points.glob("*/sweep_status.json") if yaml.safe_load(status.read_text())["status"] == "running"] if points.exists() else []
            if len(running) == 2:  # both workers inside a point: the one killed loses its point
                time.sleep(2)
                workers[0].kill()
                break
            time.sleep(0.2)
        assert workers[0].wait(timeout=10) is not None
        output, _ = sweep.communicate(timeout=600)
        assert sweep.returncode == 0, output
    finally:
        for process in processes:
            process.kill()
            process.wait()
    assert "2 done, 0 failed" in output
    restarts = [yaml.safe_load(status.read_text())["restarts"] for status in points.glob("*/sweep_status.json")]
    assert sorted(restarts) == [0, 1]  # the killed worker's point, started clean on the other
    assert sum(" done in " in line for line in output.splitlines() if "[points:" in line) == 2  # each point reported done once
    assert _comparable(_results(sweep_dir("small", tmp_path / "dask"))) == _comparable(_results(sweep_dir("small", tmp_path / "local")))
