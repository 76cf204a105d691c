"""A job: one parameterized unit of work, as plain data."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobweave.errors import DefinitionError

MAX_NAME = 200
"""Characters of a job name (and of any name in a definition file)."""

NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*\S[^\x00-\x1f\x7f-\x9f]*$"
"""A name: not blank, and without control characters (no newlines, tabs, escapes)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def name_problem(name: object) -> str | None:
    """What is wrong with a job name (None when it is a usable one)."""
    if isinstance(name, str) and name.isprintable() and len(name) <= MAX_NAME and name.strip():
        return None  # the common case, kept cheap (isprintable is stricter than needed)
    if not isinstance(name, str) or not name.strip():
        return f"name must be a non-empty string, got {name!r:.60}"
    if len(name) > MAX_NAME:
        return f"name may have at most {MAX_NAME} characters, got {len(name)}"
    bad = _CONTROL.search(name)
    if bad is not None:
        return (f"name must not hold control characters, got {bad.group()!r} at "
                f"position {bad.start()}")
    return None


class JobState(enum.StrEnum):
    """Where a job stands. The last four are final."""

    PENDING = "pending"
    """Not started yet (or waiting for a retry)."""
    RUNNING = "running"
    """An attempt is in flight."""
    COMPLETED = "completed"
    """Finished and its completion is committed to the journal."""
    FAULTED = "faulted"
    """Every attempt failed, or the last one timed out."""
    CANCELLED = "cancelled"
    """The run was cancelled before the job finished."""
    SKIPPED = "skipped"
    """Not run because a job it depends on did not complete."""
    INTERRUPTED = "interrupted"
    """How a job stored ``running`` reads once its run crashed: a resume runs it again.
    Only readers see it (``show``, ``jw.get_run``); the engine never stores it."""

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({JobState.COMPLETED, JobState.FAULTED, JobState.CANCELLED, JobState.SKIPPED})


class JobKind(enum.StrEnum):
    """What a job runs."""

    PYTHON = "python"
    """A Python callable, given as an object or a ``"module:function"`` reference."""
    SHELL = "shell"
    """A shell command in a real subprocess; a non-zero exit status faults the job."""
    SLEEP = "sleep"
    """Waits a number of seconds (cancellable)."""


@dataclass(frozen=True, eq=False, slots=True)
class OutputRef:
    """A parameter bound to the output of other jobs; resolved when the job starts.

    One job gives its output; several (or a batch) give the list of their outputs.
    """

    jobs: tuple[Job, ...]
    """The jobs whose outputs are passed."""
    many: bool
    """True when the parameter receives a list, False for a single job's output."""


@dataclass(frozen=True, eq=False, slots=True)
class Job:
    """One unit of work. Identity is the object: two equal-looking jobs are two jobs."""

    target: Callable[..., Any] | str | None
    """A callable, a ``"module:function"``/``"file.py:function"`` reference, or the
    command (shell) / ``None`` (sleep)."""
    kind: JobKind = JobKind.PYTHON
    """What the job runs."""
    name: str | None = None
    """Unique name in the run; a readable default is derived when unset."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments passed to the target."""
    retries: int = 0
    """How many times a faulted attempt is tried again."""
    retry_delay: float = 0.0
    """Seconds before the first retry."""
    backoff: float = 1.0
    """Multiplier of the delay for each further retry (delay × backoff^k)."""
    timeout: float | None = None
    """Seconds one attempt may run before it is faulted (and asked to stop)."""
    tags: tuple[str, ...] = ()
    """Free labels, used by selectors and shown in listings."""
    after: tuple[Job, ...] = ()
    """Jobs that must complete before this one starts."""
    run_anyway: bool = False
    """Run even when a job it depends on did not complete (instead of ``skipped``)."""
    execute_when_recovering: bool = False
    """Invoke this job even when a recovered journal already holds its outputs."""
    when: Callable[[Any], Any] | str | None = None
    """Run only where this is true of the job's context (a callable, or an expression in
    definition files); elsewhere the job is ``skipped`` and its dependents go on."""
    continue_on_failure: bool = False
    """When this job faults, its dependents run as if it had completed."""
    queue: str | None = None
    """``executor="celery"``: the queue of the workers that run it (the default queue
    when None); other executors ignore it."""

    def __post_init__(self) -> None:
        where = self.name or _describe(self.target)
        if self.queue is not None and (not isinstance(self.queue, str)
                                       or not self.queue.strip() or len(self.queue) > 200):
            raise DefinitionError(f"queue must be a non-empty name, got {self.queue!r:.60}",
                                  field=f"{where}.queue")
        _check_count("retries", self.retries, where)
        _check_seconds("retry_delay", self.retry_delay, where)
        if (not isinstance(self.backoff, (int, float)) or not self.backoff >= 1.0
                or not math.isfinite(self.backoff)):
            raise DefinitionError(f"backoff must be a number >= 1, got {self.backoff!r}",
                                  field=f"{where}.backoff")
        if self.timeout is not None:
            _check_seconds("timeout", self.timeout, where)
            if self.timeout == 0:
                raise DefinitionError("timeout must be positive", field=f"{where}.timeout")
        if self.name is not None:
            problem = name_problem(self.name)
            if problem is not None:
                raise DefinitionError(problem, field="name")
        if self.kind is JobKind.PYTHON and not (callable(self.target) or _is_ref(self.target)):
            raise DefinitionError(
                f"target must be a callable or a 'module:function' reference, got {self.target!r}",
                field=f"{where}.target",
            )
        if self.when is not None and not (callable(self.when) or isinstance(self.when, str)):
            raise DefinitionError(f"when must be a callable or an expression, got {self.when!r}",
                                  field=f"{where}.when")
        for dep in self.after:
            if not isinstance(dep, Job):
                raise DefinitionError(f"after= takes jobs and batches, got {dep!r}",
                                      field=f"{where}.after")

    @property
    def upstream(self) -> tuple[Job, ...]:
        """Every job this one waits for: ``after`` plus the jobs its outputs come from."""
        deps = list(self.after)
        for value in self.params.values():
            if isinstance(value, OutputRef):
                deps.extend(value.jobs)
        return tuple(deps)


