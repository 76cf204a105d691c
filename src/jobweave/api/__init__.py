"""Facade functions over one Engine: ``jobweave.run(definition)`` and friends.

While jobweave loads a Python file or module to find a definition (``jobweave run
flow.py:nightly``, a resume that loads the run's callables again), the file's top level
runs. A ``run``, ``submit``, ``resume``, ``recover`` or ``Schedule.submit`` called from
there starts nothing: it logs a warning and returns a result of status ``skipped``
(``ok`` false, no run id), and the rest of the file goes on loading.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from jobweave import refs
from jobweave.api.stored import delete as delete
from jobweave.api.stored import get_run as get_run
from jobweave.api.stored import prune as prune
from jobweave.api.stored import runs as runs
from jobweave.context import Context
from jobweave.engine import Engine, RunHandle, RunResult
from jobweave.engine.replay import RecoveryPlan
from jobweave.errors import RunNotFoundError
from jobweave.events import Listener

# one Schedule class, re-exported: jw.schedule() and a `kind: schedule` file both give it
from jobweave.model.schedule import Schedule as Schedule
from jobweave.model.schedule import schedule as schedule
from jobweave.model.schedule import set_submitter
from jobweave.settings import Settings

log = logging.getLogger("jobweave")

SKIPPED = "skipped"
"""The status of a result that ran nothing: it was asked for while jobweave loaded a file."""


def _skipped(call: str, definition: Any = None, name: str | None = None) -> RunResult | None:
    """A result that ran nothing, when this thread is loading a file; else None."""
    where = refs.loading()
    if where is None:
        return None
    log.warning("jobweave.%s() called while jobweave loads %s: nothing is run (put it under "
                "`if __name__ == \"__main__\":`)", call, where)
    now = time.time()
    return RunResult("", name or getattr(definition, "name", None) or "", SKIPPED, (), now, now)


class _NotStarted(RunHandle):
    """The handle of a run that was not started (see :func:`_skipped`)."""

    def __init__(self, result: RunResult) -> None:  # no runtime: nothing runs
        self.run_id = result.run_id
        self._thread = threading.Thread(name="jobweave-not-started")
        self._result = result
        self._error = None

    def cancel(self, by: str | None = None) -> None:
        pass

    def pause(self, by: str | None = None, *, hand_off: bool = False) -> None:
        pass


def _engine(store: str | None, executor: str | None = None,
            workers: int | None = None) -> Engine:
    settings = Settings.from_env().with_(store=store, executor=executor, workers=workers)
    return Engine(settings)


def submit(
    definition: Any,
    *,
    store: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
    concurrency: int | None = None,
    name: str | None = None,
    listeners: Sequence[Listener] = (),
    input: Any = None,
) -> RunHandle:
    """Store a run and start it in the background; return its handle at once.

    ``input`` is a graph run's input (what its source nodes receive)."""
    skipped = _skipped("submit", definition, name)
    if skipped is not None:
        return _NotStarted(skipped)
    engine = _engine(store, executor, workers)
    if input is not None:
        definition = engine.plan(definition, name=name, input=input)
    return engine.submit(definition, name=name, concurrency=concurrency, listeners=listeners)


def run(
    definition: Any,
    *,
    store: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
    concurrency: int | None = None,
    name: str | None = None,
    listeners: Sequence[Listener] = (),
    input: Any = None,
) -> RunResult:
    """Submit and wait: return when every job has stopped (``result.exit_code``).

    ``input`` is a graph run's input (what its source nodes receive)."""
    skipped = _skipped("run", definition, name)
    if skipped is not None:
        return skipped
    engine = _engine(store, executor, workers)
    if input is not None:
        definition = engine.plan(definition, name=name, input=input)
    return engine.run(definition, name=name, concurrency=concurrency, listeners=listeners)


def resume(
    run_id: str,
    definition: Any = None,
    *,
    store: str | None = None,
    accept_changes: bool = False,
    concurrency: int | None = None,
    listeners: Sequence[Listener] = (),
) -> RunResult:
    """Continue a stopped run and wait for it: completed jobs are kept, the rest run.

    Without ``definition`` the run's own definition is loaded again: from the file or
    module it came from when it has one, else from its stored references.
    """
    skipped = _skipped("resume", definition)
    if skipped is not None:
        return skipped
    return start_resume(run_id, definition, store=store, accept_changes=accept_changes,
                        concurrency=concurrency, listeners=listeners).finish()


def start_resume(run_id: str, definition: Any = None, *, store: str | None = None,
                 **options: Any) -> RunHandle:
    """:func:`resume` without waiting (``options`` as there): the run goes on in a thread
    of this process on the executor it was made with; returns its handle."""
    kept = _engine(store).store.get_run(run_id, counts=False).options
    engine = _engine(store, kept.get("executor"), kept.get("workers"))
    source = None
    if definition is None:
        definition, source = _reload(engine, run_id)
    return engine.resume(run_id, definition, source=source, **options)


def pause(run_id: str, *, store: str | None = None, by: str | None = None) -> str:
    """Ask a run to pause (see :meth:`Engine.pause`); ``resume`` continues it. ``by``
    (who asks) is journaled with the request."""
    return _engine(store).pause(run_id, by=by)


