"""A definition's history, as ``/flows/{name}`` and ``GET /api/v1/flows/{name}`` show it:
its last runs (newest first, a keyset page) by its steps, one cell per run and step.

A step is a job's name up to its first ``[``: a flow step on many elements is one row
(``drain[db1]`` … ``drain[db9]`` are ``drain``), a step of a child flow is ``child/step``,
a graph run's nodes and a batch's jobs are their own rows. Each cell holds the step's jobs
counted by state in that run and the worst of those states. Two aggregate queries a page,
so 25 runs of 10,000 jobs each cost what 25 small runs do; at most ``MAX_STEPS`` rows.
"""

from __future__ import annotations

from typing import Any

from jobweave.errors import JobweaveError
from jobweave.store import RunRecord, SqlStore
from jobweave.web.graph import worst
from jobweave.web.views import parse_run_cursor, run_cursor, run_dict

RUNS = 25
"""Runs shown at once by default (at most ``MAX_RUNS``)."""
MAX_RUNS = 100
MAX_STEPS = 200
"""Rows at most; the rest are counted, not drawn."""


def flow_history(store: SqlStore, name: str, *, limit: int = RUNS,
                 after: str | None = None) -> dict[str, Any]:
    """The runs of ``name`` newest first (``after``: the previous page's ``next``), their
    steps in the order they first appear, and the state of every (run, step) cell."""
    limit = max(1, min(limit, MAX_RUNS))
    runs = store.list_runs(limit + 1, name=name, exact=True, before=parse_run_cursor(after))
    more = len(runs) > limit
    runs = runs[:limit]
    if not runs and after is None:
        raise JobweaveError(f"no run of {name!r} in this store: names are those of "
                            "GET /api/v1/runs")
    crashed = {r.run_id for r in runs if r.status == "crashed"}
    cells: dict[str, dict[str, dict[str, int]]] = {r.run_id: {} for r in runs}
    first: dict[str, tuple[int, int]] = {}  # step -> (newest run it is in, its first index)
    order = {r.run_id: k for k, r in enumerate(runs)}
    for run_id, step, status, count, index in store.step_states(list(cells)):
        if run_id in crashed and status == "running":
            status = "interrupted"  # its owner died: as the run page says
        counts = cells[run_id].setdefault(step, {})
        counts[status] = counts.get(status, 0) + count
        key = (order[run_id], index)
        if step not in first or key < first[step]:
            first[step] = key
    steps = sorted(first, key=lambda st: first[st])
    return {"name": name, "runs": runs, "steps": steps[:MAX_STEPS],
            "hidden_steps": max(0, len(steps) - MAX_STEPS),
            "cells": {run_id: {step: {"state": worst(c), "counts": c}
                               for step, c in row.items()} for run_id, row in cells.items()},
            "next": run_cursor(runs[-1]) if more else None}


def history_dict(history: dict[str, Any]) -> dict[str, Any]:
    """The REST form: runs as dicts."""
    runs: list[RunRecord] = history["runs"]
    return {**history, "runs": [run_dict(r) for r in runs]}
