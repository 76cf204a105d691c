"""Recovery: replay a journal, reuse what it recorded, run what it did not.

A recorded completion is *replayed* (its outputs reused, the job not invoked) unless
the job was selected as changed, differs from the journal's definition of it, lies
downstream of such a job or of a job the journal's definition did not have, or asks to
be executed when recovering. Everything the journal did not complete runs as usual.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from jobweave.engine.resume import diff_definitions
from jobweave.errors import DefinitionError
from jobweave.plan.nodes import Plan

REPLAY, RERUN, EXECUTE, RUN = "replay", "rerun", "execute", "run"
"""Decisions: reuse outputs; run again (changed); invoke with the old outputs; run (new)."""
SELECTOR_KINDS = ("name", "tag", "data")
NEW = "new in the definition"
"""The reason given for a job the journal's definition did not have."""


class Recorded(NamedTuple):
    """A completion the journal holds for one job."""

    attempt: int
    output: Any
    started: float | None
    finished: float | None


@dataclass(frozen=True, slots=True)
class JournalView:
    """What recovery needs from a journal: where it came from, its definition, its completions."""

    run_id: str
    definition: dict[str, Any]
    digest: str
    source: str | None
    completed: dict[str, Recorded]
    dropped: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    """The run's stored options (executor, workers, concurrency) as first submitted."""
    fired: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    """A graph run's firings, in order: ``(ts, node, record data)``."""
    starts: list[float] = field(default_factory=list)
    """When each execution of the run started (its ``run_started`` records)."""


class Decision(NamedTuple):
    """What recovery does with one job, and why."""

    name: str
    action: str
    """``replay`` (reuse the recorded output), ``rerun`` (changed, or downstream of a
    change), ``execute`` (``execute_when_recovering``) or ``run`` (not completed)."""
    reason: str
    """Why, in words: ``completed in the journal``, ``downstream of load[orders]``, ..."""


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    """Per job, what recovery will do and why."""

    source_run: str
    """The run whose journal is recovered."""
    decisions: tuple[Decision, ...]
    """One per job, in plan order."""
    digest_matches: bool
    """Whether the definition is the one that wrote the journal."""
    dropped: tuple[str, ...] = ()
    """What was dropped from a torn journal file's tail, one note per line."""

    def count(self, action: str) -> int:
        """How many jobs get ``action``."""
        return sum(1 for d in self.decisions if d.action == action)

    def as_dict(self) -> dict[str, Any]:
        return {"source_run": self.source_run, "digest_matches": self.digest_matches,
                "dropped": list(self.dropped),
                "counts": {a: self.count(a) for a in (REPLAY, RERUN, EXECUTE, RUN)},
                "jobs": [{"name": d.name, "action": d.action, "reason": d.reason}
                         for d in self.decisions]}


def view_journal(records: Iterable[dict[str, Any]], dropped: Sequence[str] = ()) -> JournalView:
    """Fold journal records into the latest definition and each job's last completion."""
    run_id = ""
    definition: dict[str, Any] | None = None
    digest = ""
    source = None
    options: dict[str, Any] = {}
    completed: dict[str, Recorded] = {}
    fired: list[tuple[float, str, dict[str, Any]]] = []
    starts: list[float] = []
    for r in records:
        event = r["event"]
        if event == "run_started":
            starts.append(r["ts"])
        elif event == "fired":
            data = r["data"]
            fired.append((r["ts"], r["node"], data))
            if "out" in data:
                completed[r["node"]] = Recorded(r.get("attempt") or 0, None, None, r["ts"])
        elif event == "completed":
            data = r.get("data") or {}
            completed[r["node"]] = Recorded(r.get("attempt") or 0, data.get("output"),
                                            data.get("started"), r["ts"])
        elif event == "replayed" and definition is not None:
            nodes = definition["nodes"]
            for i, attempt, started, finished, output in r["data"]["jobs"]:
                completed[nodes[i]["name"]] = Recorded(attempt, output, started, finished)
        elif event in ("submitted", "redefined"):
            data = r["data"]
            run_id = r["run"]
            definition, digest = data["definition"], data["digest"]
            source = data.get("source") or source
            options = data.get("options") or options
            if event == "redefined":  # completions of changed jobs no longer stand
                kept = set(data.get("kept", ()))
                completed = {k: v for k, v in completed.items() if k in kept}
    if definition is None:
        raise DefinitionError("the journal has no 'submitted' record: it is not a run journal")
    return JournalView(run_id, definition, digest, source, completed, list(dropped), options,
                       fired, starts)


