"""The Pareto front of a set of rows: used by sweeps (results) and by their plots, so it sits below both."""

from __future__ import annotations


def pareto_front(rows: list[dict], objectives: dict[str, str]) -> list[int]:
    """Indices of the rows no other row dominates (at least as good in every objective, better in one)."""
    def values(row):
        return [row[key] if direction == "max" else -row[key] for key, direction in objectives.items()]

    candidates = [i for i, row in enumerate(rows) if all(row.get(key) is not None for key in objectives)]
    front = []
    for i in candidates:
        mine = values(rows[i])
        dominated = any(
            all(a >= b for a, b in zip(values(rows[j]), mine)) and any(a > b for a, b in zip(values(rows[j]), mine))
            for j in candidates
            if j != i
        )
        if not dominated:
            front.append(i)
    return front
