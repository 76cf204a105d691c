"""The run loop: ready set → dispatch → outcomes → commit → release downstream.

Run state is touched only by the thread holding the run's lock: the loop holds it except
while it waits for outcomes. Executors deliver outcomes from their threads; when the loop
is waiting and the job was the only one running, the delivering thread takes the lock and
handles its outcome itself (see ``Delivery._deliver`` in ``delivery.py``), so a chain of
jobs needs no thread hand-off per link; otherwise the outcome goes into ``inbox`` and the
loop drains it in batches, so one transaction commits every completion that is ready at
once. A completion is committed before it releases downstream jobs or is reported.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Sequence
from queue import Empty, SimpleQueue
from typing import Any

from jobweave.context import Context
from jobweave.engine.abort import abort
from jobweave.engine.bulk import gc_paused
from jobweave.engine.conditions import condition_of
from jobweave.engine.control import RunControl
from jobweave.engine.delivery import Delivery
from jobweave.engine.pending import GROUP_ROWS
from jobweave.engine.result import RunResult
from jobweave.engine.resume import NOT_DECODED, Prior
from jobweave.engine.state import COMPLETED, FAULTED, PENDING, RUNNING, SKIPPED
from jobweave.engine.targets import Targets
from jobweave.engine.timers import TIMEOUT, Timers
from jobweave.errors import JobweaveError
from jobweave.events import JobFinished, JobStarted, Listener, RunFinished, RunStarted
from jobweave.executors.base import Executor, Outcome, Task
from jobweave.plan.nodes import Plan, PlanNode
from jobweave.store.base import HAND_OFF
from jobweave.store.sql import SqlStore


class Runtime(Delivery, RunControl):
    """Executes one plan for one run; :meth:`run` returns when every job is final."""

    def __init__(
        self,
        plan: Plan,
        store: SqlStore,
        run_id: str,
        executor: Executor,
        *,
        concurrency: int,
        owner: str,
        next_seq: int,
        epoch: int = 0,
        stop: threading.Event,
        listeners: Sequence[Listener] = (),
        prior: dict[int, Prior] | None = None,
        recovered: dict[int, Any] | None = None,
    ) -> None:
        super().__init__(plan, store, run_id, next_seq=next_seq, listeners=listeners)
        self.executor = executor
        self.concurrency = max(1, concurrency)
        self.owner = owner
        self.epoch = epoch
        self.stop = stop
        self.inbox: SimpleQueue[Outcome | None] = SimpleQueue()
        n = len(plan.nodes)
        self.waiting = [len(node.deps) for node in plan.nodes]
        self.blocked = [False] * n
        self.down: list[list[int]] = [[] for _ in range(n)]
        for node in plan.nodes:
            for d in node.deps:
                self.down[d].append(node.index)
        self.ready: deque[int] = deque()
        self.inflight: dict[int, Task] = {}
        self.timers = Timers()
        self.execution = next_seq - 1
        """The sequence number of this execution's ``run_started`` record: unique per run."""
        self.to_release: list[int] = []
        self.cancelling = False
        self.pausing = False
        self._pause_requested = False
        self._hand_off: bool | None = None
        """Whether a pause leaves the run for any serving engine (None: no pause asked)."""
        self._asked_by: dict[str, str | None] = {}
        """Who asked this execution to cancel or pause (by request), for the journal."""
        self.cancel_deadline = 0.0
        self.targets = Targets(n)
        self.lost_attempts: dict[int, int] = {}
        """Attempts of each job whose worker was lost (remote executors), by index."""
        self._prior = prior or {}
        self._recovered = recovered or {}
        """Jobs invoked although the recovered journal holds their outputs (by index)."""
        self._lock = threading.Lock()
        """Held by whichever thread touches run state: the loop, or a delivering worker."""
        self._wake_at = 0.0
        """When the waiting loop wakes by itself (monotonic): a delivering thread that
        leaves earlier work (a commit window, a timer) wakes it sooner."""
        self._closed = False
        self._failure: BaseException | None = None
        """What a delivering thread raised; the loop raises it."""
        self._stale_after = store.lease_seconds / 2
        """A lease not renewed for this long may be lost (this process was frozen or cut
        off): no job starts until a heartbeat says it is still ours."""
        self._group_busy = plan.graph is None
        """Whether completions wait for company while every slot is busy (not a graph's)."""

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> RunResult:
        started = time.time()
        self.writer = self.store.writer(self.run_id, self.epoch)
        try:
            self.executor.start(self._deliver)
        except BaseException:
            self.writer.close()  # and with it, this process's checkpoints of its store
            raise
        try:
            try:
                self._seed()
                self._emit(self._started_event())
                self._locked_loop()
            except Exception:
                self._stop_inflight()  # a lost lease, a failed store, or a bug of ours
                raise
            finally:
                self.executor.shutdown()
                self.writer.close()
            return self._finish(started)
        except Exception as exc:
            raise abort(self.store, self.run_id, self.epoch, exc) from None

    def _started_event(self) -> RunStarted:
        return RunStarted(self.run_id, self.plan.name, self.plan.job_count,
                          sum(1 for i, s in enumerate(self.status)
                              if s == COMPLETED and not self.barrier[i]))

    def _loop(self) -> None:
        get, get_nowait = self.inbox.get, self.inbox.get_nowait
        every = self.store.heartbeat_seconds
        next_beat = time.monotonic() + every
        while self.remaining and not (self.pausing and not self.inflight):
            if self.stop.is_set() and not self.cancelling:
                self._begin_cancel()
            if self._pause_requested and not self.pausing:
                self.pausing = True
                self._row(time.time(), "pausing", None, None, self._by("pause"))
            self._dispatch()
            now = time.monotonic()
            wait = next_beat - now
            if self.timers:
                wait = min(wait, self.timers.next_at - now)
            if self.cancelling:
                wait = min(wait, self.cancel_deadline - now)
            pending = self.pending
            if pending.rows and (not self.inflight or (pending.urgent and self._starved())):
                wait = 0.0
            elif pending.waiting:
                wait = min(wait, pending.next_at() - now)
            outcomes: list[Outcome | None] = []
            self._wake_at = now + wait if wait > 0 else now
            self._lock.release()  # while the loop waits, a delivering worker may step in
            try:
                outcomes.append(get(timeout=wait) if wait > 0 else get_nowait())
                while True:
                    outcomes.append(get_nowait())
            except Empty:
                pass
            finally:
                self._lock.acquire()
            if self._failure is not None:
                raise self._failure
            if self._stale():  # woken after a freeze: is the run still ours?
                self._beat()
                next_beat = time.monotonic() + every
            for o in outcomes:
                if o is not None:
                    self._on_outcome(o)
                    if len(pending.rows) >= GROUP_ROWS:  # bounds what a crash can lose
                        self._commit()
                        self._release()
            now = time.monotonic()
            if self.timers and self.timers.next_at <= now:
                self._fire_timers(now)
            if self.cancelling and now >= self.cancel_deadline:
                self._expire_inflight()
            self._dispatch()  # freed slots start new work before we commit
            if pending.due(now, idle=not self.inflight, hurry=self._starved()):
                self._commit()
                self._release()
            if now >= next_beat:
                next_beat = now + every
                self._beat()

    def _locked_loop(self) -> None:
        with self._lock:
            try:
                self._loop()
            finally:
                self._closed = True  # outcomes delivered from now on wait in the inbox

    def _starved(self) -> bool:
        """Whether a job made ready now could start at once (a slot is free after the
        ready jobs took theirs): only then is a completion a dependent waits for worth a
        commit of its own. With every slot busy the dependent would only queue, so the
        completion shares the commit of the group (at most ``GROUP_WINDOW`` or
        ``GROUP_ROWS`` later): many lanes of short jobs then commit in groups rather than
        once per pass. A graph's firings keep committing at once."""
        return (self._group_busy is False or len(self.inflight) < self.concurrency
                or self.cancelling or self.pausing)

    # -- starting jobs ----------------------------------------------------------------
    @gc_paused()
    def _seed(self) -> None:
        for i, p in self._prior.items():
            if p.status == COMPLETED:
                self.status[i] = COMPLETED
                self.attempts[i] = p.attempts
                text = p.output_text
                # decoded when a binding or the result needs it, not before the first job
                self.outputs[i] = p.output if text is not None else None
                self.output_json[i] = text
                self.started[i], self.finished[i] = p.started_at, p.finished_at
                self.remaining -= 1
                self.to_release.append(i)
            else:
                self.attempts[i] = self.base_attempts[i] = p.attempts
        self._release(emit=False)  # finished before this execution: nothing to announce
        for node in self.nodes:
            if self.status[node.index] == PENDING and not node.deps:
                self.ready.append(node.index)

    def _dispatch(self) -> None:
        ready, inflight = self.ready, self.inflight
        if self.cancelling or self.pausing:
            return
        while ready and len(inflight) < self.concurrency:
            i = ready.popleft()
            if self.status[i] != PENDING:
                continue
            self._start(i)

    def _start(self, i: int) -> None:
        node = self.nodes[i]
        if node.when is not None and not self._condition(i, node):
            return
        attempt = self.attempts[i] + 1
        self.attempts[i] = attempt
        target = self.targets.ready[i]
        if target is None:
            try:
                target = self.targets.task_target(node)
            except JobweaveError as exc:
                # e.g. a resumed run whose stored reference no longer imports: the job
                # faults, the run goes on and says why
                now = time.time()
                self.started[i] = now
                self._failed(i, attempt, f"cannot load the job's target: {exc}", now)
                return
        kwargs = self._arguments(node) if node.bindings or node.kind != "python" \
            else dict(node.params)
        if self._recovered and i in self._recovered:
            ctx = Context(self.run_id, node.name, attempt, tags=node.tags, recovered=True,
                          previous_outputs=self._recovered[i], execution=self.execution)
        else:
            ctx = Context(self.run_id, node.name, attempt, tags=node.tags,
                          execution=self.execution)
        if node.scope >= 0:
            ctx.in_flow(self.plan.scopes[node.scope], node.element)
        task = Task(i, attempt, target[0], target[1], kwargs, ctx, target[2])
        if node.queue is not None:
            task.queue = node.queue
        self.inflight[i] = task
        self.status[i] = RUNNING
        self.started[i] = time.time()
        monotonic = time.monotonic()
        if node.timeout is not None:
            self.timers.add(monotonic + node.timeout, TIMEOUT, i, attempt)
        pending = self.pending
        pending.young[i] = monotonic  # journaled only if it still runs START_AFTER from now
        pending.dirty[i] = None
        if self.listeners:
            self._emit(JobStarted(self.run_id, node.name, attempt))
        self.executor.submit(task)

    def _condition(self, i: int, node: PlanNode) -> bool:
        """Whether the job's ``when`` holds; if not it is settled ``skipped`` here (its
        dependents go on), and a condition that fails faults the job."""
        ctx = Context(self.run_id, node.name, self.attempts[i] + 1, tags=node.tags,
                      execution=self.execution)
        if node.scope >= 0:
            ctx.in_flow(self.plan.scopes[node.scope], node.element)
        try:
            holds = bool(condition_of(node)(ctx))
        except Exception as exc:
            self.attempts[i] += 1
            self.started[i] = now = time.time()
            self._final(i, FAULTED, f"its when= condition failed: {exc}", now)
            return False
        if not holds:
            self.passes[i] = True
            self._final(i, SKIPPED, "its when= condition is false", time.time())
        return holds

    def _arguments(self, node: PlanNode) -> dict[str, Any]:
        """The job's keyword arguments: its parameters, with bound outputs filled in."""
        kwargs = dict(node.params)
        outputs = self.outputs
        for b in node.bindings:
            if b.many:
                values = [outputs[s] for s in b.sources]
                if NOT_DECODED in values:
                    values = [self._output(s) for s in b.sources]
                kwargs[b.param] = values
            else:
                value = outputs[b.sources[0]]
                kwargs[b.param] = self._output(b.sources[0]) if value is NOT_DECODED else value
        if node.kind == "shell":
            kwargs["command"] = node.target
        return kwargs

    # -- release ---------------------------------------------------------------------
    def _release(self, emit: bool = True) -> None:
        """Hand committed completions to listeners and downstream jobs."""
        if not self.to_release:
            return
        released, self.to_release = self.to_release, []
        emit = emit and bool(self.listeners)
        stack = list(released)
        while stack:
            i = stack.pop()
            state = self.status[i]
            if emit and not self.barrier[i]:
                self._emit(JobFinished(self.run_id, self.nodes[i].name, state, self.attempts[i],
                                       self.errors[i], False))
            for d in self.down[i]:
                if state != COMPLETED and not self.passes[i]:
                    self.blocked[d] = True
                self.waiting[d] -= 1
                if self.waiting[d] == 0 and self.status[d] == PENDING:
                    if self.blocked[d] and not self.nodes[d].run_anyway:
                        self._final(d, SKIPPED, "an upstream job did not complete",
                                    time.time())
                        self.to_release.remove(d)
                        stack.append(d)
                    elif self.barrier[d]:
                        # a batch boundary passes as soon as its batch is settled and
                        # committed: it has no work and nothing to journal
                        self.status[d] = COMPLETED
                        self.remaining -= 1
                        stack.append(d)
                    else:
                        self.ready.append(d)

    # -- the end ------------------------------------------------------------------------
    def _close(self, status: str) -> tuple[int, float]:
        """Journal how this execution ends (paused, or the run finished) and commit it with
        the run's row, its lease released; the exit code and the time."""
        exit_code = 0 if status == "completed" else 1
        now = time.time()
        if status == "paused":
            self._row(now, "run_paused", None, None, None)
            handed = self._hand_off and not self.stop.is_set()
            self._commit({"status": status, "owner": None,
                          "control": HAND_OFF if handed else None,
                          "control_by": self._asked_by.get("pause") if handed else None})
        else:
            self._row(now, "run_finished", None, None, json.dumps({"status": status}))
            self._commit({"status": status, "finished_at": now, "exit_code": exit_code,
                          "owner": None, "control": None, "control_by": None})
        return exit_code, now

    def _finish(self, started: float) -> RunResult:
        passes = self.passes
        if all(s == COMPLETED or (s == SKIPPED and passes[i])
               for i, s in enumerate(self.status)):
            status = "completed"
        elif self.cancelling:
            status = "cancelled"
        elif self.remaining:
            status = "paused"
        else:
            status = "failed"
        exit_code, now = self._close(status)
        self._release()  # listeners hear of the last completions, now committed
        self._emit(RunFinished(self.run_id, status, exit_code))
        return RunResult(self.run_id, self.plan.name, status, self._job_results(), started,
                         now)
