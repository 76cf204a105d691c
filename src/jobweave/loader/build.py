"""Build model objects from a validated definition file.

Jobs are frozen and hold their upstream jobs as objects, so they are built in
dependency order: names are collected first (jobs, groups and a schedule's batches),
every reference in ``after`` and ``output`` is resolved to the jobs it means, the graph
is sorted (a cycle is refused, naming its jobs), and then each job is made with
:func:`jobweave.model.job`, :func:`~jobweave.model.shell` or :func:`~jobweave.model.sleep`.

A batch file is one part; a schedule has one part per batch. Names are unique across
the parts, and a reference may only point to the same part or an earlier one: a batch
starts once the batches before it are done, so waiting for a later one could never end.

Problems of names and references (duplicate names, ``after`` and ``output`` names that
mean nothing, targets that do not import, parameters the target lacks) are gathered
over the whole file before any job is made: the first in file order is raised, saying
how many more there are, so one ``validate`` shows where to start and how much is left.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from jobweave import refs
from jobweave.errors import CycleError, DefinitionError, ReferenceError_, did_you_mean
from jobweave.loader.file_triggers import file_triggers
from jobweave.loader.problems import first_of
from jobweave.loader.source import Document, Loc, render_loc
from jobweave.loader.spec import BatchFile, ScheduleFile
from jobweave.loader.spec_items import Group, Item, Leaf, PythonJob, ShellJob
from jobweave.model import Batch, Job, OutputRef, Schedule, batch, job, output, shell, sleep
from jobweave.model.params import params_problem

Ref = tuple[str, Loc]
"""A name used in ``after`` or ``output``, and where it was written."""


def build(spec: BatchFile | ScheduleFile, doc: Document) -> Batch | Schedule:
    """The model object a validated file describes, carrying the file's run options."""
    builder = _Builder(doc)
    if isinstance(spec, BatchFile):
        builder.collect(spec.jobs, ("jobs",))
        (jobs,) = builder.build()
        return batch(jobs, name=spec.name, concurrency=spec.concurrency,
                     triggers=file_triggers(spec.triggers, doc))
    if isinstance(spec, ScheduleFile):
        for k, part in enumerate(spec.batches):
            builder.collect(part.jobs, ("batches", k, "jobs"), label=part.name)
        batches = tuple(batch(jobs, name=part.name, continue_on_failure=part.continue_on_failure)
                        for part, jobs in zip(spec.batches, builder.build(), strict=True))
        return Schedule(batches, spec.name, spec.concurrency,
                        file_triggers(spec.triggers, doc))
    raise AssertionError(f"unhandled definition kind {type(spec).__name__}")  # pragma: no cover


@dataclass(slots=True)
class _Leaf:
    """One job to build, where it is, and what its enclosing groups add to it."""

    spec: Leaf
    loc: Loc
    part: int
    group_after: list[Ref]
    group_tags: list[str]
    deps: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.spec.name or render_loc(self.loc)