def parse_selector(text: str) -> tuple[str, str]:
    """``name=load_*`` / ``tag=etl`` / ``data=orders`` / a bare ``load_*`` (a name)."""
    kind, sep, pattern = text.partition("=")
    if not sep:
        return "name", text
    if kind not in SELECTOR_KINDS or not pattern:
        raise DefinitionError(f"selector {text!r} must be name=PATTERN, tag=PATTERN or "
                              "data=PATTERN", field="changed")
    return kind, pattern


def glob_match(value: str, pattern: str) -> bool:
    """A glob match, where an exact name also matches (``load[orders]`` is a name, not a
    character class)."""
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


def _matches(node_def: dict[str, Any], kind: str, pattern: str) -> bool:
    if kind == "name":
        return glob_match(node_def["name"], pattern)
    if kind == "tag":
        return any(glob_match(t, pattern) for t in node_def.get("tags", ()))
    # data: the names of what a job consumes (its parameters and bound outputs)
    names = list(node_def.get("params", {}))
    names += [b["param"] for b in node_def.get("bindings", ())]
    return any(glob_match(n, pattern) for n in names)


def plan_recovery(plan: Plan, journal: JournalView, changed: Sequence[str] = (), *,
                  force: bool = False) -> RecoveryPlan:
    """Decide, for every job of ``plan``, whether recovery replays or runs it.

    When ``plan`` is not the definition that wrote the journal, the jobs whose stored
    definition differs from the journal's, and the jobs it did not have, run again with
    everything downstream of them, whatever ``changed`` selects; ``force`` replays them
    (and says so) instead.
    """
    selectors = [parse_selector(c) for c in changed]
    defs = plan.definition["nodes"]
    index = {n.name: n.index for n in plan.nodes}
    seeds: dict[int, str] = {}
    """Jobs that run again for a reason of their own (the rest follow them downstream)."""
    forced: dict[int, str] = {}
    """Changed jobs that ``force`` replays anyway, with the change named."""
    new: set[int] = set()
    if plan.digest != journal.digest:
        diff = diff_definitions(journal.definition, plan.definition)
        for name in diff.changed:
            what = f"definition changed ({', '.join(diff.fields.get(name, ())) or 'job'})"
            (forced if force else seeds)[index[name]] = what
        new = {index[name] for name in diff.added}
        if not force:  # what follows a new job reruns, unless replaying is forced
            seeds.update(dict.fromkeys(new, NEW))
    if selectors:
        selected = [i for i, d in enumerate(defs)
                    if any(_matches(d, k, p) for k, p in selectors)]
        if not selected:
            raise DefinitionError("no job matches --changed " + " ".join(changed),
                                  field="changed")
        for i in selected:
            seeds.setdefault(i, "selected as changed")
    reason = _downstream(plan, seeds)
    decisions = []
    for node in plan.nodes:
        if plan.boundary(node):
            continue
        why = reason.get(node.index)
        if node.index in new:
            decisions.append(Decision(node.name, RUN, NEW))
        elif node.name not in journal.completed:
            decisions.append(Decision(node.name, RUN, "not completed in the journal"))
        elif why is not None:
            decisions.append(Decision(node.name, RERUN, why))
        elif node.execute_when_recovering:
            decisions.append(Decision(node.name, EXECUTE, "execute_when_recovering"))
        elif node.index in forced:
            decisions.append(Decision(node.name, REPLAY,
                                      f"{forced[node.index]}; replayed (--force)"))
        else:
            decisions.append(Decision(node.name, REPLAY, "completed in the journal"))
    return RecoveryPlan(journal.run_id, tuple(decisions), plan.digest == journal.digest,
                        tuple(journal.dropped))


def _downstream(plan: Plan, seeds: dict[int, str]) -> dict[int, str]:
    """``seeds`` with every node downstream of one, each with the job it follows."""
    reason = dict(seeds)
    down: list[list[int]] = [[] for _ in plan.nodes]
    for node in plan.nodes:
        for d in node.deps:
            down[d].append(node.index)
    if plan.graph is not None:  # a graph's edges, by output port
        for i, routes in enumerate(plan.graph.routes):
            down[i] = [r.target for rs in routes.values() for r in rs]
    stack = list(seeds)
    while stack:
        i = stack.pop()
        for d in down[i]:
            if d not in reason:
                origin = plan.nodes[i].name if not plan.boundary(plan.nodes[i]) else \
                    reason[i].removeprefix("downstream of ")
                reason[d] = f"downstream of {origin}"
                stack.append(d)
    return reason
