"""Facade functions over one Engine: ``jobweave.run(definition)`` and friends."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from jobweave.engine import Engine, RunHandle, RunResult
from jobweave.engine.replay import RecoveryPlan
from jobweave.events import Listener
from jobweave.model.batch import Batch, batch
from jobweave.model.schedule import Schedule as _ScheduleData
from jobweave.model.triggers import check_triggers
from jobweave.settings import Settings
from jobweave.triggers import Trigger

log = logging.getLogger("jobweave")


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
) -> RunHandle:
    """Store a run and start it in the background; return its handle at once."""
    return _engine(store, executor, workers).submit(
        definition, name=name, concurrency=concurrency, listeners=listeners)


def run(
    definition: Any,
    *,
    store: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
    concurrency: int | None = None,
    name: str | None = None,
    listeners: Sequence[Listener] = (),
) -> RunResult:
    """Submit and wait: return when every job has stopped (``result.exit_code``)."""
    return _engine(store, executor, workers).run(
        definition, name=name, concurrency=concurrency, listeners=listeners)


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
    engine = _engine(store)
    source = None
    if definition is None:
        definition, source = _reload(engine, run_id)
    handle = engine.resume(run_id, definition, source=source, accept_changes=accept_changes,
                           concurrency=concurrency, listeners=listeners)
    return handle.finish()


def pause(run_id: str, *, store: str | None = None) -> str:
    """Ask a run to pause (see :meth:`Engine.pause`); ``resume`` continues it."""
    return _engine(store).pause(run_id)


def cancel(run_id: str, *, store: str | None = None) -> str:
    """Ask a run to stop (see :meth:`Engine.cancel`); its jobs end ``cancelled``."""
    return _engine(store).cancel(run_id)


def _reload(engine: Engine, run_id: str) -> tuple[Any, str | None]:
    """The definition a run came from, loaded from its source again (None if it has none)."""
    return current_definition(engine.store.get_run(run_id, counts=False).source, None)


class Schedule(_ScheduleData):
    """A schedule that remembers its run: ``submit()`` again resumes where it stopped."""

    __slots__ = ("_run_id",)

    def submit(
        self,
        *,
        store: str | None = None,
        executor: str | None = None,
        concurrency: int | None = None,
        accept_changes: bool = False,
        listeners: Sequence[Listener] = (),
    ) -> RunResult:
        """Run the schedule, or resume its unfinished run, and wait for it.

        The run is found by this object's memory of it, or else as the newest run of the
        same name and definition in the store that did not complete.
        """
        engine = _engine(store, executor)
        plan = engine.plan(self)
        run_id = getattr(self, "_run_id", None) or engine.store.find_resumable(
            plan.name, plan.digest)
        if run_id is not None:
            status = engine.store.get_run(run_id, counts=False).status
            if status == "completed":
                return engine.result(run_id)
            handle = engine.resume(run_id, plan, accept_changes=accept_changes,
                                   concurrency=concurrency, listeners=listeners)
        else:
            handle = engine.submit(plan, concurrency=concurrency, listeners=listeners)
        object.__setattr__(self, "_run_id", handle.run_id)
        return handle.finish()

    @property
    def run_id(self) -> str | None:
        """The run this schedule last submitted, if any."""
        return getattr(self, "_run_id", None)


def schedule(items: Iterable[Any], *, name: str | None = None,
             concurrency: int | None = None, triggers: Iterable[Trigger] = ()) -> Schedule:
    """An ordered schedule of batches; a plain list or a job becomes a batch of its own.

    ``triggers`` (``jw.cron``, ``jw.every``, ``jw.at``) say when ``jobweave serve`` starts it.
    """
    batches = tuple(item if isinstance(item, Batch) else batch(item) for item in items)
    return Schedule(batches, name, concurrency, check_triggers(triggers, name or "schedule"))


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