def _is_ref(target: object) -> bool:
    return isinstance(target, str) and ":" in target and not target.startswith(":")


def _describe(target: object) -> str:
    return getattr(target, "__name__", None) or str(target)


def _check_count(name: str, value: object, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DefinitionError(f"{name} must be a whole number >= 0, got {value!r}",
                              field=f"{where}.{name}")


def _check_seconds(name: str, value: object, where: str) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
            or not math.isfinite(value)):
        raise DefinitionError(f"{name} must be a number of seconds >= 0, got {value!r}",
                              field=f"{where}.{name}")


def _flatten_after(after: Job | Iterable[Any] | None) -> tuple[Job, ...]:
    from jobweave.model.batch import flatten  # batch imports job: keep the cycle local

    if after is None:
        return ()
    return tuple(flatten(after))


def job(
    target: Callable[..., Any] | str,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    backoff: float = 1.0,
    timeout: float | None = None,
    tags: Iterable[str] = (),
    after: Job | Iterable[Any] | None = None,
    run_anyway: bool = False,
    execute_when_recovering: bool = False,
    when: Callable[[Any], Any] | str | None = None,
    continue_on_failure: bool = False,
    queue: str | None = None,
    params: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Job:
    """A job that calls ``target(**params)``; ``target`` is a callable or a reference.

    Parameters are the extra keyword arguments, and those of ``params``: a parameter
    whose name is one of this function's options (``name``, ``timeout``, ``tags``,
    ``after``, ``retries``, ``params``...) goes in ``params={"name": ...}``.
    """
    if params is None:
        given = kwargs
    elif not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise DefinitionError(f"params= takes a mapping of parameter names to values, got "
                              f"{params!r:.60}", field="params")
    else:
        twice = sorted(kwargs.keys() & params.keys())
        if twice:
            raise DefinitionError(f"parameter {twice[0]!r} is given twice (as a keyword and in "
                                  "params=)", field=f"params.{twice[0]}")
        given = {**kwargs, **params}
    return Job(target, JobKind.PYTHON, name, dict(given), retries, retry_delay, backoff,
               timeout, tuple(tags), _flatten_after(after), run_anyway,
               execute_when_recovering, when, continue_on_failure, queue)


def shell(
    command: str,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    backoff: float = 1.0,
    timeout: float | None = None,
    tags: Iterable[str] = (),
    after: Job | Iterable[Any] | None = None,
    run_anyway: bool = False,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    when: Callable[[Any], Any] | str | None = None,
    continue_on_failure: bool = False,
    queue: str | None = None,
) -> Job:
    """A job that runs ``command`` in a shell subprocess; exit status != 0 faults it."""
    if not isinstance(command, str) or not command.strip():
        raise DefinitionError(f"a shell command must be a non-empty string, got {command!r}",
                              field="shell")
    params: dict[str, Any] = {}
    if cwd is not None:
        params["cwd"] = cwd
    if env is not None:
        params["env"] = dict(env)
    return Job(command, JobKind.SHELL, name, params, retries, retry_delay, backoff, timeout,
               tuple(tags), _flatten_after(after), run_anyway, when=when,
               continue_on_failure=continue_on_failure, queue=queue)


def sleep(
    seconds: float,
    *,
    name: str | None = None,
    tags: Iterable[str] = (),
    after: Job | Iterable[Any] | None = None,
    when: Callable[[Any], Any] | str | None = None,
    queue: str | None = None,
) -> Job:
    """A job that waits ``seconds``; a cancel ends the wait at once."""
    _check_seconds("seconds", seconds, name or "sleep")
    return Job(None, JobKind.SLEEP, name, {"seconds": seconds}, tags=tuple(tags),
               after=_flatten_after(after), when=when, queue=queue)


def output(source: Any) -> OutputRef:
    """Bind a parameter to the output of a job (a value) or of several jobs (a list)."""
    if isinstance(source, Job):
        return OutputRef((source,), many=False)
    from jobweave.model.batch import flatten

    jobs = tuple(flatten(source))
    if not jobs:
        raise DefinitionError("output() needs at least one job", field="output")
    return OutputRef(jobs, many=True)
