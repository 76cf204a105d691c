"""Compile definitions (jobs, batches, lists) into a Plan, validating as we go."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from jobweave import refs
from jobweave.errors import CycleError, DefinitionError
from jobweave.model.batch import Batch, flatten
from jobweave.model.flow import Flow
from jobweave.model.graph import Graph
from jobweave.model.job import Job, JobKind, OutputRef
from jobweave.model.params import params_problem
from jobweave.model.schedule import Schedule
from jobweave.plan.encode import encode_definition
from jobweave.plan.flow import compile_flow, describe_when, per_element
from jobweave.plan.nodes import BARRIER, Binding, Plan, PlanNode

NAME_PARAM_LIMIT = 40
"""Characters of parameter values shown in a default job name."""
_KIND_NAMES = {kind: kind.value for kind in JobKind}
_PYTHON = JobKind.PYTHON


def compile_plan(definition: Any, *, name: str | None = None, source: str | None = None,
                 recorded: dict[str, Any] | None = None, input: Any = None) -> Plan:
    """Compile a schedule, a flow, a graph, a job, a batch, or any nesting of lists of them.

    ``recorded`` is the stored definition of the run being resumed: a flow takes the
    element lists its inventories gave then instead of asking them again. ``input`` is
    a graph run's input (``recorded`` carries it on a resume).
    """
    if isinstance(definition, Graph):
        from jobweave.plan.graph import compile_graph  # components and templates: graphs only

        if input is None and recorded is not None:
            input = recorded.get("input")
        return compile_graph(definition, name, source, input)
    if isinstance(definition, Flow):
        return compile_flow(definition, name, source, recorded, _node, _base_dir(source))
    if isinstance(definition, Schedule):
        return _compile_schedule(definition, name or definition.name, source)
    concurrency = None
    if isinstance(definition, Batch):
        name = name or definition.name
        concurrency = definition.concurrency
    jobs = list(flatten(definition))
    position = _closure(jobs)
    if not jobs:
        raise DefinitionError("the definition holds no jobs")
    names = _names(jobs)
    described: dict[int, str | None] = {}
    nodes = [_node(i, j, names[i], position, described) for i, j in enumerate(jobs)]
    _check_acyclic(nodes)
    kind = "dag" if any(n.deps for n in nodes) else "batch"
    run_name = name or (names[0] if len(nodes) == 1 else f"batch of {len(nodes)}")
    try:
        stored, digest, text = encode_definition(run_name, kind, nodes)
    except (TypeError, ValueError):
        _find_unserialisable(nodes)
        raise
    return Plan(run_name, kind, tuple(nodes), stored, digest, source, concurrency, encoded=text)


def _compile_schedule(sched: Schedule, name: str | None, source: str | None) -> Plan:
    """Batches in order, each closed by a barrier node the next batch's jobs wait for."""
    jobs = list(sched.jobs)
    members = {id(j) for j in jobs}
    for j in jobs:
        for dep in j.upstream:
            if id(dep) not in members:
                raise DefinitionError(
                    f"job {j.name or default_name(j)!r} depends on "
                    f"{dep.name or default_name(dep)!r}, which is in no batch of the schedule",
                    field="after")
    names = _names(jobs)
    position: dict[Job, int] = {}
    layout: list[tuple[Job | None, int]] = []  # (job or None for a barrier, batch number)
    for k, b in enumerate(sched.batches, 1):
        for j in b.jobs:
            position[j] = len(layout)
            layout.append((j, k))
        if k < len(sched.batches):
            layout.append((None, k))
    job_names = iter(names)
    described: dict[int, str | None] = {}
    nodes: list[PlanNode] = []
    barrier: int | None = None
    batch_start = 0
    for index, (member, k) in enumerate(layout):
        if member is None:
            bname = f"batch#{k}"
            if bname in names:
                raise DefinitionError(f"the job name {bname!r} is reserved for schedules",
                                      field="name")
            nodes.append(PlanNode(
                index=index, name=bname, kind=BARRIER, target=None, params={},
                deps=tuple(range(batch_start, index)), group=k,
                run_anyway=sched.batches[k - 1].continue_on_failure))
            barrier, batch_start = index, index + 1
            continue
        node = _node(index, member, next(job_names), position, described)
        node.group = k
        if barrier is not None:
            node.deps = (*node.deps, barrier)
        nodes.append(node)
    _check_acyclic(nodes)
    run_name = name or f"schedule of {len(sched.batches)} batches"
    extra = {"batches": len(sched.batches)}
    try:
        stored, digest, text = encode_definition(run_name, "schedule", nodes, extra)
    except (TypeError, ValueError):
        _find_unserialisable(nodes)
        raise
    return Plan(run_name, "schedule", tuple(nodes), stored, digest, source, sched.concurrency,
                encoded=text)


