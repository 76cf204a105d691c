"""Compile an element flow into plan nodes: steps × elements, ordered by dependencies.

Serial mode chains an element's steps and starts the next element after the last step
of the one before; parallel mode runs a step for every element and joins them (one
``barrier`` node) before the next step. A child flow expands in place, in its own mode,
on the elements its parent runs that step for. Nothing here is new to the engine: the
result is an ordinary plan, so journal, resume and recover need nothing of their own.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from typing import Any

from jobweave import refs
from jobweave.errors import DefinitionError
from jobweave.model.flow import Flow, FlowMode, Locate, element
from jobweave.model.job import Job
from jobweave.plan.encode import encode_definition
from jobweave.plan.nodes import BARRIER, Plan, PlanNode

Elements = list[dict[str, Any]]


class FlowCompiler:
    """Lays a flow out as plan nodes; one instance per compile."""

    def __init__(self, recorded: dict[str, Any] | None, node_for: Callable[..., PlanNode],
                 base_dir: str | None) -> None:
        self.nodes: list[PlanNode] = []
        self.names: set[str] = set()
        self.scopes: list[dict[str, Any]] = []
        self._scope_of: dict[str, int] = {}
        self._recorded = {s["path"]: s["elements"] for s in (recorded or {}).get("scopes", ())}
        self._node_for = node_for
        self._described: dict[int, str | None] = {}
        self._base_dir = base_dir
        self._joins = 0

    # -- elements ------------------------------------------------------------------------
    def elements_of(self, f: Flow, path: str, key: str, inherited: Elements | None) -> int:
        """A new scope (index into ``scopes``) holding this expansion's elements.

        ``key`` names the expansion in the stored definition (the flow's path, and in a
        serial parent the element it runs for), so a resume finds its recorded list.
        """
        base, n = key, 1
        while key in self._scope_of:
            n += 1
            key = f"{base}#{n}"
        recorded = self._recorded.get(key)
        if f.elements is None:
            if inherited is None:
                raise DefinitionError("a flow needs elements (a list, a file or a callable)",
                                      field=f"{path}.elements")
            items = list(inherited)
        elif recorded is not None and not isinstance(f.elements, tuple):
            items = list(recorded)  # an inventory is asked once: a resume reuses its answer
        else:
            items = self._load(f, path)
        if f.filter is not None:
            items = [e for e in items if _call(f.filter, e, f"{path}.filter")]
        if f.order_by is not None:
            keyed = [(_call(f.order_by, e, f"{path}.order_by"), k, e) for k, e in enumerate(items)]
            try:
                keyed.sort(key=lambda t: (t[0], t[1]))
            except TypeError as exc:
                raise DefinitionError(f"order_by keys cannot be compared: {exc}",
                                      field=f"{path}.order_by") from None
            items = [e for _, _, e in keyed]
        if f.reverse:
            items.reverse()
        seen: set[str] = set()
        for e in items:
            if e["name"] in seen:
                raise DefinitionError(f"two elements are named {e['name']!r}",
                                      field=f"{path}.elements")
            seen.add(e["name"])
        self._scope_of[key] = len(self.scopes)
        self.scopes.append({"path": key, "elements": items})
        return len(self.scopes) - 1

    def _load(self, f: Flow, path: str) -> Elements:
        source = f.elements
        where = f"{path}.elements"
        if isinstance(source, tuple):
            return [dict(e) for e in source]
        if isinstance(source, str):
            raw = read_elements(source, self._base_dir, where)
        else:
            assert source is not None
            try:
                raw = source()
            except Exception as exc:
                raise DefinitionError(f"the elements callable raised {exc!r}",
                                      field=where) from None
        if not isinstance(raw, (list, tuple)):
            raise DefinitionError(f"elements must be a list, got {type(raw).__name__}",
                                  field=where)
        return [element(e, f"{where}[{k}]") for k, e in enumerate(raw)]

    # -- layout ---------------------------------------------------------------------------
    def expand(self, f: Flow, path: str, key: str, inherited: Elements | None,
               entry: tuple[int, ...], tolerate: bool) -> tuple[int, ...]:
        """Add the flow's nodes after ``entry``; return the nodes that close it."""
        scope = self.elements_of(f, path, key, inherited)
        items = self.scopes[scope]["elements"]
        tolerate = tolerate or f.continue_on_failure
        prefix = "" if path == "" else path + "/"
        if f.mode is FlowMode.SERIAL:
            exits = entry
            for k in range(len(items)):
                for pos, step in enumerate(f.steps):
                    exits = self._step(step, prefix, scope, [k], self._join(exits, path),
                                       tolerate, f.locate, pos)
            return exits
        exits = entry
        every = list(range(len(items)))
        for pos, step in enumerate(f.steps):
            exits = self._step(step, prefix, scope, every, self._join(exits, path), tolerate,
                               f.locate, pos)
        return exits

    def _step(self, step: Job | Flow, prefix: str, scope: int, which: list[int],
              entry: tuple[int, ...], tolerate: bool, locate: Locate | None = None,
              pos: int = 0) -> tuple[int, ...]:
        items = self.scopes[scope]["elements"]
        if isinstance(step, Flow):
            child = prefix + (step.name or "flow")
            chosen = [items[k] for k in which]
            key = child if len(which) != 1 else f"{child}[{items[which[0]]['name']}]"
            return self.expand(step, child, key, chosen, entry, tolerate)
        from jobweave.plan.compile import default_name

        # one compiled node per step, copied for each element: the target, parameters
        # and options are the same, only the name, place and element differ
        tpl = self._node_for(0, step, "", {}, self._described)
        base = f"{prefix}{step.name or default_name(step, templates=False)}"
        tolerate = step.continue_on_failure or tolerate
        names, nodes = self.names, self.nodes
        filled = _templated(tpl)
        out = []
        for k in which:
            name = f"{base}[{items[k]['name']}]"
            if name in names:
                name = self._numbered(name)
            names.add(name)
            target, params = tpl.target, tpl.params
            if filled:
                try:
                    target, params = _render_for(tpl, items, k, name)
                except DefinitionError as exc:
                    if locate is None or exc.path is not None or not exc.field:
                        raise
                    part = exc.field[len(name) + 1:].split(".", 1)  # shell, params.KEY
                    raise locate(DefinitionError(f"element {items[k]['name']!r}: "
                                                 f"{exc.message}"), pos, tuple(part)) from None
            node = PlanNode(len(nodes), name, tpl.kind, target, params, entry,
                            tpl.bindings, tpl.retries, tpl.retry_delay, tpl.backoff,
                            tpl.timeout, tpl.tags, tpl.run_anyway,
                            tpl.execute_when_recovering, 0, tpl.fn, scope, k, tpl.when,
                            tpl.when_fn, tolerate, tpl.queue)
            nodes.append(node)
            out.append(node.index)
        return tuple(out)

    def _numbered(self, base: str) -> str:
        n = 2
        while f"{base}#{n}" in self.names:
            n += 1
        return f"{base}#{n}"

    def _join(self, exits: tuple[int, ...], path: str) -> tuple[int, ...]:
        """One dependency for what follows: ``exits`` itself, or a barrier over several."""
        if len(exits) <= 1:
            return exits
        self._joins += 1
        node = PlanNode(index=len(self.nodes), name=f"{path or 'flow'}#join{self._joins}",
                        kind=BARRIER, target=None, params={}, deps=exits)
        self.nodes.append(node)
        return (node.index,)


