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
- Projection rows are per graph node: status, firing count (``attempts``), last error.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from jobweave.components.executed import Executed
from jobweave.components.node import ERROR, Group, Joiner, JoinState
from jobweave.context import Context
from jobweave.engine.bulk import gc_paused
from jobweave.engine.firing import (
    FIRED,
    Firing,
    child_id,
    encoded,
    group_id,
    passed_on,
    record,
    start_id,
    tick_id,
)
from jobweave.engine.graph_replay import Replay
from jobweave.engine.result import RunResult
from jobweave.engine.retry import lost_limit, retry_delay
from jobweave.engine.runtime import Runtime
from jobweave.engine.state import CANCELLED, COMPLETED, FAULTED, PENDING, RUNNING, SKIPPED
from jobweave.engine.timers import RETRY, TIMEOUT
from jobweave.errors import JobweaveError
from jobweave.events import FIRED_EVERY, NodesFired, RunFinished, RunStarted
from jobweave.executors.base import Outcome, Task
from jobweave.plan.graph import Wiring
from jobweave.secrets import Secrets

TICK = 2
"""Timer kind of a ticker's next emission."""
DRAIN_ROWS = 4096
"""Records the inline queue may stage before it commits them (a long cascade of inline
firings still reaches the store in bounded pieces)."""