def cancel(run_id: str, *, store: str | None = None, by: str | None = None) -> str:
    """Ask a run to stop (see :meth:`Engine.cancel`); its jobs end ``cancelled``. ``by``
    (who asks) is journaled with the request."""
    return _engine(store).cancel(run_id, by=by)


def _reload(engine: Engine, run_id: str) -> tuple[Any, str | None]:
    """The definition a run came from, loaded from its source again (None if it has none)."""
    return current_definition(engine.store.get_run(run_id, counts=False).source, None)


def _submit_schedule(
    sched: Schedule,
    *,
    store: str | None = None,
    executor: str | None = None,
    concurrency: int | None = None,
    accept_changes: bool = False,
    listeners: Sequence[Listener] = (),
) -> RunResult:
    """What :meth:`Schedule.submit` does: run the schedule, or resume its unfinished run."""
    skipped = _skipped("Schedule.submit", sched)
    if skipped is not None:
        return skipped
    engine = _engine(store, executor)
    plan = engine.plan(sched)
    run_id = sched.run_id or engine.store.find_resumable(plan.name, plan.digest)
    if run_id is not None:
        status = engine.store.get_run(run_id, counts=False).status
        if status == "completed":
            return engine.result(run_id)
        handle = engine.resume(run_id, plan, accept_changes=accept_changes,
                               concurrency=concurrency, listeners=listeners)
    else:
        handle = engine.submit(plan, concurrency=concurrency, listeners=listeners)
    object.__setattr__(sched, "_run_id", handle.run_id)
    return handle.finish()


set_submitter(_submit_schedule)


def recovery_plan(
    journal: str,
    definition: Any = None,
    *,
    store: str | None = None,
    changed: Sequence[str] = (),
    force: bool = False,
) -> RecoveryPlan:
    """What :func:`recover` would replay and run, and why; nothing is run or stored."""
    engine = _engine(store)
    view = engine.journal_view(journal)
    definition, source = current_definition(view.source, definition)
    return engine.recovery_plan(view, definition, source=source, changed=changed,
                                force=force)[1]


def recover(
    journal: str,
    definition: Any = None,
    *,
    store: str | None = None,
    changed: Sequence[str] = (),
    force: bool = False,
    concurrency: int | None = None,
    executor: str | None = None,
    workers: int | None = None,
    listeners: Sequence[Listener] = (),
) -> RunResult:
    """Replay a journal (a run id, or an exported ``.jsonl`` file) as a new run and wait.

    Recorded completions are reused without invoking their jobs; jobs matched by
    ``changed`` selectors (``name=``, ``tag=``, ``data=``, glob patterns) and everything
    downstream of them run again, as does whatever the journal did not complete. Jobs
    run on the executor the journal's run used, unless ``executor`` says otherwise.
    """
    skipped = _skipped("recover")
    if skipped is not None:
        return skipped
    engine = _engine(store)
    view = engine.journal_view(journal)
    engine = engine.for_journal(view, executor=executor, workers=workers)
    definition, source = current_definition(view.source, definition)
    _, handle = engine.recover(view, definition, source=source, changed=changed, force=force,
                               concurrency=concurrency, listeners=listeners)
    return handle.finish()


def current_definition(source: str | None, definition: Any) -> tuple[Any, str | None]:
    """The definition to resume or recover with: the one given, else ``source`` loaded anew.

    The definition is ``None`` when neither is there, or when ``source`` names a file that
    is gone (a journal from another machine, a file moved since): the stored one, with
    its callables by reference, is then used.
    """
    if definition is not None or not source:
        return definition, source
    from jobweave.loader.target import load_target, missing_file

    gone = missing_file(source)
    if gone is not None:
        log.info("%s is gone: using the stored definition", gone)
        return None, source
    return load_target(source)


CHILD_POLL = 0.2  # seconds between looks at a graph run's cancel flag while a child runs


def run_child(target: str, child: str, store: str, context: Context,
              input: Any = None) -> dict[str, Any]:
    """A graph's ``run_job`` firing: run ``target`` as the child run ``RUN.FIRING`` in
    ``store`` (resuming it when an earlier attempt started it) and return its token."""
    from jobweave.loader.target import load_target

    run_id = f"{context.run_id}.{child[:12]}"
    engine = _engine(store)
    try:
        record = engine.store.get_run(run_id, counts=False)
    except RunNotFoundError:
        record = None
    if record is not None and record.status in ("completed", "failed", "cancelled"):
        result = engine.result(run_id)
    else:
        if record is None:
            definition, source = load_target(target)
            plan = engine.plan(definition, source=source, input=input)
            engine.create(plan, run_id=run_id, source=source)
            handle = engine.start(run_id, plan)
        else:
            handle = engine.resume(run_id)
        while True:
            try:
                result = handle.wait(timeout=CHILD_POLL)
                break
            except TimeoutError:
                if context.cancelled:
                    handle.cancel()
    error = next((j.error for j in result.jobs if j.error), None)
    return {"name": result.name, "run": run_id, "status": result.status,
            "outputs": {j.name: j.output for j in result.jobs}, "error": error}
