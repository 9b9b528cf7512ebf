"""The Pareto front (codesign/pareto.py), which sweeps and their plots share."""

from __future__ import annotations

from codesign.pareto import pareto_front


def _row(point, accuracy, lut, latency, status="done", dsp=0):
    return {"point": point, "status": status, "accuracy": accuracy, "lut": lut, "latency_cycles": latency, "dsp": dsp}


def test_pareto_front_on_constructed_points():
    rows = [
        _row("a", 0.90, 100, 10),  # front: cheapest
        _row("b", 0.95, 200, 10),  # front: more accurate
        _row("c", 0.94, 250, 10),  # dominated by b
        _row("d", 0.95, 200, 12),  # dominated by b (same accuracy and LUT, slower)
        _row("e", 0.99, 900, 50),  # front: most accurate
        _row("f", 0.95, 200, 10),  # equal to b: neither dominates the other
        {"point": "g", "status": "failed", "accuracy": None, "lut": None, "latency_cycles": None},
    ]
    objectives = {"accuracy": "max", "lut": "min", "latency_cycles": "min"}
    assert [rows[i]["point"] for i in pareto_front(rows, objectives)] == ["a", "b", "e", "f"]
    assert [rows[i]["point"] for i in pareto_front(rows, {"accuracy": "max"})] == ["e"]