class GraphRuntime(Runtime):
    """Runs one graph for one run; :meth:`run` returns when no message is in flight
    and no source will emit again (or on cancel, pause, or a node's fault)."""

    def __init__(self, *args: Any, fired: list[tuple[Any, ...]] | None = None,
                 rerun: frozenset[str] = frozenset(), copy: bool = False,
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
        self._fired = fired or []
        self._rerun, self._copy = rerun, copy
        self._replay: Replay | None = None
        self._previous: dict[str, Any] = {}
        """Recover: earlier outputs of the firings that run again, by firing id."""
        self.remaining = 1
        self._reported = 0.0

    # -- start -----------------------------------------------------------------------
    @gc_paused()
    def _seed(self) -> None:
        replay = Replay(self, self._fired, self._rerun, self._copy) if self._fired else None
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

    # -- messages arriving -------------------------------------------------------------
    def _arrive(self, f: Firing) -> None:
        """A message reached node ``f.node``: queue its firing (or, replaying, note it)."""
        if self._replay is not None and self._replay.take(f):
            return
        i = f.node
        self.count[i] += 1
        if self.count[i] > self.w.max_firings[i] and f.error is None:
            f.error = (f"fired more than {self.w.max_firings[i]:,} times in this run "
                       "(max_firings)")
            self._fault(f, f.error, final=True)
            return
        seen = self.seen[i]
        if seen is not None and f.group < 0:
            text = json.dumps(f.msg, sort_keys=True, default=str)
            if text in seen:
                self._fault(f, "received the same message twice: a loop that does not "
                               "advance", final=True)
                return
            seen.add(text)
        if self.failing or self.cancelling:
            return
        if self.comps[i].inline:
            self.inline.append(f)
        else:
            key = self._next_key
            self._next_key = key + 1
            self.acts[key] = f
            self.active[i] += 1
            self.ready.append(key)

    def _route(self, f: Firing, emitted: list[tuple[str, Any]]) -> None:
        """Send a firing's messages along the edges leaving their ports."""
        routes = self._routes[f.node]
        if not routes:
            return
        env, fid = self.env, f.fid
        for k, (port, msg) in enumerate(emitted):
            for target, to_port, data, label, joins in routes.get(port, ()):
                m, error = msg, None
                if data is not None:
                    try:
                        m = data.render({**env, "msg": msg})
                    except JobweaveError as exc:
                        error = str(exc)
                if joins:
                    self._join(target, to_port, m)
                    continue
                c = Firing(target, child_id(fid, port, k, label), m)
                if error is not None:
                    c.error = error
                self._arrive(c)

    def _join(self, i: int, port: str, msg: Any) -> None:
        comp = self.comps[i]
        for g in self.joins[i].receive(port, msg):
            assert isinstance(comp, Joiner)
            self._arrive(Firing(i, group_id(self.names[i], g.index), g.tokens, g.index))

    def _close_joins(self) -> bool:
        """Close the groups of joins whose ports no message in flight can reach; True
        when that queued firings."""
        if not self.joins:
            return False
        queued = False
        for i, state in self.joins.items():
            live = frozenset(p for p, feeders in self.w.feeders[i].items()
                             if any(self._busy(f) for f in feeders))
            if live == self.live[i]:
                continue
            self.live[i] = live
            for g in state.close(live):
                f = Firing(i, group_id(self.names[i], g.index), g.tokens, g.index)
                f.live = sorted(live)
                self._arrive(f)
                queued = True
        return queued

    def _busy(self, i: int) -> bool:
        if self.active[i] or i in self.ticking:
            return True
        if i in self.joins:
            return self.live[i] is None or bool(self.live[i])
        return any(f.node == i for f in self.inline)

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

    def _fired_once(self, i: int, now: float, emitted: list[tuple[str, Any]]) -> None:
        self.attempts[i] += 1
        if self.started[i] is None:
            self.started[i] = now
        self.finished[i] = now
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
                      record(f.fid, f.msg, emitted, error=error))
            self._fired_once(i, now, emitted)
            self._route(f, emitted)
            return
        if not final and self.w.continue_on_error[i]:
            self._row(now, FIRED, name, max(f.attempt, 1), record(f.fid, f.msg, [], error=error))
            self._fired_once(i, now, [])
            return
        self._row(now, FIRED, name, max(f.attempt, 1), record(f.fid, f.msg, None, error=error))
        self.pending.urgent = True
        self.faulted.add(i)
        self.status[i] = FAULTED
        self.finished[i] = now
        self.pending.dirty[i] = None
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

    # -- firings on the executor --------------------------------------------------------
    def _dispatch(self) -> None:
        ready, inflight, acts = self.ready, self.inflight, self.acts
        if self.cancelling or self.pausing or self.failing:
            return
        while ready and len(inflight) < self.concurrency:
            key = ready.popleft()
            f = acts.get(key)
            if f is not None:
                self._start_firing(key, f)

    def _start_firing(self, key: int, f: Firing) -> None:
        i = f.node
        node = self.nodes[i]
        f.attempt += 1
        if f.error is not None:  # its edge's data failed: it faults without running
            self._finish_firing(key, f, None, f.error, time.time())
            self._settle()
            return
        comp = self.comps[i]
        assert isinstance(comp, Executed)
        fn, ref = comp.fn, comp.ref
        env = self.env
        if comp.needs_run:
            env = {**env, "firing": f.fid, "store": self.store.url}
        try:
            kwargs = comp.arguments(f.msg, env)
        except JobweaveError as exc:
            self._finish_firing(key, f, None, str(exc), time.time())
            self._settle()
            return
        if f.fid in self._previous:
            ctx = Context(self.run_id, node.name, f.attempt, tags=node.tags, recovered=True,
                          previous_outputs=self._previous[f.fid], execution=self.execution)
        else:
            ctx = Context(self.run_id, node.name, f.attempt, tags=node.tags,
                          execution=self.execution)
        task = Task(key, f.attempt, fn, ref, kwargs, ctx, self.targets.wants_context(fn),
                    slot=f.fid, queue=node.queue)
        self.inflight[key] = task
        f.started = time.time()
        if self.status[i] == PENDING:
            self.status[i] = RUNNING
            self.pending.dirty[i] = None
        if node.timeout is not None:
            self.timers.add(time.monotonic() + node.timeout, TIMEOUT, key, f.attempt)
        self.executor.submit(task)

    def _on_outcome(self, o: Outcome) -> None:
        key = o.key
        task = self.inflight.get(key)
        if task is None or task.attempt != o.attempt:
            return
        del self.inflight[key]
        f = self.acts[key]
        if o.captured is not None:
            self._row(o.finished, "captured", self.names[f.node], o.attempt,
                      json.dumps({"started": o.started, "id": f.fid, **o.captured}))
        if self.cancelling:
            self._drop(key)
        elif o.lost:
            self._lost_firing(key, f, o)
        else:
            self._finish_firing(key, f, o.value if o.ok else None, None if o.ok else (
                o.error or "failed"), o.finished)
        self._settle()

    def _finish_firing(self, key: int, f: Firing, value: Any, error: str | None,
                       now: float) -> None:
        i = f.node
        node = self.nodes[i]
        if error is None:
            comp = self.comps[i]
            assert isinstance(comp, Executed)
            emitted = comp.emitted(value, f.msg)
            try:
                text = record(f.fid, f.msg, emitted)
            except (TypeError, ValueError, RecursionError) as exc:
                error = f"output is not JSON-serialisable: {exc}"
            else:
                f.emitted = json.loads(text)["out"]  # outputs travel as JSON
                self._row(now, FIRED, node.name, f.attempt, text)
                self._fired_once(i, now, f.emitted or [])
                self.to_release.append(key)
                self.pending.urgent = True
                return
        spent = f.attempt - self.lost_attempts.get(key, 0)  # lost attempts are not retries
        if spent <= node.retries and not self.cancelling and f.error is None:
            delay = retry_delay(node.retry_delay, node.backoff, f.attempt)
            if delay > 0:
                self.timers.add(time.monotonic() + delay, RETRY, key, f.attempt)
            else:
                self.ready.append(key)
            return
        self._drop(key)
        self._fault(f, error)

    def _lost_firing(self, key: int, f: Firing, o: Outcome) -> None:
        """A firing whose worker was lost fires again at once, without spending a retry,
        until it lost ``lost_limit(retries)`` attempts: then it faults."""
        lost = self.lost_attempts[key] = self.lost_attempts.get(key, 0) + 1
        if lost >= lost_limit(self.nodes[f.node].retries):
            self._drop(key)
            self._fault(f, f"{o.error} (lost {lost} attempts: its worker died or stopped "
                           "each time)")
        else:
            self.ready.append(key)

    def _drop(self, key: int) -> None:
        f = self.acts.pop(key)
        self.active[f.node] -= 1

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
