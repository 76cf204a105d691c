"""Engine: compile, store, and run definitions; hand back handles and results."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from jobweave.components import groups
from jobweave.engine.aftercrash import AfterCrashRuntime
from jobweave.engine.bulk import gc_paused
from jobweave.engine.handle import RunHandle, new_run_id
from jobweave.engine.recovery import Recovery
from jobweave.engine.replay import JournalView
from jobweave.engine.result import JobResult, RunResult
from jobweave.engine.resume import Prior, diff_definitions, prior_state
from jobweave.engine.runtime import Runtime
from jobweave.errors import (
    DefinitionChanged,
    DefinitionError,
    RunOwnedError,
    RunStateError,
)
from jobweave.events import Listener
from jobweave.executors import make_executor
from jobweave.plan import Plan, compile_plan, plan_from_definition
from jobweave.secrets import load_secrets
from jobweave.settings import EXECUTORS, Settings
from jobweave.store import SqlStore, owner_id, store_for_settings
from jobweave.store.base import Claim

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from jobweave.engine.graph_replay import Recovered


class Engine(Recovery):
    """Runs definitions against one store with one set of settings."""

    def __init__(self, settings: Settings | None = None, *, store: SqlStore | None = None) -> None:
        self.settings = settings or Settings()
        if self.settings.executor not in EXECUTORS:
            raise DefinitionError(f"unknown executor {self.settings.executor!r}; "
                                  f"choose one of {', '.join(EXECUTORS)}", field="executor")
        self.store = store or store_for_settings(self.settings)

    @gc_paused()
    def plan(self, definition: Any, *, name: str | None = None,
             source: str | None = None, recorded: dict[str, Any] | None = None,
             input: Any = None) -> Plan:
        """Validate and compile a definition without storing anything.

        ``recorded`` is the stored definition of a run being resumed (a flow reuses the
        element lists it recorded).
        """
        if isinstance(definition, Plan):
            return definition
        return compile_plan(definition, name=name, source=source, recorded=recorded,
                            input=input)

    @gc_paused()
    def create(
        self,
        definition: Any,
        *,
        name: str | None = None,
        source: str | None = None,
        concurrency: int | None = None,
        run_id: str | None = None,
        first: Callable[[Connection], None] | None = None,
        also: Sequence[str] = (),
    ) -> tuple[str, Plan]:
        """Validate, compile and store a run (status ``pending``) without starting it.

        ``first`` runs in the transaction that stores the run, before it; ``also`` names
        more runs of the same plan stored in that transaction (see
        ``SqlStore.create_run``)."""
        plan = self.plan(definition, name=name, source=source)
        if concurrency is None:
            concurrency = plan.concurrency
        _check_concurrency(concurrency)
        self._check_executor(plan)
        if plan.graph is not None:  # a bad secrets file is refused before anything is stored
            load_secrets(self.settings.secrets_file)
        run_id = run_id or new_run_id()
        options = {"executor": self.settings.executor, "workers": self.settings.workers,
                   "concurrency": concurrency}
        self.store.create_run(
            run_id=run_id, name=plan.name, kind=plan.kind, source=plan.source,
            definition=plan.definition, digest=plan.digest, options=options,
            jobs=plan.stored_jobs(), encoded=plan.encoded, first=first, also=also,
        )
        return run_id, plan

    def submit(
        self,
        definition: Any,
        *,
        name: str | None = None,
        source: str | None = None,
        concurrency: int | None = None,
        listeners: Sequence[Listener] = (),
    ) -> RunHandle:
        """Store the run, start it on a background thread, and return its handle."""
        run_id, plan = self.create(definition, name=name, source=source,
                                   concurrency=concurrency)
        if concurrency is None:
            concurrency = plan.concurrency
        return self.start(run_id, plan, concurrency=concurrency, listeners=listeners)

    def run(self, definition: Any, **options: Any) -> RunResult:
        """Submit and wait: return when every job has stopped."""
        return self.submit(definition, **options).finish()

    @gc_paused()
    def start(
        self,
        run_id: str,
        plan: Plan | None = None,
        *,
        concurrency: int | None = None,
        listeners: Sequence[Listener] = (),
        prior: dict[int, Prior] | None = None,
        recovered: dict[int, Any] | None = None,
        after_crash: bool = False,
        replay: Recovered | None = None,
        claimed: Claim | None = None,
        by: str | None = None,
        why: str | None = None,
    ) -> RunHandle:
        """Claim a stored run (unless the caller ``claimed`` it) and execute it on a
        background thread.

        ``by`` and ``why``: who asked for this execution, and what they asked (``resume``,
        ``retry-failed``, ``fire-now``), journaled in its ``run_started`` record.

        ``after_crash`` (a resume of a run whose owner died) runs it with
        :class:`AfterCrashRuntime`, which makes a job that kills its process count.
        ``replay`` (a graph's recovery) is the recovered journal's firings, the nodes
        whose firings run again, its run and when its executions started.
        """
        if plan is None:
            plan = self.load_plan(run_id)
        self._check_executor(plan)
        owner = owner_id()
        next_seq, epoch = (self.store.claim(run_id, owner, by=by, why=why) if claimed is None
                           else claimed)
        # no job may run beside an attempt that an earlier owner on this host left
        groups.reap(run_id)
        executor = make_executor(self.settings.executor, self._workers(concurrency),
                                 self.settings)
        limit = concurrency or executor.size
        stop = threading.Event()
        extra: dict[str, Any] = {}
        kind: type[Runtime]
        if plan.graph is not None:  # a graph's firings replay from its journal
            from jobweave.engine.graph import GraphRuntime

            kind = GraphRuntime
            extra["secrets"] = load_secrets(self.settings.secrets_file)
            if replay is not None:
                extra["recovery"] = replay
            elif prior is not None:
                extra["fired"] = self.store.firings(run_id)
                extra["starts"] = self.store.execution_starts(run_id)
        elif self.settings.executor == "celery":
            # jobs run on workers, not in this process: what an earlier owner left running
            # is adopted from the attempts table, and a lost worker is the executor's to tell
            kind = Runtime
        elif after_crash or any(p.lost for p in (prior or {}).values()):
            kind = AfterCrashRuntime
        else:
            kind = Runtime
        runtime = kind(plan, self.store, run_id, executor, concurrency=limit, owner=owner,
                       next_seq=next_seq, epoch=epoch, stop=stop, listeners=listeners,
                       prior=prior, recovered=recovered, **extra)
        handle = RunHandle(run_id, runtime)

        def body() -> None:
            try:
                handle._result = runtime.run()
            except BaseException as exc:  # handed to the waiter, never lost on a thread
                handle._error = exc
            finally:
                # an attempt abandoned after a timeout or cancel dies with its run (but a
                # run taken over by another process leaves that process's jobs alone)
                groups.stop_run(run_id, sweep=handle._error is None)

        handle._start(body)
        return handle

    @gc_paused()
    def resume(
        self,
        run_id: str,
        definition: Any = None,
        *,
        source: str | None = None,
        accept_changes: bool = False,
        concurrency: int | None = None,
        listeners: Sequence[Listener] = (),
        by: str | None = None,
        why: str = "resume",
        expect: str | None = None,
    ) -> RunHandle:
        """Continue a run that stopped: completed jobs are kept, the rest run again.

        ``definition`` is the current definition (by default the stored one, loaded by
        reference). If it differs from the run's, :class:`DefinitionChanged` is raised
        unless ``accept_changes``; then unchanged completed jobs are kept and changed or
        new ones run. ``by`` (who asked) and ``why`` are journaled in the new
        execution's ``run_started`` record; ``expect``: see :meth:`SqlStore.take_over`.
        """
        record = self.store.get_run(run_id, counts=False)
        if record.status == "completed":
            raise RunStateError(f"run {run_id} already completed; nothing to resume",
                                run_id=run_id)
        if record.status == "running":
            raise RunOwnedError(run_id, record.owner or "another process")
        stored = self.store.submitted(run_id)
        if definition is None:
            plan = plan_from_definition(stored["definition"], stored.get("source"),
                                        digest=stored["digest"])
        else:
            plan = self.plan(definition, name=record.name, source=source or record.source,
                             recorded=stored["definition"])
        if plan.digest != record.digest:
            diff = diff_definitions(stored["definition"], plan.definition)
            if not accept_changes:
                raise DefinitionChanged(run_id, diff.added, diff.removed, diff.changed)
            index = {n.name: n.index for n in plan.nodes}
            keep = {name: index[name] for name in diff.unchanged}
            self.store.redefine(
                run_id, definition=plan.definition, digest=plan.digest, source=plan.source,
                jobs=plan.stored_jobs(), keep=keep)
        if concurrency is None:
            concurrency = record.options.get("concurrency")
        # one transaction claims the run and counts the attempts a dead owner left
        # running: of resumers racing for it, one wins and the others get RunOwnedError;
        # what the winner reads next no earlier owner can change any more
        claimed, crashed = self.store.take_over(run_id, owner_id(), by=by, why=why,
                                                expect=expect)
        try:
            prior = prior_state(self.store, run_id, plan)
            return self.start(run_id, plan, concurrency=concurrency, listeners=listeners,
                              prior=prior, after_crash=crashed, claimed=claimed)
        except Exception as exc:  # leave it resumable rather than owned by nobody alive
            self.store.fail_run(run_id, claimed.epoch, f"resume failed: {exc}")
            raise

    def for_journal(self, journal: JournalView, *, executor: str | None = None,
                    workers: int | None = None) -> Engine:
        """An engine on the same store that runs jobs as the journal's run did.

        The executor and workers recorded with the run are used unless given here.
        """
        if executor is None:
            executor = journal.options.get("executor")
            workers = workers if workers is not None else journal.options.get("workers")
        settings = self.settings.with_(executor=executor, workers=workers)
        return self if settings == self.settings else Engine(settings, store=self.store)

    def pause(self, run_id: str, *, by: str | None = None) -> str:
        """Ask a stored run to pause, from any process; return its status now.

        The owner of a running run reads the request with its heartbeat (within about a
        second), starts no new jobs, lets running ones finish and records it ``paused``.
        A run submitted moments ago keeps the request for the worker about to claim it;
        a run no live process owns (a crashed one) is paused at once. Raises
        ``RunStateError`` for a run that already finished. ``by`` (who asks) is
        journaled with the request.
        """
        return self.store.request_pause(run_id, by=by).status

    def cancel(self, run_id: str, *, by: str | None = None) -> str:
        """Ask a stored run to stop, from any process; return its status now.

        Its owner cancels it within about a second (a run submitted moments ago, as soon
        as its worker claims it); a run no live process owns is recorded ``cancelled`` at
        once. Raises ``RunStateError`` for a run that already finished. ``by`` (who
        asks) is journaled with the request.
        """
        return self.store.request_cancel(run_id, by=by).status

    def result(self, run_id: str) -> RunResult:
        """A stored run's result as the store has it (for runs of other processes)."""
        record = self.store.get_run(run_id, counts=False)
        jobs = tuple(JobResult(j.name, j.status, j.output, j.error, j.attempts, j.started_at,
                               j.finished_at, j.tags) for j in self.store.get_jobs(run_id))
        return RunResult(run_id, record.name, record.status, jobs,
                         record.started_at or record.created_at,
                         record.finished_at or record.heartbeat_at or record.created_at)

    @gc_paused()
    def load_plan(self, run_id: str) -> Plan:
        """Rebuild a stored run's plan from its definition (callables by reference)."""
        data = self.store.submitted(run_id)
        return plan_from_definition(data["definition"], data.get("source"),
                                    digest=data["digest"])

    def _check_executor(self, plan: Plan) -> None:
        """Refuse executor settings that cannot work, before anything runs."""
        if self.settings.executor == "celery":
            from jobweave.executors.celery_app import validate

            timeouts = [n.timeout for n in plan.nodes if n.timeout is not None]
            validate(self.settings, max(timeouts) if timeouts else None)
        elif self.settings.executor == "processes":
            from jobweave.executors.main_guard import unguarded_start

            where = unguarded_start()
            if where is not None:
                raise DefinitionError(
                    f"{where}: a run with executor='processes' is started at the script's "
                    "top level, which every worker process runs again: start it under "
                    "if __name__ == '__main__':", field="executor")

    def _workers(self, concurrency: int | None) -> int | None:
        workers = self.settings.workers
        if concurrency and self.settings.executor == "threads":
            return max(workers or 0, concurrency)
        return workers


def _check_concurrency(concurrency: int | None) -> None:
    if concurrency is not None and (isinstance(concurrency, bool)
                                    or not isinstance(concurrency, int) or concurrency < 1):
        raise DefinitionError(f"concurrency must be a whole number >= 1, got {concurrency!r}",
                              field="concurrency")
