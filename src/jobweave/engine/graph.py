"""The run loop of a dataflow graph: the DAG runtime's driver with firing semantics.

:class:`GraphRuntime` keeps the driver of :class:`~jobweave.engine.runtime.Runtime`
(the loop, dispatch to executors, timers, group commit, commit before release, the lease,
cancel and pause) and replaces what a plan node *means*: here the unit of work is a
firing (one node, one incoming message, keyed by an activation number) rather than a plan
node that runs once.

- Components marked ``inline`` (modify, router, iterator, barrier, log) fire on the loop's
  thread, in a queue, as soon as a message reaches them; their outputs are routed at
  once. They are pure, so a crash that loses their records only makes them fire again.
- The others (python, shell, sleep) run on the executor like jobs, with retries and
  timeouts; their outputs are routed only once their record is committed.
- Every firing is journaled (event ``fired``, see :mod:`jobweave.engine.firing`). Messages
  reach a joining node in the order of the records of the firings that emitted them, so a
  resume that replays the journal in order rebuilds the same groups
  (:mod:`jobweave.engine.graph_replay`).
- Projection rows are per graph node: status, firing count (``attempts``: every ``fired``
  record of the node in the run's journal, failed ones included), last error, and times:
  those of its firings in the last execution it fired in (a resume's stopped time never
  counts; a recovery's node that fires anew shows only its own firings).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from jobweave.components.node import ERROR, Group, Joiner, JoinState
from jobweave.engine.bulk import gc_paused
from jobweave.engine.firing import (
    FIRED,
    Firing,
    encoded,
    passed_on,
    record,
    start_id,
    tick_id,
)
from jobweave.engine.graph_executed import ExecutedFirings
from jobweave.engine.graph_messages import Messages
from jobweave.engine.graph_replay import Recovered, Replay
from jobweave.engine.result import RunResult
from jobweave.engine.state import CANCELLED, COMPLETED, FAULTED, PENDING, RUNNING, SKIPPED
from jobweave.engine.timers import RETRY, TIMEOUT
from jobweave.errors import JobweaveError
from jobweave.events import FIRED_EVERY, NodesFired, RunFinished, RunStarted
from jobweave.plan.graph import Wiring
from jobweave.secrets import Secrets

TICK = 2
"""Timer kind of a ticker's next emission."""
DRAIN_ROWS = 4096
"""Records the inline queue may stage before it commits them (a long cascade of inline
firings still reaches the store in bounded pieces)."""


