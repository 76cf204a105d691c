"""Engine: compile, store, and run definitions; hand back handles and results."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from jobweave.components import groups
from jobweave.engine.aftercrash import AfterCrashRuntime
from jobweave.engine.bulk import gc_paused
from jobweave.engine.replay import (
    EXECUTE,
    REPLAY,
    RERUN,
    RUN,
    JournalView,
    RecoveryPlan,
    plan_recovery,
    view_journal,
)
from jobweave.engine.result import JobResult, RunResult
from jobweave.engine.resume import Prior, diff_definitions, prior_state
from jobweave.engine.runtime import Runtime
from jobweave.errors import (
    DefinitionChanged,
    DefinitionError,
    JournalMismatch,
    RunNotFoundError,
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
from jobweave.store.export import read_file


def new_run_id(now: float | None = None) -> str:
    """A readable, time-sortable run id: ``20261125-162300-3fa9c1``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


class RunHandle:
    """A run executing on a background thread of this process."""

    def __init__(self, run_id: str, runtime: Runtime) -> None:
        self.run_id = run_id
        self._thread = threading.Thread(name=f"jobweave-run-{run_id}", daemon=True)
        self._runtime = runtime
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until every job has stopped; return the result.

        Raises :class:`TimeoutError` if ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            # short joins keep the caller responsive to Ctrl-C
            left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"run {self.run_id} still running after {timeout}s")
            self._thread.join(left)
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def finish(self) -> RunResult:
        """Wait for the run; on Ctrl-C cancel it cleanly, wait for that, and re-raise."""
        try:
            return self.wait()
        except KeyboardInterrupt:
            self.cancel()
            self.wait()
            raise

    def cancel(self, by: str | None = None) -> None:
        """Stop starting jobs and ask running ones to stop; ``wait`` returns soon after.
        ``by`` (who asked) is journaled with the request."""
        self._runtime.cancel(by)

    def pause(self, by: str | None = None) -> None:
        """Start no new jobs; ``wait`` returns a ``paused`` result once running ones end.
        ``by`` (who asked) is journaled with the request."""
        self._runtime.pause(by)

    def _start(self, body: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=body, name=self._thread.name, daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        """What stopped the run, once it stopped on an error (``RunOwnedError``: another
        process took it over)."""
        return None if self._thread.is_alive() else self._error


class Engine:
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
    ) -> tuple[str, Plan]:
        """Validate, compile and store a run (status ``pending``) without starting it."""
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
            jobs=[(n.index, n.name, n.kind, n.tags) for n in plan.jobs], encoded=plan.encoded,
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
        replay: tuple[list[Any], frozenset[str]] | None = None,
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
        ``replay`` (a graph's recovery) is the recovered journal's firings and the nodes
        whose firings run again.
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
                extra.update(fired=replay[0], rerun=replay[1], copy=True)
            elif prior is not None:
                extra["fired"] = self.store.firings(run_id)
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
    ) -> RunHandle:
        """Continue a run that stopped: completed jobs are kept, the rest run again.

        ``definition`` is the current definition (by default the stored one, loaded by
        reference). If it differs from the run's, :class:`DefinitionChanged` is raised
        unless ``accept_changes``; then unchanged completed jobs are kept and changed or
        new ones run. ``by`` (who asked) and ``why`` are journaled in the new
        execution's ``run_started`` record.
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
                jobs=[(n.index, n.name, n.kind, n.tags) for n in plan.jobs], keep=keep)
        if concurrency is None:
            concurrency = record.options.get("concurrency")
        # one transaction claims the run and counts the attempts a dead owner left
        # running: of resumers racing for it, one wins and the others get RunOwnedError;
        # what the winner reads next no earlier owner can change any more
        claimed, crashed = self.store.take_over(run_id, owner_id(), by=by, why=why)
        try:
            prior = prior_state(self.store, run_id, plan)
            return self.start(run_id, plan, concurrency=concurrency, listeners=listeners,
                              prior=prior, after_crash=crashed, claimed=claimed)
        except Exception as exc:  # leave it resumable rather than owned by nobody alive
            self.store.fail_run(run_id, claimed.epoch, f"resume failed: {exc}")
            raise

    @gc_paused()
    def journal_view(self, source: str) -> JournalView:
        """A journal to recover from: an exported JSONL file, or a run id in this store."""
        if os.path.isfile(source):
            found = read_file(source)
            return view_journal(found.records, found.dropped)
        return view_journal(self.store.journal(source))

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

    @gc_paused()
    def recovery_plan(self, journal: JournalView, definition: Any = None, *,
                      source: str | None = None, changed: Sequence[str] = (),
                      force: bool = False) -> tuple[Plan, RecoveryPlan]:
        """Decide what recovering ``journal`` would replay and run, without running."""
        if definition is None:
            plan = plan_from_definition(journal.definition, journal.source,
                                        digest=journal.digest)
        else:
            plan = self.plan(definition, name=journal.definition.get("name"),
                             source=source or journal.source)
        if plan.digest != journal.digest and not (force or changed):
            diff = diff_definitions(journal.definition, plan.definition)
            raise JournalMismatch(
                f"the journal of run {journal.run_id} was written by a different definition "
                f"({len(diff.added)} added, {len(diff.removed)} removed, "
                f"{len(diff.changed)} changed); say what changed with --changed, "
                "or --force to replay it anyway")
        return plan, plan_recovery(plan, journal, changed, force=force)

    @gc_paused()
    def recover(self, journal: JournalView, definition: Any = None, *,
                source: str | None = None, changed: Sequence[str] = (), force: bool = False,
                concurrency: int | None = None,
                listeners: Sequence[Listener] = ()) -> tuple[RecoveryPlan, RunHandle]:
        """Replay a journal as a new run: recorded completions are reused, the rest runs.

        Raises ``RunOwnedError`` when the journal's run is in this store and a live
        process is still running it: its unfinished jobs would run twice.
        """
        plan, decisions = self.recovery_plan(journal, definition, source=source,
                                             changed=changed, force=force)
        self._refuse_live(journal.run_id)
        groups.reap(journal.run_id)  # what the journal's run left running on this host
        if concurrency is None:
            concurrency = plan.concurrency
        if plan.graph is not None:
            return decisions, self._recover_graph(journal, plan, decisions, concurrency,
                                                  listeners)
        index = {n.name: n.index for n in plan.nodes}
        prior: dict[int, Prior] = {}
        replayed: dict[int, tuple[int, str, float | None, float | None]] = {}
        recovered: dict[int, Any] = {}
        for d in decisions.decisions:
            rec = journal.completed.get(d.name)
            if rec is None:
                continue
            i = index[d.name]
            if d.action == REPLAY:
                out = rec.output
                # plain numbers need no encoder: a replay of 100,000 jobs feels it
                text = str(out) if type(out) is int else json.dumps(out)
                replayed[i] = (rec.attempt, text, rec.started, rec.finished)
                prior[i] = Prior("completed", rec.attempt, text, None, rec.started,
                                 rec.finished, out)
            elif d.action == EXECUTE:
                recovered[i] = rec.output
        run_id = self._recovery_run(journal, plan, concurrency, replayed=replayed,
                                    replayed_from=journal.run_id, encoded=plan.encoded)
        handle = self.start(run_id, plan, concurrency=concurrency, listeners=listeners,
                            prior=prior, recovered=recovered)
        return decisions, handle

    def _recover_graph(self, journal: JournalView, plan: Plan, decisions: RecoveryPlan,
                       concurrency: int | None, listeners: Sequence[Listener]) -> RunHandle:
        """A graph's recovery: the new run replays the journal's firings (journaling
        them as its own), except those of the nodes that run again; what follows
        from those fires anew."""
        again = frozenset(d.name for d in decisions.decisions if d.action == EXECUTE or (
            d.action in (RERUN, RUN) and not d.reason.startswith("downstream of")))
        run_id = self._recovery_run(journal, plan, concurrency)
        return self.start(run_id, plan, concurrency=concurrency, listeners=listeners,
                          replay=(journal.fired, again))

    def _recovery_run(self, journal: JournalView, plan: Plan, concurrency: int | None,
                      **extra: Any) -> str:
        """Store the new run a recovery makes, linked to the journal's run."""
        run_id = new_run_id()
        options = {"executor": self.settings.executor, "workers": self.settings.workers,
                   "concurrency": concurrency, "recovered_from": journal.run_id}
        self.store.create_run(
            run_id=run_id, name=plan.name, kind=plan.kind, source=plan.source,
            definition=plan.definition, digest=plan.digest, options=options,
            jobs=[(n.index, n.name, n.kind, n.tags) for n in plan.jobs],
            parent_run=journal.run_id, **extra)
        return run_id

    def _refuse_live(self, run_id: str) -> None:
        try:
            record = self.store.get_run(run_id, counts=False)
        except RunNotFoundError:
            return  # a journal from another store
        if record.status == "running" and record.owner:
            raise RunOwnedError(run_id, record.owner)

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