def per_element(value: Any) -> bool:
    """Whether a step's parameter is filled for each element: text holding ``{{ ... }}``."""
    return isinstance(value, str) and "{{" in value


def _templated(tpl: PlanNode) -> bool:
    """Whether a step's command or string parameters hold ``{{ ... }}`` templates."""
    if tpl.kind == "shell" and tpl.target and "{{" in tpl.target:
        return True
    return any(per_element(v) for v in tpl.params.values())


def _render_for(tpl: PlanNode, items: Elements, k: int,
                name: str) -> tuple[str | None, dict[str, Any]]:
    """A step's command and parameters for element ``k``: templates filled with
    ``element``, ``elements``, ``current``, ``first`` and ``last`` (sandboxed)."""
    from jobweave import expr

    variables = {"element": items[k], "elements": items, "current": k, "first": 0,
                 "last": len(items) - 1}
    target = tpl.target
    if tpl.kind == "shell" and target and "{{" in target:
        target = str(expr.render(target, variables, field=f"{name}.shell"))
    params = {key: expr.render(v, variables, field=f"{name}.params.{key}")
              if per_element(v) else v for key, v in tpl.params.items()}
    return target, params


def describe_when(when: Any) -> tuple[str | None, Callable[..., Any] | None]:
    """A condition as stored and its callable: a reference, ``=`` and an expression, or
    ``?`` and a name for a callable no other process can load (a lambda)."""
    if isinstance(when, str):
        return "=" + when, None
    ref = refs.describe(when)
    if ref is None:
        ref = "?" + (getattr(when, "__qualname__", None) or type(when).__name__)
    return ref, when


