"""A graph's executed firings (python, shell, sleep): started on the executor like jobs,
retried, timed out, run again when their worker was lost, and journaled ``fired`` once
they succeed; mixed into :class:`~jobweave.engine.graph.GraphRuntime`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from jobweave.components.executed import Executed
from jobweave.components.node import Component
from jobweave.context import Context
from jobweave.engine.firing import FIRED, Firing, record
from jobweave.engine.retry import lost_limit, retry_delay
from jobweave.engine.runtime import Runtime
from jobweave.engine.state import PENDING, RUNNING
from jobweave.engine.timers import RETRY, TIMEOUT
from jobweave.errors import JobweaveError
from jobweave.executors.base import Outcome, Task


class ExecutedFirings(Runtime):
    """Firings on the executor, by activation key (the graph runtime sets these
    attributes)."""

    env: dict[str, Any]
    names: list[str]
    comps: tuple[Component, ...]
    acts: dict[int, Firing]
    active: list[int]
    failing: bool
    _previous: dict[str, Any]
    _settle: Callable[[], None]
    _fault: Callable[..., None]
    _fired_once: Callable[[int, float, list[tuple[str, Any]], float], None]

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
                text = record(f.fid, f.msg, emitted, started=f.started)
            except (TypeError, ValueError, RecursionError) as exc:
                error = f"output is not JSON-serialisable: {exc}"
            else:
                f.emitted = json.loads(text)["out"]  # outputs travel as JSON
                self._row(now, FIRED, node.name, f.attempt, text)
                self._fired_once(i, now, f.emitted or [], f.started)
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
