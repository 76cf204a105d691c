"""Build a :class:`~jobweave.model.Graph` from a validated ``kind: graph`` file.

Nodes are added in file order, then edges (``from: node[:port]``, ``to: node[:port]``);
a python node's ``target`` naming a file is made absolute relative to the definition
file. The graph is then compiled once, so that what the components check (their
settings, ports, templates and targets) is reported here, at its line, before anything
is stored: every error is one ``FILE:LINE: field: message``.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from jobweave import refs
from jobweave.errors import DefinitionError, did_you_mean
from jobweave.expr import compile_template
from jobweave.loader.file_triggers import file_triggers
from jobweave.loader.graph_spec import GraphFile
from jobweave.loader.source import Document, Loc
from jobweave.model.graph import MAX_FIRINGS, Graph
from jobweave.plan.graph import compile_graph

_PART = re.compile(r'\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|([^.\[\]]+)')
_PORTS = {"from_port": "from", "to_port": "to"}


def build_graph(spec: GraphFile, doc: Document) -> Graph:
    """The graph a validated file describes, compiled once to check it."""
    try:
        g = Graph(spec.name, spec.max_firings or MAX_FIRINGS, spec.continue_on_error,
                  spec.concurrency, spec.input, triggers=file_triggers(spec.triggers, doc))
    except DefinitionError as exc:
        if exc.path is not None:
            raise
        raise doc.error(exc.message, _graph_loc(exc.field)) from None
    base_dir = os.path.dirname(os.path.abspath(doc.path))
    for name, node in spec.nodes.items():
        if ":" in name:
            raise doc.error("a node's name may not hold ':' (an edge names a port as "
                            "node:port)", ("nodes", name))
        settings = dict(node.settings)
        target = settings.get("target")
        if node.component == "python" and isinstance(target, str):
            settings["target"] = _absolute(target, base_dir)
        options = node.model_dump(exclude={"component", "settings"})
        options["tags"] = tuple(options["tags"])
        try:
            g.node(name, node.component, settings=settings, **options)
        except DefinitionError as exc:
            rest = (exc.field or "").removeprefix("node").removeprefix(f" {name!r}")
            raise doc.error(exc.message, ("nodes", name, *_path(rest.lstrip(":. ")))) from None
    for k, edge in enumerate(spec.edges):
        at: Loc = ("edges", k)
        (source, from_port), (target_node, to_port) = (
            _endpoint(edge.source, "out", g, doc, (*at, "from")),
            _endpoint(edge.target, "in", g, doc, (*at, "to")))
        if edge.data is not None:
            try:
                compile_template(edge.data, field="data")
            except DefinitionError as exc:
                raise doc.error(exc.message, (*at, *_path(exc.field or "data"))) from None
        try:
            g.edge(source, target_node, from_port=from_port, to_port=to_port, data=edge.data)
        except DefinitionError as exc:
            part = (exc.field or "").rpartition(": ")[2]
            raise doc.error(exc.message, (*at, _PORTS.get(part, part))) from None
    try:
        compile_graph(g, None, doc.path)
    except DefinitionError as exc:
        raise _located(exc, g, doc) from None
    return g


def _absolute(target: str, base_dir: str) -> str:
    """A ``file.py:function`` reference with the file taken from ``base_dir``."""
    module, sep, attr = target.rpartition(":")
    if not sep or not refs.is_file(module):
        return target
    full = os.path.normpath(os.path.join(base_dir, os.path.expanduser(module)))
    return f"{full}:{attr}"


def _endpoint(text: str, port: str, g: Graph, doc: Document, at: Loc) -> tuple[str, str]:
    """``node`` or ``node:port`` → (node, port), the node checked to exist."""
    node, _, named = text.partition(":")
    if node not in g.nodes:
        raise doc.error(f"no node named {node!r} in this graph{did_you_mean(node, g.nodes)}",
                        at)
    return node, named or port


def _located(exc: DefinitionError, g: Graph, doc: Document) -> DefinitionError:
    """An error of the model or of compiling, at the place in the file its field names."""
    if exc.path is not None:
        return exc
    field = exc.field or ""
    loc: Loc = _graph_loc(field)
    for name in g.nodes:
        prefix = f"node {name!r}"
        if field == prefix or field.startswith((prefix + ":", prefix + ".")):
            loc = ("nodes", name, *_path(field[len(prefix):].lstrip(":. ")))
            break
    else:
        for k, e in enumerate(g.edges):
            prefix = f"edge {e.source!r} -> {e.target!r}"
            if field.startswith(prefix):
                rest = _path(field[len(prefix):].lstrip(":. "))
                if rest and isinstance(rest[0], str):
                    rest = (_PORTS.get(rest[0], rest[0]), *rest[1:])
                loc = ("edges", k, *rest)
                break
    return doc.error(exc.message, loc)


def _graph_loc(field: str | None) -> Loc:
    """``graph.name`` → ``("name",)``; ``nodes`` → ``("nodes",)`` (``edges`` alike); else
    the top."""
    if not field:
        return ()
    if field.startswith("graph."):
        return _path(field[len("graph."):])
    if field in ("nodes", "edges"):
        return (field,)
    return ()


def _path(text: str) -> Loc:
    """``settings.rules[0].operator`` → ``("settings", "rules", 0, "operator")``."""
    out: list[Any] = []
    for m in _PART.finditer(text):
        if m.group(1) is not None:
            out.append(int(m.group(1)))
        elif m.group(2) is not None:
            out.append(json.loads(m.group(2)))
        else:
            out.append(m.group(3).strip())
    return tuple(p for p in out if p != "")