@dataclass(slots=True)
class _Named:
    """What a name stands for: one job, or every job of a group or of a schedule's batch."""

    members: list[int]
    loc: Loc
    what: str
    """``job``, ``group`` or ``batch``."""
    part: int


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.base_dir = os.path.dirname(os.path.abspath(doc.path))
        self.leaves: list[_Leaf] = []
        self.names: dict[str, _Named] = {}
        self.parts = 0
        self.problems: list[DefinitionError] = []
        """Problems of names and references found so far (see the module's docstring)."""
        self.targets: dict[int, str] = {}
        """Each Python job's checked reference, by leaf index."""

    @property
    def _part(self) -> int:
        """The part being collected."""
        return self.parts - 1

    def collect(self, items: list[Item], loc: Loc, *, label: str | None = None) -> None:
        """Add the next part: ``items`` (at ``loc``), labelled ``label`` in a schedule."""
        self.parts += 1
        start = len(self.leaves)
        named = self._name(label, loc[:-1], what="batch")
        self._collect(items, loc, [], [])
        if named is not None:
            named.members.extend(range(start, len(self.leaves)))

    def build(self) -> list[list[Job]]:
        """The jobs of every part, each in file order, once all parts are collected."""
        for i, leaf in enumerate(self.leaves):
            self._link(i)
            if isinstance(leaf.spec, PythonJob):
                try:
                    self.targets[i] = self._target(leaf.spec.target, (*leaf.loc, "target"),
                                                   leaf.spec.params)
                except DefinitionError as exc:
                    self.problems.append(exc)
        self._raise_problems()
        built: dict[int, Job] = {}
        for i in self._order(range(len(self.leaves))):
            built[i] = self._make(i, built)
        parts: list[list[Job]] = [[] for _ in range(self.parts)]
        for i, leaf in enumerate(self.leaves):
            parts[leaf.part].append(built[i])
        return parts

    def _raise_problems(self) -> None:
        """Raise the first problem gathered, in file order, counting the others."""
        if self.problems:
            raise first_of(self.problems)

    # -- names ------------------------------------------------------------------------------

    def _collect(self, items: list[Item], loc: Loc, after: list[Ref], tags: list[str]) -> None:
        for i, item in enumerate(items):
            where = (*loc, i)
            if isinstance(item, list):
                self._collect(item, where, after, tags)
            elif isinstance(item, Group):
                # register the name first, so a clash is reported where the group starts
                named = self._name(item.name, where, what="group")
                start = len(self.leaves)
                inner_after = after + _refs(item.after, (*where, "after"))
                self._collect(item.batch, (*where, "batch"), inner_after, tags + item.tags)
                if named is not None:
                    named.members.extend(range(start, len(self.leaves)))
            else:
                named = self._name(item.name, where, what="job")
                if named is not None:
                    named.members.append(len(self.leaves))
                self.leaves.append(_Leaf(item, where, self._part, after, tags))

    def _name(self, name: str | None, loc: Loc, *, what: str) -> _Named | None:
        if name is None:
            return None
        taken = self.names.get(name)
        if taken is not None:
            self.problems.append(self.doc.error(
                f"duplicate name {name!r} (first used on line {self.doc.line(taken.loc)}); "
                "names must be unique", (*loc, "name")))
            return None
        named = _Named([], loc, what, self._part)
        self.names[name] = named
        return named

    def _lookup(self, ref: Ref, part: int | None = None) -> _Named:
        """What ``ref`` names; from ``part``, only the same or an earlier part may be named."""
        name, loc = ref
        found = self.names.get(name)
        if found is None:
            raise self.doc.error(f"no job or group named {name!r} in this file"
                                 f"{did_you_mean(name, self.names)}", loc)
        if part is None:
            return found
        if found.part > part:
            raise self.doc.error(
                f"{found.what} {name!r} is in a later batch (batches[{found.part}], line "
                f"{self.doc.line(found.loc)}); a job may only wait for jobs of its own batch "
                "or an earlier one", loc)
        if found.what == "batch" and found.part == part:
            raise self.doc.error(f"{name!r} is the job's own batch; a job cannot wait for it",
                                 loc)
        return found

    # -- dependencies ---------------------------------------------------------------------

    def _link(self, index: int) -> None:
        leaf = self.leaves[index]
        refs_ = leaf.group_after + _refs(leaf.spec.after, (*leaf.loc, "after"))
        if isinstance(leaf.spec, PythonJob):
            for key, value in leaf.spec.params.items():
                try:
                    binding = _binding(value, (*leaf.loc, "params", key), self.doc)
                except DefinitionError as exc:
                    self.problems.append(exc)
                    continue
                if binding is not None:
                    refs_ += binding
        deps: dict[int, None] = {}
        for ref in refs_:
            try:
                named = self._lookup(ref, leaf.part)
            except DefinitionError as exc:
                self.problems.append(exc)
                continue
            for member in named.members:
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
        where = self.leaves[waits[0]].loc
        raise CycleError(cycle, path=self.doc.path, line=self.doc.line(where),
                         field=render_loc(where))

    # -- jobs -----------------------------------------------------------------------------

    def _make(self, index: int, built: dict[int, Job]) -> Job:
        leaf = self.leaves[index]
        spec = leaf.spec
        after_jobs = list(dict.fromkeys(built[m] for ref in leaf.group_after + _refs(spec.after, ())
                                        for m in self._lookup(ref).members))
        tags = list(dict.fromkeys(leaf.group_tags + spec.tags))
        try:
            if isinstance(spec, (PythonJob, ShellJob)):
                options: dict[str, Any] = {
                    "name": spec.name, "retries": spec.retries, "retry_delay": spec.retry_delay,
                    "backoff": spec.backoff, "timeout": spec.timeout, "tags": tags,
                    "after": after_jobs, "run_anyway": spec.run_anyway, "queue": spec.queue}
            if isinstance(spec, PythonJob):
                # params= keeps parameters apart from the options: one may be called `name`
                return job(self.targets[index],
                           execute_when_recovering=spec.execute_when_recovering,
                           params=self._params(spec, built), **options)
            if isinstance(spec, ShellJob):
                return shell(spec.shell, cwd=self._path(spec.cwd), env=spec.env, **options)
            return sleep(spec.sleep, name=spec.name, tags=tags, after=after_jobs,
                         queue=spec.queue)
        except ReferenceError_:
            raise
        except DefinitionError as exc:
            if exc.path is not None:
                raise  # located already

            part = (exc.field or "").rpartition(".")[2]
            loc = (*leaf.loc, part) if part in type(spec).model_fields else leaf.loc
            raise self.doc.error(exc.message, loc) from None

    def _target(self, target: str, loc: Loc, params: dict[str, Any]) -> str:
        """The reference with a relative file made absolute; checked by loading it now,
        and ``params`` checked against the function's signature."""
        module, _, attr = target.rpartition(":")
        ref = f"{self._path(module)}:{attr}" if refs.is_file(module) else target
        try:
            fn = refs.resolve_callable(ref)
        except DefinitionError as exc:
            raise self.doc.error(exc.message, loc, cls=ReferenceError_) from None
        problem = params_problem(fn, params)
        if problem is not None:
            message, unknown = problem
            raise self.doc.error(message, (*loc[:-1], "params", *([unknown] if unknown else [])))
        return ref

    def _path(self, path: str | None) -> str | None:
        if path is None:
            return None
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(path)))

    def _params(self, spec: PythonJob, built: dict[int, Job]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in spec.params.items():
            binding = _binding(value, (), self.doc)
            if binding is None:
                params[key] = value
            else:
                # one job's name gives its output; a list of names, or a group, a list
                params[key] = self._output(binding, built, many=isinstance(value["output"], list))
        return params

    def _output(self, binding: list[Ref], built: dict[int, Job], *, many: bool) -> OutputRef:
        named = [self._lookup(ref) for ref in binding]
        if not many and named[0].what == "job":
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
