"""Plan and PlanNode: the executable form the engine runs, whatever the front end."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jobweave.errors import DefinitionError

DEFINITION_FORMAT = 1
"""Version of the stored definition layout."""
BARRIER = "barrier"
"""Kind of the engine-internal node that closes a schedule's batch: no work, no journal."""


@dataclass(frozen=True, slots=True)
class Binding:
    """A parameter filled, when the job starts, with the outputs of upstream nodes."""

    param: str
    sources: tuple[int, ...]
    many: bool


@dataclass(slots=True)
class PlanNode:
    """One job of a plan. ``fn`` is the live callable when the definition held one.

    Treated as immutable once compiled; not frozen because a frozen dataclass costs
    a measurable share of compiling 100,000 jobs. ``compile`` builds nodes with positional
    arguments (keywords cost three times as much): keep the fields' order.
    """

    index: int
    name: str
    kind: str
    target: str | None
    """Reference (python), command (shell), or None."""
    params: dict[str, Any]
    deps: tuple[int, ...] = ()
    bindings: tuple[Binding, ...] = ()
    retries: int = 0
    retry_delay: float = 0.0
    backoff: float = 1.0
    timeout: float | None = None
    tags: tuple[str, ...] = ()
    run_anyway: bool = False
    execute_when_recovering: bool = False
    group: int = 0
    """The batch the node belongs to (0 outside schedules)."""
    fn: Callable[..., Any] | None = field(default=None, compare=False)
    scope: int = -1
    """In a flow: which element list of the plan (``Plan.scopes``) the node runs over."""
    element: int = 0
    """In a flow: the index of the node's element in its scope."""
    when: str | None = None
    """The condition: a callable's reference, or ``=`` and an expression."""
    when_fn: Callable[..., Any] | None = field(default=None, compare=False)
    """The live condition callable, when the definition held one."""
    continue_on_failure: bool = False
    """A fault of this node does not stop its dependents."""
    queue: str | None = None
    """``executor="celery"``: the workers' queue (None: the default queue)."""

    def definition(self, names: Sequence[str]) -> dict[str, Any]:
        """The node as stored: plain JSON data, dependencies by name.

        Keys are inserted in sorted order, so the canonical (sorted) encoding of the
        definition needs no sorting of its own (see :mod:`jobweave.plan.encode`).
        """
        d: dict[str, Any] = {}
        deps = self.deps
        after = None
        if deps:
            after = d["after"] = [names[i] for i in deps]
        if self.retries:
            d["backoff"] = self.backoff
        if self.bindings:
            # a job fed its inputs usually waits for them alone: one list serves both
            d["bindings"] = [{"from": after if b.sources == deps else
                              [names[i] for i in b.sources], "many": b.many,
                              "param": b.param} for b in self.bindings]
        if self.continue_on_failure:
            d["continue_on_failure"] = True
        if self.scope >= 0:
            d["element"] = self.element
        if self.execute_when_recovering:
            d["execute_when_recovering"] = True
        if self.group:
            d["group"] = self.group
        d["kind"] = self.kind
        d["name"] = self.name
        d["params"] = self.params
        if self.queue is not None:
            d["queue"] = self.queue
        if self.retries:
            d["retries"] = self.retries
            d["retry_delay"] = self.retry_delay
        if self.run_anyway:
            d["run_anyway"] = True
        if self.scope >= 0:
            d["scope"] = self.scope
        if self.tags:
            d["tags"] = list(self.tags)
        d["target"] = self.target
        if self.timeout is not None:
            d["timeout"] = self.timeout
        if self.when is not None:
            d["when"] = self.when
        return d


