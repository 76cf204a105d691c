"""Dataflow graphs: named nodes (a component with settings) and edges between their ports.

A graph is built node by node and edge by edge::

    g = jw.graph("pages")
    fetch = g.node("fetch", "python", target=fetch_page, retries=2)
    route = g.node("more", "router", rules=[...], default="done")
    g.edge(fetch, route)
    g.edge(route, fetch, from_port="next", data={"page": "{{ msg.page + 1 }}"})

This module holds the definition as plain data; the components check their settings when
the graph is compiled (:mod:`jobweave.plan.graph`), before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobweave.errors import DefinitionError
from jobweave.model.job import _check_count, _check_seconds, name_problem
from jobweave.triggers import Trigger

MAX_FIRINGS = 1_000_000
"""Firings one node may make in one run unless its ``max_firings`` says otherwise."""

PORT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


@dataclass(frozen=True, eq=False, slots=True)
class GraphNode:
    """One node: a component, its settings, and the options the runtime applies."""

    name: str
    component: str
    settings: Mapping[str, Any]
    retries: int = 0
    """Attempts again after a failed firing (components that run on an executor)."""
    retry_delay: float = 0.0
    backoff: float = 1.0
    timeout: float | None = None
    """Seconds one firing may run (components that run on an executor)."""
    max_firings: int | None = None
    """Firings allowed in one run; ``None`` takes the graph's."""
    continue_on_error: bool = False
    """A firing that fails is recorded and the run goes on (when no edge leaves ``error``)."""
    execute_when_recovering: bool = False
    """Fire again on ``recover`` even where the journal holds this node's outputs."""
    tags: tuple[str, ...] = ()
    queue: str | None = None
    """``executor="celery"``: the queue of the workers its firings run on."""


@dataclass(frozen=True, slots=True)
class Edge:
    """From one node's output port to another's input port; ``data`` reshapes the message."""

    source: str
    target: str
    from_port: str = "out"
    to_port: str = "in"
    data: Any = None
    """A template over ``msg``, ``input`` and ``secrets``; ``None`` passes the message on."""


_OPTIONS = frozenset({"retries", "retry_delay", "backoff", "timeout", "max_firings",
                      "continue_on_error", "execute_when_recovering", "tags", "queue"})


@dataclass(eq=False)
class Graph:
    """A dataflow graph under construction; :func:`jobweave.run` runs it."""

    name: str
    max_firings: int = MAX_FIRINGS
    """The default firing limit of every node."""
    continue_on_error: bool = False
    """Every node keeps going after a failed firing."""
    concurrency: int | None = None
    """Firings running at once on the executor when the caller sets none."""
    input: Any = None
    """The run's input when the caller gives none: what source nodes receive."""
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    triggers: tuple[Trigger, ...] = ()
    """When ``jobweave serve`` starts it; not part of the run's definition."""

    def __post_init__(self) -> None:
        problem = name_problem(self.name)
        if problem:
            raise DefinitionError(problem, field="graph.name")
        _check_positive("max_firings", self.max_firings, "graph")

    def node(self, name: str, component: str, *, settings: Mapping[str, Any] | None = None,
             **options: Any) -> str:
        """Add a node; keyword arguments are node options (``retries``, ``timeout``,
        ``max_firings``, ``continue_on_error``, ``execute_when_recovering``, ``tags``...)
        or settings of the component. Returns the node's name, for :meth:`edge`."""
        problem = name_problem(name)
        if problem:
            raise DefinitionError(problem, field="node")
        if name in self.nodes:
            raise DefinitionError(f"the graph already has a node named {name!r}",
                                  field=f"node {name!r}")
        if not isinstance(component, str) or not component:
            raise DefinitionError(f"component must be a component's name, got {component!r}",
                                  field=f"node {name!r}: component")
        opts = {k: v for k, v in options.items() if k in _OPTIONS}
        merged = {**(settings or {}), **{k: v for k, v in options.items() if k not in _OPTIONS}}
        where = f"node {name!r}"
        _check_count("retries", opts.get("retries", 0), where)
        _check_seconds("retry_delay", opts.get("retry_delay", 0.0), where)
        if opts.get("timeout") is not None:
            _check_seconds("timeout", opts["timeout"], where)
        if opts.get("max_firings") is not None:
            _check_positive("max_firings", opts["max_firings"], where)
        queue = opts.get("queue")
        if queue is not None and (not isinstance(queue, str) or not queue.strip()):
            raise DefinitionError(f"queue must be a non-empty name, got {queue!r:.60}",
                                  field=f"{where}.queue")
        tags = opts.pop("tags", ())
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise DefinitionError("tags must be a list of strings", field=f"{where}.tags")
        self.nodes[name] = GraphNode(name, component, merged, tags=tuple(tags), **opts)
        return name

    def edge(self, source: str, target: str, *, from_port: str = "out", to_port: str = "in",
             data: Any = None) -> Edge:
        """Connect ``source``'s ``from_port`` to ``target``'s ``to_port``."""
        for role, node in (("from", source), ("to", target)):
            if node not in self.nodes:
                raise DefinitionError(f"no node named {node!r} in graph {self.name!r}",
                                      field=f"edge {source!r} -> {target!r}: {role}")
        for role, port in (("from_port", from_port), ("to_port", to_port)):
            if not isinstance(port, str) or not port or not PORT_CHARS.issuperset(port):
                raise DefinitionError(
                    f"a port is a name of letters, digits, _ and -, got {port!r}",
                    field=f"edge {source!r} -> {target!r}: {role}")
        e = Edge(source, target, from_port, to_port, data)
        self.edges.append(e)
        return e


def _check_positive(name: str, value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DefinitionError(f"{name} must be a whole number >= 1, got {value!r}",
                              field=f"{where}.{name}")


def graph(name: str, *, max_firings: int = MAX_FIRINGS, continue_on_error: bool = False,
          concurrency: int | None = None, input: Any = None) -> Graph:
    """A new, empty dataflow graph; ``input`` is what its runs get when the caller gives
    none (``jw.run(g, input=...)``)."""
    return Graph(name, max_firings, continue_on_error, concurrency, input)


Target = Callable[..., Any] | str
"""A python node's target: a callable or a ``"module:function"`` reference."""
