"""Resume: carry a run's finished work over to a new execution of the same run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from jobweave.plan.nodes import BARRIER, Plan
from jobweave.store.sql import SqlStore

NOT_DECODED: Any = object()
"""Marks a Prior whose output is only known as JSON text."""


class Prior(NamedTuple):
    """A job's state carried over from an earlier execution of the same run."""

    status: str
    attempts: int
    output_text: str | None
    """The output as stored JSON text (kept as text: a resume of 100,000 jobs should
    not decode and re-encode every output)."""
    error: str | None
    started_at: float | None
    finished_at: float | None
    output: Any = NOT_DECODED
    """The output's value when the caller already has it decoded."""
    lost: int = 0
    """Attempts that were running when the run's owner died (``jobweave_jobs.lost``)."""



@dataclass(frozen=True, slots=True)
class DefinitionDiff:
    """How a new definition differs from the one a run is pinned to, by job name."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: list[str]
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For each changed job, what differs: ``params``, ``target``, ``bindings``, ..."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _comparable(d: dict[str, Any], barriers: set[str]) -> dict[str, Any]:
    """A job's definition without what only places it in a schedule."""
    out = {k: v for k, v in d.items() if k != "group"}
    if "after" in out:
        out["after"] = [a for a in out["after"] if a not in barriers]
        if not out["after"]:
            del out["after"]
    return out


def diff_definitions(old: dict[str, Any], new: dict[str, Any]) -> DefinitionDiff:
    """Compare two stored definitions job by job."""
    def jobs(defn: dict[str, Any]) -> dict[str, dict[str, Any]]:
        if defn.get("kind") == "graph":  # a node changes with its settings or its edges out
            nodes = {n["name"]: dict(n) for n in defn["nodes"]}
            for e in defn.get("edges", ()):
                if e["from"] in nodes:
                    nodes[e["from"]].setdefault("edges", []).append(e)
            return nodes
        barriers = {n["name"] for n in defn["nodes"] if n["kind"] == BARRIER}
        return {n["name"]: _comparable(n, barriers) for n in defn["nodes"]
                if n["kind"] != BARRIER}

    before, after = jobs(old), jobs(new)
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    changed = [n for n in after if n in before and after[n] != before[n]]
    unchanged = [n for n in after if n in before and after[n] == before[n]]
    fields = {n: tuple(sorted(k for k in after[n].keys() | before[n].keys()
                              if after[n].get(k) != before[n].get(k)))
              for n in changed}
    return DefinitionDiff(added, removed, changed, unchanged, fields)


def prior_state(store: SqlStore, run_id: str, plan: Plan) -> dict[int, Prior]:
    """What the store says each job of the run already did, by the plan's node index."""
    index = {n.name: n.index for n in plan.nodes}
    prior: dict[int, Prior] = {}
    for name, status, attempts, output, error, started, finished, lost in store.job_states(
            run_id):
        i = index.get(name)
        if i is not None:
            prior[i] = Prior(status, attempts, output, error, started, finished, lost=lost)
    return prior
