"""Build model objects from a validated definition file.

Jobs are frozen and hold their upstream jobs as objects, so they are built in
dependency order: names are collected first (jobs and groups), every reference in
``after`` and ``output`` is resolved to the jobs it means, the graph is sorted (a cycle
is refused, naming its jobs), and then each job is made with :func:`jobweave.model.job`,
:func:`~jobweave.model.shell` or :func:`~jobweave.model.sleep`.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from jobweave import refs
from jobweave.errors import CycleError, DefinitionError, ReferenceError_
from jobweave.loader.source import Document, Loc, render_loc
from jobweave.loader.spec import BatchFile, DefinitionFile, Group, Item, Leaf, PythonJob, ShellJob
from jobweave.model import Batch, Job, OutputRef, batch, job, output, shell, sleep

Ref = tuple[str, Loc]
"""A name used in ``after`` or ``output``, and where it was written."""


def build(spec: DefinitionFile, doc: Document) -> Batch:
    """The model object a validated file describes."""
    # `kind: schedule` gets its branch here: each of its batches goes through _Builder.
    if isinstance(spec, BatchFile):
        return _Builder(doc).build_batch(spec.jobs, ("jobs",), name=spec.name)
    raise AssertionError(f"unhandled definition kind {type(spec).__name__}")  # pragma: no cover


@dataclass(slots=True)
class _Leaf:
    """One job to build, where it is, and what its enclosing groups add to it."""

    spec: Leaf
    loc: Loc
    group_after: list[Ref]
    group_tags: list[str]
    deps: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.spec.name or render_loc(self.loc)


@dataclass(slots=True)
class _Named:
    """What a name stands for: one job, or every job of a group."""

    members: list[int]
    loc: Loc
    group: bool


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.base_dir = os.path.dirname(os.path.abspath(doc.path))
        self.leaves: list[_Leaf] = []
        self.names: dict[str, _Named] = {}

    def build_batch(self, items: list[Item], loc: Loc, *, name: str | None) -> Batch:
        """Flatten ``items`` (at ``loc``) into a batch of built jobs, in file order."""
        first = len(self.leaves)
        self._collect(items, loc, [], [])
        for i in range(first, len(self.leaves)):
            self._link(i)
        built: dict[int, Job] = {}
        for i in self._order(range(first, len(self.leaves))):
            built[i] = self._make(self.leaves[i], built)
        return batch([built[i] for i in range(first, len(self.leaves))], name=name)

    # -- names ------------------------------------------------------------------------------

    def _collect(self, items: list[Item], loc: Loc, after: list[Ref], tags: list[str]) -> None:
        for i, item in enumerate(items):
            where = (*loc, i)
            if isinstance(item, list):
                self._collect(item, where, after, tags)
            elif isinstance(item, Group):
                # register the name first, so a clash is reported where the group starts
                named = self._name(item.name, where, group=True)
                start = len(self.leaves)
                inner_after = after + _refs(item.after, (*where, "after"))
                self._collect(item.batch, (*where, "batch"), inner_after, tags + item.tags)
                if named is not None:
                    named.members.extend(range(start, len(self.leaves)))
            else:
                named = self._name(item.name, where, group=False)
                if named is not None:
                    named.members.append(len(self.leaves))
                self.leaves.append(_Leaf(item, where, after, tags))

    def _name(self, name: str | None, loc: Loc, *, group: bool) -> _Named | None:
        if name is None:
            return None
        taken = self.names.get(name)
        if taken is not None:
            raise self.doc.error(
                f"duplicate name {name!r} (first used on line {self.doc.line(taken.loc)}); "
                "names must be unique", (*loc, "name"))
        named = _Named([], loc, group)
        self.names[name] = named
        return named

    def _lookup(self, ref: Ref) -> _Named:
        name, loc = ref
        found = self.names.get(name)
        if found is None:
            close = difflib.get_close_matches(name, list(self.names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise self.doc.error(f"no job or group named {name!r} in this file{hint}", loc)
        return found

    # -- dependencies ---------------------------------------------------------------------

    def _link(self, index: int) -> None:
        leaf = self.leaves[index]
        refs_ = leaf.group_after + _refs(leaf.spec.after, (*leaf.loc, "after"))
        if isinstance(leaf.spec, PythonJob):
            for key, value in leaf.spec.params.items():
                binding = _binding(value, (*leaf.loc, "params", key), self.doc)
                if binding is not None:
                    refs_ += binding
        deps: dict[int, None] = {}
        for ref in refs_:
            for member in self._lookup(ref).members:
                deps[member] = None
        leaf.deps = list(deps)

    def _order(self, indexes: range) -> list[int]:
        """Dependencies before dependants; a cycle raises CycleError naming its jobs."""
        done: set[int] = set()
        order: list[int] = []
        for root in indexes:
            if root in done:
                continue
            path = [root]
            on_path = {root}
            stack = [iter(self.leaves[root].deps)]
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    stack.pop()
                    finished = path.pop()
                    on_path.discard(finished)
                    done.add(finished)
                    order.append(finished)
                elif nxt in on_path:
                    self._cycle(path[path.index(nxt):])
                elif nxt not in done:
                    path.append(nxt)
                    on_path.add(nxt)
                    stack.append(iter(self.leaves[nxt].deps))
        return order

    def _cycle(self, waits: list[int]) -> None:
        # `waits` runs from a job to the ones it waits for; report it in running order,
        # starting with that first job (the one whose line is reported)
        order = [waits[0], *reversed(waits[1:])]
        cycle = [self.leaves[i].label for i in order]
        err = CycleError(cycle)
        where = self.leaves[waits[0]].loc
        # CycleError takes only the names; re-render it with the file and line
        DefinitionError.__init__(err, err.message, path=self.doc.path, line=self.doc.line(where),
                                 field=render_loc(where))
        raise err

    # -- jobs -----------------------------------------------------------------------------

    def _make(self, leaf: _Leaf, built: dict[int, Job]) -> Job:
        spec = leaf.spec
        after_jobs = list(dict.fromkeys(built[m] for ref in leaf.group_after + _refs(spec.after, ())
                                        for m in self._lookup(ref).members))
        tags = list(dict.fromkeys(leaf.group_tags + spec.tags))
        try:
            if isinstance(spec, PythonJob):
                made = job(self._target(spec.target, (*leaf.loc, "target")), name=spec.name,
                           retries=spec.retries, retry_delay=spec.retry_delay,
                           backoff=spec.backoff, timeout=spec.timeout, tags=tags,
                           after=after_jobs, run_anyway=spec.run_anyway,
                           execute_when_recovering=spec.execute_when_recovering)
                params = self._params(spec, built)
                # params go in after the options, so a parameter may be called `name`
                return dataclasses.replace(made, params=params) if params else made
            if isinstance(spec, ShellJob):
                return shell(spec.shell, name=spec.name, retries=spec.retries,
                             retry_delay=spec.retry_delay, backoff=spec.backoff,
                             timeout=spec.timeout, tags=tags, after=after_jobs,
                             run_anyway=spec.run_anyway, cwd=self._path(spec.cwd), env=spec.env)
            return sleep(spec.sleep, name=spec.name, tags=tags, after=after_jobs)
        except ReferenceError_:
            raise
        except DefinitionError as exc:
            part = (exc.field or "").rpartition(".")[2]
            loc = (*leaf.loc, part) if part in type(spec).model_fields else leaf.loc
            raise self.doc.error(exc.message, loc) from None

    def _target(self, target: str, loc: Loc) -> str:
        """The reference with a relative file made absolute; checked by loading it now."""
        module, _, attr = target.rpartition(":")
        ref = f"{self._path(module)}:{attr}" if refs.is_file(module) else target
        try:
            refs.resolve_callable(ref)
        except DefinitionError as exc:
            raise self.doc.error(exc.message, loc, cls=ReferenceError_) from None
        return ref

    def _path(self, path: str | None) -> str | None:
        if path is None:
            return None
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(path)))

    def _params(self, spec: PythonJob, built: dict[int, Job]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in spec.params.items():
            binding = _binding(value, (), self.doc)
            params[key] = value if binding is None else self._output(binding, built)
        return params

    def _output(self, binding: list[Ref], built: dict[int, Job]) -> OutputRef:
        named = [self._lookup(ref) for ref in binding]
        if len(named) == 1 and not named[0].group and len(named[0].members) == 1:
            return output(built[named[0].members[0]])
        return output([built[m] for n in named for m in n.members])


def _refs(names: list[str], loc: Loc) -> list[Ref]:
    return [(name, (*loc, i)) for i, name in enumerate(names)]


def _binding(value: Any, loc: Loc, doc: Document) -> list[Ref] | None:
    """The names an ``{output: ...}`` parameter refers to; None for a plain value.

    Only a mapping whose one key is ``output`` is a binding; any other mapping is data.
    """
    if not isinstance(value, dict) or list(value) != ["output"]:
        return None
    names = value["output"]
    at = (*loc, "output")
    if isinstance(names, str) and names:
        return [(names, at)]
    if (isinstance(names, list) and names
            and all(isinstance(n, str) and n for n in names)):
        return _refs(names, at)
    raise doc.error(f"output takes a job name or a non-empty list of job names, got {names!r:.60}",
                    at)