@dataclass(frozen=True, slots=True)
class Plan:
    """Nodes in a fixed order, with the stored definition and its digest."""

    name: str
    kind: str
    """What the front end was: ``batch``, ``schedule``, ``dag``."""
    nodes: tuple[PlanNode, ...]
    definition: dict[str, Any]
    """Plain JSON data: enough to rebuild the plan in another process."""
    digest: str
    """sha256 over the structure and parameters; a changed definition changes it."""
    source: str | None = None
    """The target the definition was loaded from (``file.py:name``, a YAML path), if any."""
    concurrency: int | None = None
    """The definition's own concurrency, used when the caller gives none."""
    scopes: tuple[tuple[dict[str, Any], ...], ...] = ()
    """A flow's element lists, as its nodes' ``scope`` indexes them."""
    graph: Any = None
    """A graph's wiring (:class:`jobweave.plan.graph.Wiring`); ``None`` for other plans."""
    encoded: str | None = field(default=None, compare=False, repr=False)
    """``definition`` as JSON text, when compiling encoded it (see :mod:`jobweave.plan.encode`):
    the store writes it as it is."""

    def __len__(self) -> int:
        return len(self.nodes)

    def boundary(self, node: PlanNode) -> bool:
        """Whether ``node`` is an engine-internal batch boundary (a graph's ``barrier``
        nodes are real nodes of the graph)."""
        return node.kind == BARRIER and self.graph is None

    @property
    def jobs(self) -> tuple[PlanNode, ...]:
        """The nodes that are user jobs (not batch barriers)."""
        if self.graph is not None:
            return self.nodes
        return tuple(n for n in self.nodes if n.kind != BARRIER)

    def stored_jobs(self) -> list[tuple[int, str, str, tuple[str, ...]]]:
        """(index, name, kind, tags) of every job, in the order their rows are stored.

        That is the order jobs tend to run in: by depth (the longest chain of jobs before
        one), then index. A database keeps rows near each other in the order they were
        written, and a commit writes every page its updates touch: many lanes of jobs
        written lane after lane put each lane's next completion on a page of its own,
        while written depth by depth the lanes' completions of one commit share a few.
        """
        jobs = self.jobs
        rows = [(n.index, n.name, n.kind, n.tags) for n in jobs]
        if self.graph is not None or not any(n.deps for n in jobs):
            return rows
        depth = [0] * len(self.nodes)
        at = depth.__getitem__
        for n in self.nodes:
            if n.deps:
                if max(n.deps) >= n.index:  # not in upstream-first order: keep the index's
                    return rows
                depth[n.index] = 1 + max(map(at, n.deps))
        rows.sort(key=lambda row: depth[row[0]])  # stable: by index within a depth
        return rows

    @property
    def job_count(self) -> int:
        if self.graph is not None:
            return len(self.nodes)
        return sum(1 for n in self.nodes if n.kind != BARRIER)


def digest_of(node_defs: Sequence[dict[str, Any]], extra: dict[str, Any]) -> str:
    """A stable sha256 of a definition (node order and content, plus plan-level options)."""
    h = hashlib.sha256()
    h.update(json.dumps(extra, sort_keys=True).encode())
    h.update(json.dumps(list(node_defs), sort_keys=True, separators=(",", ":"),
                        allow_nan=False).encode())  # NaN and Infinity are not JSON
    return h.hexdigest()


def make_definition(
    name: str, kind: str, nodes: Sequence[PlanNode], extra: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """The stored definition of a plan and its digest."""
    names = [n.name for n in nodes]
    node_defs = [n.definition(names) for n in nodes]
    options = dict(extra or {})
    definition = {"format": DEFINITION_FORMAT, "name": name, "kind": kind, "nodes": node_defs,
                  **options}
    return definition, digest_of(node_defs, {"kind": kind, **options})


def plan_from_definition(
    definition: dict[str, Any], source: str | None = None, *, digest: str | None = None
) -> Plan:
    """Rebuild a plan from its stored definition; callables load from their references.

    ``digest`` is the stored digest of this very definition, when the caller has it:
    recomputing it costs a full canonical encoding of the definition.
    """
    if definition.get("format") != DEFINITION_FORMAT:
        raise DefinitionError(f"unknown definition format {definition.get('format')!r}")
    if definition.get("kind") == "graph":
        from jobweave.plan.graph import compile_graph, graph_from_definition

        plan = compile_graph(graph_from_definition(definition), definition["name"], source,
                             definition.get("input"))
        return plan if digest is None else replace(plan, digest=digest)
    defs = definition["nodes"]
    index = {d["name"]: i for i, d in enumerate(defs)}
    nodes = []
    simple = {"name", "kind", "target", "params", "after", "group"}
    for i, d in enumerate(defs):
        if simple.issuperset(d):  # the common shapes (plain jobs, schedule members)
            after = d.get("after")
            nodes.append(PlanNode(i, d["name"], d["kind"], d["target"], d["params"],
                                  tuple([index[s] for s in after]) if after else (),
                                  group=d.get("group", 0)))
            continue
        get = d.get
        bindings = tuple(Binding(b["param"], tuple(index[s] for s in b["from"]), b["many"])
                         for b in get("bindings", ()))
        nodes.append(PlanNode(
            i, d["name"], d["kind"], d["target"], d["params"],
            tuple(index[s] for s in get("after", ())), bindings,
            get("retries", 0), get("retry_delay", 0.0), get("backoff", 1.0), get("timeout"),
            tuple(get("tags", ())), get("run_anyway", False),
            get("execute_when_recovering", False), get("group", 0), None,
            get("scope", -1), get("element", 0), get("when"), None,
            get("continue_on_failure", False), get("queue"),
        ))
    if digest is None:
        extra = {k: v for k, v in definition.items()
                 if k not in ("format", "name", "kind", "nodes")}
        digest = digest_of(defs, {"kind": definition["kind"], **extra})
    scopes = tuple(tuple(s["elements"]) for s in definition.get("scopes", ()))
    return Plan(definition["name"], definition["kind"], tuple(nodes), definition, digest, source,
                scopes=scopes)