def _call(fn: Callable[[Any], Any], value: Any, where: str) -> Any:
    try:
        return fn(value)
    except DefinitionError as exc:
        if exc.path is None:  # a located one comes from a definition file's expression
            raise DefinitionError(f"raised {exc!r} on element {value.get('name')!r}",
                                  field=where) from None
        raise
    except Exception as exc:
        raise DefinitionError(f"raised {exc!r} on element {value.get('name')!r}",
                              field=where) from None


ELEMENT_FILE_LIMIT = 16 * 1024 * 1024
"""Bytes an elements file may hold."""


def read_elements(path: str, base_dir: str | None, where: str) -> list[Any]:
    """The elements in a YAML, JSON or CSV file (CSV: a ``name`` column, the rest context)."""
    full = path if os.path.isabs(path) or base_dir is None else os.path.join(base_dir, path)
    try:
        if os.path.getsize(full) > ELEMENT_FILE_LIMIT:
            raise DefinitionError(f"{path} is larger than {ELEMENT_FILE_LIMIT} bytes",
                                  field=where)
        with open(full, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        raise DefinitionError(f"cannot read elements file {path}: {exc.strerror}",
                              field=where) from None
    if full.endswith(".csv"):
        rows = list(csv.DictReader(text.splitlines()))
        if rows and "name" not in rows[0]:
            raise DefinitionError(f"{path} has no 'name' column", field=where)
        return [{"name": r["name"], "context": {k: v for k, v in r.items() if k != "name"}}
                for r in rows]
    try:
        if full.endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, RecursionError) as exc:
        raise DefinitionError(f"cannot parse elements file {path}: {exc}", field=where) from None
    if isinstance(data, dict) and "elements" in data:
        data = data["elements"]
    if not isinstance(data, list):
        raise DefinitionError(f"{path} holds no list of elements", field=where)
    return data


def compile_flow(f: Flow, name: str | None, source: str | None,
                 recorded: dict[str, Any] | None, node_for: Callable[..., PlanNode],
                 base_dir: str | None = None) -> Plan:
    """The plan of a flow; ``recorded`` is a stored definition whose elements are reused."""
    c = FlowCompiler(recorded, node_for, base_dir)
    c.expand(f, "", "", None, (), False)
    if not any(n.kind != BARRIER for n in c.nodes):
        raise DefinitionError("the flow has no jobs: its elements are empty",
                              field=f"{f.name or 'flow'}.elements")
    run_name = name or f.name or "flow"
    extra = {"scopes": c.scopes, "mode": f.mode.value}
    try:
        stored, digest, text = encode_definition(run_name, "flow", c.nodes, extra)
    except (TypeError, ValueError, RecursionError) as exc:
        raise DefinitionError(f"the flow's elements are not JSON-serialisable ({exc})",
                              field=f"{f.name or 'flow'}.elements") from None
    return Plan(run_name, "flow", tuple(c.nodes), stored, digest, source, f.concurrency,
                tuple(tuple(s["elements"]) for s in c.scopes), encoded=text)
