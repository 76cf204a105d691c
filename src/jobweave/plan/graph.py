"""Compile a dataflow graph into a plan: one plan node per graph node, plus its wiring.

The plan's nodes carry the components' kinds and settings, so a graph run is stored,
listed, shown and projected like any other run (one ``jobweave_jobs`` row per graph node).
What only graphs need (the built components, the edges by output port with their compiled
``data`` templates, which nodes can still reach each joining port) is in :class:`Wiring`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobweave.components.executed import Python, Shell
from jobweave.components.node import ERROR, Component, Joiner, build
from jobweave.errors import DefinitionError
from jobweave.expr import Template, compile_template
from jobweave.model.graph import MAX_FIRINGS, Edge, Graph, GraphNode
from jobweave.plan.nodes import Plan, PlanNode, make_definition


@dataclass(frozen=True, slots=True)
class Route:
    """Where one output port's messages go: the target node, its port, and the template."""

    target: int
    port: str
    data: Template | None


@dataclass(frozen=True, slots=True)
class Wiring:
    """What a graph run needs beyond its plan nodes, indexed like them."""

    components: tuple[Component, ...]
    """Built components (``inline`` ones fire on the loop's thread)."""
    routes: tuple[dict[str, tuple[Route, ...]], ...]
    """Per node: output port → where its messages go."""
    sources: tuple[int, ...]
    """Nodes without incoming edges (tickers aside): each fires once when the run starts."""
    tickers: tuple[int, ...]
    max_firings: tuple[int, ...]
    continue_on_error: tuple[bool, ...]
    in_cycle: tuple[bool, ...]
    """On a loop: such a node refuses a message it has already received."""
    feeders: tuple[dict[str, frozenset[int]], ...]
    """Per joining node: input port → the nodes whose firings can still reach it."""
    input: Any
    """The run's input."""


def compile_graph(g: Graph, name: str | None, source: str | None,
                  input: Any = None) -> Plan:
    """The plan of graph ``g`` (settings, templates and targets checked)."""
    if not g.nodes:
        raise DefinitionError(f"graph {g.name!r} has no nodes", field="nodes")
    if input is None:
        input = g.input
    order = list(g.nodes)
    index = {n: i for i, n in enumerate(order)}
    nodes: list[PlanNode] = []
    components: list[Component] = []
    for i, n in enumerate(order):
        node, comp = _node(i, g.nodes[n])
        nodes.append(node)
        components.append(comp)
    routes: list[dict[str, list[Route]]] = [{} for _ in order]
    incoming: list[set[str]] = [set() for _ in order]
    for e in g.edges:
        s, t = index[e.source], index[e.target]
        _check_ports(e, components[s], components[t])
        data = None if e.data is None else compile_template(
            e.data, field=f"edge {e.source!r} -> {e.target!r}: data")
        routes[s].setdefault(e.from_port, []).append(Route(t, e.to_port, data))
        incoming[t].add(e.to_port)
    for i, comp in enumerate(components):
        if isinstance(comp, Joiner):
            comp.connect(tuple(sorted(incoming[i], key=_port_key)))
    tickers = tuple(i for i, c in enumerate(components) if c.source)
    for i in tickers:
        if incoming[i]:
            raise DefinitionError("a ticker takes no incoming edges",
                                  field=f"node {order[i]!r}")
    sources = tuple(i for i in range(len(order)) if not incoming[i] and i not in tickers)
    frozen = tuple({p: tuple(r) for p, r in out.items()} for out in routes)
    _check_reached(order, frozen, sources + tickers)
    feeders = _feeders(frozen, components)
    wiring = Wiring(
        tuple(components), frozen, sources, tickers,
        tuple(g.nodes[n].max_firings or g.max_firings for n in order),
        tuple(g.nodes[n].continue_on_error or g.continue_on_error for n in order),
        _in_cycle(frozen), feeders, input)
    extra = {"edges": [_edge_def(e) for e in g.edges], "input": input}
    if g.max_firings != MAX_FIRINGS:
        extra["max_firings"] = g.max_firings
    if g.continue_on_error:
        extra["continue_on_error"] = True
    run_name = name or g.name
    try:
        stored, digest = make_definition(run_name, "graph", nodes, extra)
    except (TypeError, ValueError, RecursionError) as exc:
        raise DefinitionError(f"the graph's settings or input are not JSON ({exc})",
                              field=f"graph {g.name!r}") from None
    return Plan(run_name, "graph", tuple(nodes), stored, digest, source, g.concurrency,
                graph=wiring)


def graph_from_definition(definition: dict[str, Any]) -> Graph:
    """Rebuild the graph a stored definition describes (callables by reference)."""
    g = Graph(definition["name"], definition.get("max_firings", MAX_FIRINGS),
              definition.get("continue_on_error", False))
    for d in definition["nodes"]:
        opts = {k: d[k] for k in ("retries", "retry_delay", "backoff", "timeout", "max_firings",
                                  "continue_on_error", "execute_when_recovering", "queue")
                if k in d}
        settings = dict(d["params"])
        if d["kind"] == "python":
            settings["target"] = d["target"]
        g.nodes[d["name"]] = GraphNode(d["name"], d["kind"], settings,
                                       tags=tuple(d.get("tags", ())), **opts)
    for e in definition["edges"]:
        g.edges.append(Edge(e["from"], e["to"], e.get("from_port", "out"),
                            e.get("to_port", "in"), e.get("data")))
    return g


