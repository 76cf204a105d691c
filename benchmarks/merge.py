"""Combine saved suite results: one table of the medians of several whole-suite runs.

A noisy machine moves a figure by a quarter between two runs of the suite; the median over
several runs (each itself a median of its repeats) is the figure worth quoting.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.targets import TARGETS


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One results document whose every case holds the medians over ``documents``.

    Numbers become the median of the runs that measured them; lists (each run's
    repeats) are joined, so the merged case still shows every measurement.
    """
    if len(documents) == 1:
        return documents[0]
    first = documents[0]
    cases: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for doc in documents:
        for workload in doc["workloads"].values():
            for case in workload["cases"]:
                cases.setdefault((case["workload"], case["n"]), []).append(case)
    merged = {key: _merge_case(found) for key, found in cases.items()}
    workloads: dict[str, Any] = {}
    for doc in documents:
        for key, workload in doc["workloads"].items():
            workloads.setdefault(key, {**workload, "cases": []})
    for (key, _n), case in merged.items():
        workloads[key]["cases"].append(case)
    for workload in workloads.values():
        workload["cases"].sort(key=lambda c: c["n"])
    return {
        **first,
        "options": {**first["options"], "runs": len(documents),
                    "started_at": [d.get("started_at") for d in documents]},
        "workloads": workloads,
        "targets": [t.to_json(merged.get((t.workload, t.n))) for t in TARGETS],
        "failures": [f for d in documents for f in d.get("failures", [])],
    }


def _merge_case(found: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(found[0])
    out["runs"] = len(found)
    for key, value in found[0].items():
        values = [c.get(key) for c in found]
        if key in ("n", "jobs", "repeat") or isinstance(value, (str, bool)):
            continue
        if all(isinstance(v, (int, float)) for v in values):
            out[key] = statistics.median(values)
        elif all(isinstance(v, list) for v in values):
            out[key] = [x for v in values for x in v]
    return out