class GraphRuntime(Messages, ExecutedFirings):
    """Runs one graph for one run; :meth:`run` returns when no message is in flight
    and no source will emit again (or on cancel, pause, or a node's fault)."""

    def __init__(self, *args: Any, fired: list[tuple[Any, ...]] | None = None,
                 recovery: Recovered | None = None, starts: Sequence[float] = (),
                 secrets: Secrets | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        w: Wiring = self.plan.graph
        self.w = w
        self.secrets = secrets or Secrets()
        self.env: dict[str, Any] = {"input": w.input, "secrets": self.secrets}
        self._mask = self.secrets.mask if self.secrets else None
        """Hides secrets' values in everything the run writes (None: no secrets)."""
        n = len(self.nodes)
        self.names = [node.name for node in self.nodes]
        self.comps = w.components
        self._routes = [
            {port: tuple((r.target, r.port, r.data, f"{self.names[r.target]}:{r.port}",
                          isinstance(w.components[r.target], Joiner)) for r in rs)
             for port, rs in out.items()} for out in w.routes]
        """Per node and output port: (target, its port, data template, label, joins)."""
        self.acts: dict[int, Firing] = {}
        """Firings queued for the executor, running, waiting for a retry, or finished
        and waiting for the commit that releases their outputs; by activation key."""
        self._next_key = 0
        self.active = [0] * n
        """Per node: its firings in ``acts`` (a node with none can emit nothing more)."""
        self.count = [0] * n
        """Per node: firings made in this run, replayed ones included (``max_firings``)."""
        self.inline: deque[Firing] = deque()
        self.seen: list[set[str] | None] = [set() if c else None for c in w.in_cycle]
        self.joins: dict[int, JoinState] = {
            i: c.new_state() for i, c in enumerate(self.comps) if isinstance(c, Joiner)}
        self.live: dict[int, frozenset[str] | None] = dict.fromkeys(self.joins)
        self.ticks = dict.fromkeys(w.tickers, 0)
        self.ticking: set[int] = set()
        self.failing = False
        self.faulted: set[int] = set()
        self.own = [False] * n
        """Per node: it fired in this execution (its times are those firings')."""
        self._fired, self._starts = fired or [], starts
        """Resume: the run's ``fired`` records, and when each of its executions started."""
        self._recovery = recovery
        """Recover: what it replays (the firings of the run it recovers, ...)."""
        self._replay: Replay | None = None
        self._previous: dict[str, Any] = {}
        """Recover: earlier outputs of the firings that run again, by firing id."""
        self.remaining = 1
        self._reported = 0.0

    # -- start -----------------------------------------------------------------------
    @gc_paused()
    def _seed(self) -> None:
        r = self._recovery
        replay: Replay | None = None
        if r is not None and r.fired:
            replay = Replay(self, r.fired, r.rerun, r.source, r.starts)
        elif self._fired:
            replay = Replay(self, self._fired, starts=self._starts)
        self._replay = replay
        for i in self.w.sources:
            self._arrive(Firing(i, start_id(self.names[i]), self.w.input))
        base = time.time()
        if replay is not None:
            replay.run()
            self._replay = None
            base = replay.tick_base or base
            later = replay.later
            self._previous = replay.previous
        else:
            later = []
        self._tick_base = base
        for i in self.w.tickers:
            self._arm_ticker(i)
        for f in later:
            self._arrive(f)
        self._settle()

    def _settle(self) -> None:
        """After any change: fire what is queued inline, close joins no message can still
        fill, and count what keeps the run going."""
        while True:
            self._drain()
            if not self._close_joins():
                break
        self.remaining = len(self.acts) + len(self.ticking)

    def _started_event(self) -> RunStarted:
        return RunStarted(self.run_id, self.plan.name, 0, 0)  # firings: no total known

    def _report(self, now: float, force: bool = False) -> None:
        """Tell listeners the firing counts, at most every FIRED_EVERY seconds."""
        if self.listeners and (force or now >= self._reported + FIRED_EVERY):
            self._reported = now
            self._emit(NodesFired(self.run_id, dict(zip(self.names, self.attempts,
                                                        strict=True))))

    def _row(self, ts: float, event: str, node: str | None, attempt: int | None,
             data: str | None) -> None:
        if self._mask is not None and data is not None:
            data = self._mask(data)
        self.pending.row(ts, event, node, attempt, data)

    # -- inline firings -----------------------------------------------------------------
    def _drain(self) -> None:
        queue, comps, names, env = self.inline, self.comps, self.names, self.env
        pending = self.pending
        row = self.pending.row if self._mask is None else self._row
        while queue:
            f = queue.popleft()
            i = f.node
            if f.error is not None:
                self._fault(f, f.error)
                continue
            comp = comps[i]
            try:
                if f.group >= 0:
                    assert isinstance(comp, Joiner)
                    emitted = comp.fire_group(Group(f.group, f.msg), env)
                else:
                    emitted = comp.fire(f.msg, env)
                if f.live is not None:
                    text = record(f.fid, f.msg, emitted, live=f.live)
                elif len(emitted) == 1 and emitted[0][1] is f.msg:
                    text = passed_on(f.fid, f.msg, emitted[0][0])
                else:
                    text = encoded(f.fid, f.msg, emitted)
            except (JobweaveError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
                self._fault(f, f"{type(exc).__name__}: {exc}" if not isinstance(
                    exc, JobweaveError) else str(exc))
                continue
            now = time.time()
            row(now, FIRED, names[i], 1, text)
            self._fired_once(i, now, emitted)
            self._route(f, emitted)
            if len(pending.rows) >= DRAIN_ROWS:
                self._commit()
                self._release()

    def _fired_once(self, i: int, now: float, emitted: list[tuple[str, Any]] | None,
                    begun: float = 0.0) -> None:
        """A firing of this execution, ended at ``now`` (an executed one ``begun`` then):
        counted, and the node's times are from its first."""
        if not self.own[i]:
            self.own[i] = True
            self.started[i] = begun or now
        self.finished[i] = now
        self._counted(i, emitted)

    def _counted(self, i: int, emitted: list[tuple[str, Any]] | None) -> None:
        """One more firing of node ``i`` (``emitted`` None: it failed)."""
        self.attempts[i] += 1
        if self.status[i] == PENDING:
            self.status[i] = RUNNING
        if emitted:
            self.outputs[i] = emitted[-1][1]
        self.pending.dirty[i] = None

    def _fault(self, f: Firing, error: str, *, final: bool = False) -> None:
        """A firing that failed: to the node's ``error`` port if connected, else recorded
        and (without ``continue_on_error``) the node faults and the run stops."""
        i = f.node
        now = time.time()
        if self._mask is not None:
            error = self._mask(error)
        self.errors[i] = error
        name = self.names[i]
        if not final and ERROR in self.w.routes[i]:
            emitted = [(ERROR, {"error": error, "msg": f.msg, "node": name})]
            self._row(now, FIRED, name, max(f.attempt, 1),
                      record(f.fid, f.msg, emitted, error=error, started=f.started))
            self._fired_once(i, now, emitted, f.started)
            self._route(f, emitted)
            return
        if not final and self.w.continue_on_error[i]:
            self._row(now, FIRED, name, max(f.attempt, 1),
                      record(f.fid, f.msg, [], error=error, started=f.started))
            self._fired_once(i, now, [], f.started)
            return
        self._row(now, FIRED, name, max(f.attempt, 1),
                  record(f.fid, f.msg, None, error=error, started=f.started))
        self._fired_once(i, now, None, f.started)  # a firing too, as `show --node` lists it
        self.pending.urgent = True
        self.faulted.add(i)
        self.status[i] = FAULTED
        self._stop_firing()

    def _stop_firing(self) -> None:
        """A node faulted: start nothing more; running firings finish and are recorded."""
        self.failing = True
        self.inline.clear()
        self.ready.clear()
        for key in [k for k in self.acts if k not in self.inflight]:
            f = self.acts.pop(key)
            self.active[f.node] -= 1
        self.ticking.clear()

    # -- release, timers, cancel --------------------------------------------------------
    def _release(self, emit: bool = True) -> None:
        if not self.to_release:
            return
        released, self.to_release = self.to_release, []
        for key in released:
            f = self.acts.pop(key, None)
            if f is None:
                continue
            self.active[f.node] -= 1
            if not self.failing and not self.cancelling and f.emitted:
                self._route(f, f.emitted)
        self._settle()
        self._report(time.monotonic())

    def _fire_timers(self, now: float) -> None:
        for kind, key, attempt in self.timers.due(now):
            if kind == TICK:
                self._tick(key, attempt)
                continue
            f = self.acts.get(key)
            if f is None:
                continue
            if kind == TIMEOUT:
                task = self.inflight.get(key)
                if task is not None and task.attempt == attempt:
                    del self.inflight[key]
                    self.executor.abandon(task)
                    self._finish_firing(key, f, None,
                                        f"timed out after {self.nodes[f.node].timeout}s",
                                        time.time())
            elif kind == RETRY and not self.cancelling and not self.failing:
                self.ready.append(key)
        self._settle()

    def _arm_ticker(self, i: int) -> None:
        comp: Any = self.comps[i]
        at = comp.due_at(self._tick_base, self.ticks[i])
        if at is None or self.failing:
            self.ticking.discard(i)
            return
        self.ticking.add(i)
        self.timers.add(time.monotonic() + max(0.0, at - time.time()), TICK, i, self.ticks[i])

    def _tick(self, i: int, n: int) -> None:
        if i not in self.ticking or self.cancelling or self.pausing:
            return
        comp: Any = self.comps[i]
        at = comp.due_at(self._tick_base, n)
        f = Firing(i, tick_id(self.names[i], n), comp.tick_message(n, at))
        emitted = comp.fire(f.msg, self.env)
        now = time.time()
        self._row(now, FIRED, self.names[i], 1, record(f.fid, f.msg, emitted))
        self._fired_once(i, now, emitted)
        self.count[i] += 1
        self.ticks[i] = n + 1
        key = self._next_key
        self._next_key = key + 1
        f.emitted = emitted
        self.acts[key] = f
        self.active[i] += 1
        self.to_release.append(key)
        self.pending.urgent = True
        self._arm_ticker(i)

    def _begin_cancel(self) -> None:
        self.cancelling = True
        self.cancel_deadline = time.monotonic() + 5.0
        self._row(time.time(), "cancelling", None, None, self._by("cancel"))
        self.inline.clear()
        self.ready.clear()
        for key in [k for k in self.acts if k not in self.inflight]:
            self._drop(key)
        self.ticking.clear()
        self._stop_inflight()
        self.remaining = len(self.acts)

    def _expire_inflight(self) -> None:
        for key, task in list(self.inflight.items()):
            del self.inflight[key]
            self.executor.abandon(task)
            self._drop(key)
        self.remaining = len(self.acts)

    # -- the end ------------------------------------------------------------------------
    def _finish(self, started: float) -> RunResult:
        if self.cancelling:
            status = "cancelled"
        elif self.failing:
            status = "failed"
        elif self.remaining:
            status = "paused"
        else:
            status = "completed"
        for i in range(len(self.nodes)):
            if status == "paused":
                break
            if i in self.faulted:
                continue
            if self.status[i] == RUNNING or self.attempts[i]:
                self.status[i] = CANCELLED if status == "cancelled" and self.active[i] else (
                    COMPLETED)
            else:
                self.status[i] = SKIPPED
            out = self.outputs[i]
            try:
                text = None if out is None else json.dumps(out)
            except (TypeError, ValueError):
                text = None
            if text is not None and self._mask is not None:
                masked = self._mask(text)
                if masked != text:
                    text, self.outputs[i] = masked, json.loads(masked)
            self.output_json[i] = text
            self.pending.dirty[i] = None
        exit_code, now = self._close(status)
        self._report(0.0, force=True)
        self._emit(RunFinished(self.run_id, status, exit_code))
        return RunResult(self.run_id, self.plan.name, status, self._job_results(), started,
                         now)