def _node(i: int, gn: GraphNode) -> tuple[PlanNode, Component]:
    comp = build(gn.component, gn.name, gn.settings)
    settings = dict(comp.settings)
    target: str | None = None
    fn: Callable[..., Any] | None = None
    if isinstance(comp, Python):
        target, fn = comp.ref, comp.fn
        settings.pop("target", None)
    elif isinstance(comp, Shell):
        target = settings["command"]
    node = PlanNode(i, gn.name, gn.component, target, settings, retries=gn.retries,
                    retry_delay=float(gn.retry_delay), backoff=float(gn.backoff),
                    timeout=gn.timeout, tags=gn.tags,
                    execute_when_recovering=gn.execute_when_recovering, fn=fn,
                    continue_on_failure=gn.continue_on_error, queue=gn.queue)
    return node, comp


def _check_reached(order: list[str], routes: tuple[dict[str, tuple[Route, ...]], ...],
                   starts: tuple[int, ...]) -> None:
    """Refuse a graph with a node no message can reach: it would never fire."""
    seen = set(starts)
    stack = list(starts)
    while stack:
        for out in routes[stack.pop()].values():
            for r in out:
                if r.target not in seen:
                    seen.add(r.target)
                    stack.append(r.target)
    if len(seen) == len(order):
        return
    lost = [n for i, n in enumerate(order) if i not in seen]
    if not starts:
        raise DefinitionError("no node starts the graph: every node has an incoming edge "
                              "(a node without one fires when the run starts, a ticker on "
                              "its schedule)", field="edges")
    shown = ", ".join(repr(n) for n in lost[:5]) + (", ..." if len(lost) > 5 else "")
    raise DefinitionError(f"no message can reach {shown}: every edge into "
                          f"{'it' if len(lost) == 1 else 'them'} comes from a node no "
                          "message reaches (a loop with no way in)",
                          field=f"node {lost[0]!r}")


def _check_ports(e: Edge, source: Component, target: Component) -> None:
    where = f"edge {e.source!r} -> {e.target!r}"
    outs = source.out_ports()
    if e.from_port != ERROR and e.from_port not in outs:
        raise DefinitionError(f"{e.source!r} has no output port {e.from_port!r} "
                              f"(it has: {', '.join((*outs, ERROR))})", field=f"{where}: from")
    ins = target.in_ports()
    if ins is None:
        if not e.to_port.isdigit():
            raise DefinitionError(f"{e.target!r} takes input ports 0, 1, 2, ..., "
                                  f"got {e.to_port!r}", field=f"{where}: to")
    elif e.to_port not in ins:
        raise DefinitionError(f"{e.target!r} has no input port {e.to_port!r} "
                              f"(it has: {', '.join(ins) or 'none'})", field=f"{where}: to")


def _port_key(port: str) -> tuple[int, str]:
    return (int(port), port) if port.isdigit() else (1 << 30, port)


def _edge_def(e: Edge) -> dict[str, Any]:
    d: dict[str, Any] = {"from": e.source, "to": e.target}
    if e.from_port != "out":
        d["from_port"] = e.from_port
    if e.to_port != "in":
        d["to_port"] = e.to_port
    if e.data is not None:
        d["data"] = e.data
    return d


def _reach_into(routes: tuple[dict[str, tuple[Route, ...]], ...]) -> list[set[int]]:
    """For each node, the nodes that can reach it (itself excluded unless on a loop)."""
    back: list[set[int]] = [set() for _ in routes]
    for s, out in enumerate(routes):
        for rs in out.values():
            for r in rs:
                back[r.target].add(s)
    reach: list[set[int]] = []
    for t in range(len(routes)):
        seen: set[int] = set()
        stack = list(back[t])
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(back[n])
        reach.append(seen)
    return reach


def _in_cycle(routes: tuple[dict[str, tuple[Route, ...]], ...]) -> tuple[bool, ...]:
    reach = _reach_into(routes)
    return tuple(i in reach[i] for i in range(len(routes)))


def _feeders(routes: tuple[dict[str, tuple[Route, ...]], ...],
             components: list[Component]) -> tuple[dict[str, frozenset[int]], ...]:
    reach = _reach_into(routes)
    out: list[dict[str, frozenset[int]]] = [{} for _ in routes]
    for s, ports in enumerate(routes):
        for rs in ports.values():
            for r in rs:
                if isinstance(components[r.target], Joiner):
                    have = out[r.target].get(r.port, frozenset())
                    out[r.target][r.port] = have | {s} | reach[s]
    return tuple(out)