def _closure(jobs: list[Job]) -> dict[Job, int]:
    """Append to ``jobs`` any job they depend on that was not given; each job's index.

    Jobs hash by identity, so they key the dict themselves; a job's upstream is usually
    among the given jobs, which one pass of C-level lookups shows.
    """
    position = {j: i for i, j in enumerate(jobs)}
    known = position.__contains__
    i = 0
    while i < len(jobs):
        j = jobs[i]
        i += 1
        after = j.after
        missing = bool(after) and not all(map(known, after))
        for value in j.params.values():
            if isinstance(value, OutputRef) and not all(map(known, value.jobs)):
                missing = True
        if missing:
            for dep in j.upstream:
                if dep not in position:
                    position[dep] = len(jobs)
                    jobs.append(dep)
    return position


def _names(jobs: list[Job]) -> list[str]:
    explicit: dict[str, int] = {}
    for j in jobs:
        if j.name is not None:
            if j.name in explicit:
                raise DefinitionError(f"two jobs are named {j.name!r}; job names must be unique",
                                      field="name")
            explicit[j.name] = 1
    taken = set(explicit)
    counts: dict[str, int] = {}
    shorts: dict[int, str] = {}
    names = []
    for j in jobs:
        if j.name is not None:
            names.append(j.name)
            continue
        base = default_name(j, shorts)
        n = counts.get(base, 0)
        candidate = base
        while candidate in taken:
            n += 1
            candidate = f"{base}#{n + 1}" if n else base
        counts[base] = n
        taken.add(candidate)
        names.append(candidate)
    return names


def default_name(j: Job, shorts: dict[int, str] | None = None, *,
                 templates: bool = True) -> str:
    """A readable name: the target's short name and the first parameter values.

    ``shorts`` keeps each target's short name (by the target's id) across the calls of
    one compile. Without ``templates`` (a flow's step, named once for every element),
    values that are templates are left out: the element's name tells the jobs apart.
    """
    kind = j.kind
    if kind is JobKind.SHELL:
        return "shell[" + _clip(str(j.target)) + "]"
    if kind is JobKind.SLEEP:
        return f"sleep[{j.params['seconds']}]"
    target = j.target
    short = None if shorts is None else shorts.get(id(target))
    if short is None:
        short = _short_name(target)
        if shorts is not None:
            shorts[id(target)] = short
    values = [str(v) for v in j.params.values() if isinstance(v, (str, int, float, bool))
              and (templates or not per_element(v))]
    if not values:
        return short
    return short + "[" + _clip(",".join(values)) + "]"


def _short_name(target: Any) -> str:
    if isinstance(target, str):
        module, _, attr = target.rpartition(":")
        owner = module.rpartition("/")[2].removesuffix(".py").rpartition(".")[2]
        return f"{owner}.{attr}" if owner else attr
    return getattr(target, "__name__", None) or type(target).__name__


