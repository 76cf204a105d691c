"""The executor seam: take a task, run it somewhere, deliver an Outcome."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jobweave.context import Context
from jobweave.errors import DefinitionError, Interrupted, JobFailure
from jobweave.executors.capture import CLOSED, Capture, current
from jobweave.settings import Settings

TRACEBACK_LIMIT = 8 * 1024
"""Characters of a traceback kept with a faulted attempt."""


@dataclass(slots=True)
class Task:
    """One attempt of one job, ready to run."""

    key: int
    """The node index; the engine's handle on the task."""
    attempt: int
    fn: Callable[..., Any] | None
    """The callable; None when only ``ref`` is known (processes load it)."""
    ref: str | None
    """A reference that loads ``fn`` in another process."""
    kwargs: dict[str, Any]
    context: Context
    wants_context: bool
    capture: Capture | None = None
    """What the attempt printed and logged, once it wrote something (see ``call``)."""
    slot: str | None = None
    """What names the job across executions of its run when that is not ``context.job``
    (a graph firing's id); remote executors key their hand-over by it."""
    queue: str | None = None
    """The queue of workers the job asks for (``queue=``); None: the default one."""


@dataclass(slots=True)
class Outcome:
    """What came of a task: a value, or an error with its traceback."""

    key: int
    attempt: int
    ok: bool
    value: Any
    error: str | None
    started: float
    finished: float
    interrupted: bool = False
    """True when the job stopped because it was asked to (cancel or timeout)."""
    captured: dict[str, str] | None = None
    """What the attempt wrote to stdout and stderr (its logging records included), each
    bounded (see :mod:`jobweave.executors.capture`); None when it wrote nothing."""
    lost: bool = False
    """True when the worker running the attempt was lost (it died, or stopped renewing its
    lease): the engine runs the job again without spending one of its retries."""


Deliver = Callable[[Outcome], None]


class Executor(Protocol):
    """Runs tasks and delivers their outcomes, from any thread, through ``deliver``."""

    size: int

    def start(self, deliver: Deliver) -> None: ...

    def submit(self, task: Task) -> None: ...

    def abandon(self, task: Task) -> None:
        """Ask a running task to stop; its late outcome will be ignored by the engine."""

    def shutdown(self) -> None: ...


def call(task: Task, fn: Callable[..., Any]) -> Outcome:
    """Run a task's callable here, turning what it raises into a faulted Outcome.

    This is the one boundary where user exceptions become state, and where what the
    job prints and logs is captured (it reaches the console only when nothing installed
    the capture's routers).
    """
    token = current.set(task)
    try:
        outcome = _invoke(task, fn)
    finally:
        current.reset(token)
    cap, task.capture = task.capture, CLOSED
    if cap is not None:  # it wrote something
        outcome.captured = cap.result()
    return outcome


def _invoke(task: Task, fn: Callable[..., Any]) -> Outcome:
    started = time.time()
    try:
        if task.wants_context:
            value = fn(**task.kwargs, context=task.context)
        else:
            value = fn(**task.kwargs)
    except Interrupted as exc:
        return Outcome(task.key, task.attempt, False, None, f"interrupted: {exc}", started,
                       time.time(), interrupted=True)
    except JobFailure as exc:
        return Outcome(task.key, task.attempt, False, None, str(exc), started, time.time())
    except Exception as exc:
        return Outcome(task.key, task.attempt, False, None, _format(exc), started, time.time())
    return Outcome(task.key, task.attempt, True, value, None, started, time.time())


def _format(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    if len(text) > TRACEBACK_LIMIT:
        text = "…" + text[-TRACEBACK_LIMIT:]
    return text


def make_executor(kind: str, workers: int | None,
                  settings: Settings | None = None) -> Executor:
    """Build the executor a run asks for by name (``settings`` configure remote ones)."""
    if kind == "threads":
        from jobweave.executors.threads import ThreadExecutor

        return ThreadExecutor(workers)
    if kind == "processes":
        from jobweave.executors.processes import ProcessExecutor

        return ProcessExecutor(workers)
    if kind == "celery":
        from jobweave.executors.celery import CeleryExecutor

        return CeleryExecutor(settings or Settings.from_env(), workers)
    raise DefinitionError(f"unknown executor {kind!r}; choose threads, processes or celery",
                          field="executor")