def _clip(text: str) -> str:
    if (len(text) <= NAME_PARAM_LIMIT and text.isprintable() and "  " not in text
            and text.strip() == text):
        return text  # the common case: nothing to fold or cut
    text = " ".join(text.split())
    return text if len(text) <= NAME_PARAM_LIMIT else text[: NAME_PARAM_LIMIT - 1] + "…"


def _node(
    index: int, j: Job, name: str, position: dict[Job, int], described: dict[int, str | None]
) -> PlanNode:
    target: str | None
    fn: Callable[..., Any] | None = None
    if j.kind is _PYTHON:
        if isinstance(j.target, str):
            try:
                fn = refs.resolve_callable(j.target)
            except DefinitionError as exc:
                raise DefinitionError(exc.message, field=f"{name}.target") from None
            target = j.target
        else:
            fn = j.target
            fn_id = id(fn)
            if fn_id not in described:
                described[fn_id] = refs.describe(fn) if fn is not None else None
            target = described[fn_id]
        problem = params_problem(fn, j.params) if fn is not None else None
        if problem is not None:
            where = f"{name}.params" + (f".{problem[1]}" if problem[1] else "")
            raise DefinitionError(problem[0], field=where)
    else:
        target = j.target if isinstance(j.target, str) else None
    params: dict[str, Any] = dict(j.params)
    bindings = []
    at = position.__getitem__
    after = j.after
    deps: tuple[int, ...] = tuple(map(at, after)) if after else ()
    for key, value in j.params.items():
        if isinstance(value, OutputRef):
            sources = tuple(map(at, value.jobs))
            bindings.append(Binding(key, sources, value.many))
            del params[key]
            deps += sources
    if len(deps) > 1 and len(set(deps)) < len(deps):
        deps = tuple(dict.fromkeys(deps))  # upstream order, each job once
    # positional: a dataclass's __init__ takes keywords at three times the cost
    node = PlanNode(index, name, _KIND_NAMES[j.kind], target, params, deps, tuple(bindings),
                    j.retries, float(j.retry_delay), float(j.backoff), j.timeout, j.tags,
                    j.run_anyway, j.execute_when_recovering, 0, fn, -1, 0, None, None,
                    j.continue_on_failure, j.queue)
    if j.when is not None:
        node.when, node.when_fn = describe_when(j.when)
    return node


def _base_dir(source: str | None) -> str | None:
    """The folder a definition file lives in (relative element files resolve there)."""
    if not source:
        return None
    import os

    path = source.rsplit(":", 1)[0] if ":" in source and not os.path.exists(source) else source
    return os.path.dirname(os.path.abspath(path))


def _find_unserialisable(nodes: Iterable[PlanNode]) -> None:
    for n in nodes:
        for key, value in n.params.items():
            try:
                json.dumps(value, allow_nan=False)  # NaN and Infinity are not JSON either
            except (TypeError, ValueError, RecursionError) as exc:
                raise DefinitionError(f"parameter is not JSON-serialisable ({exc})",
                                      field=f"{n.name}.params.{key}") from None


def _check_acyclic(nodes: list[PlanNode]) -> None:
    """Refuse a dependency cycle, naming the jobs in it (iterative DFS).

    Jobs usually come after everything they wait for (a job is made after its upstream
    jobs): then there is no cycle, and one pass over the edges shows it.
    """
    if all(not n.deps or max(n.deps) < n.index for n in nodes):
        return
    WHITE, GREY, BLACK = 0, 1, 2
    color = [WHITE] * len(nodes)
    for root in range(len(nodes)):
        if color[root] != WHITE:
            continue
        stack = [(root, iter(nodes[root].deps))]
        color[root] = GREY
        while stack:
            i, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                color[i] = BLACK
                stack.pop()
            elif color[nxt] == GREY:
                path = [s[0] for s in stack]
                cycle = path[path.index(nxt):]
                raise CycleError([nodes[k].name for k in reversed(cycle)])
            elif color[nxt] == WHITE:
                color[nxt] = GREY
                stack.append((nxt, iter(nodes[nxt].deps)))
