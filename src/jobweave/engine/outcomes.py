"""How an attempt's outcome settles its job: completed, retried (after a delay, or at once
when its worker was lost), or final (faulted, cancelled, skipped), and the timers of
timeouts and retry delays (mixed into :class:`~jobweave.engine.runtime.Runtime`)."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from typing import Any

from jobweave.engine.outputs import OutputError, encode_output, handed_on
from jobweave.engine.retry import lost_limit, retry_delay
from jobweave.engine.state import CANCELLED, COMPLETED, FAULTED, PENDING, RunState
from jobweave.engine.timers import RETRY, TIMEOUT, Timers
from jobweave.events import JobFinished
from jobweave.executors.base import Executor, Outcome, Task

log = logging.getLogger("jobweave.engine")


class Outcomes(RunState):
    """Settling jobs from their attempts' outcomes (the runtime sets these attributes)."""

    executor: Executor
    waiting: list[int]
    down: list[list[int]]
    ready: deque[int]
    inflight: dict[int, Task]
    timers: Timers
    to_release: list[int]
    cancelling: bool
    lost_attempts: dict[int, int]

    def _on_outcome(self, o: Outcome) -> None:
        i = o.key
        task = self.inflight.get(i)
        if task is None or task.attempt != o.attempt:
            log.info("late outcome of %s attempt %s ignored", self.nodes[i].name, o.attempt)
            return
        del self.inflight[i]
        self.started[i] = o.started
        if o.captured is not None:  # what it printed and logged, kept with the attempt
            self._row(o.finished, "captured", self.nodes[i].name, o.attempt,
                      json.dumps({"started": o.started, **o.captured}))
        if o.ok:
            try:
                text = encode_output(o.value)
            except OutputError as exc:
                self._failed(i, o.attempt, f"output is not JSON-serialisable: {exc}", o.finished)
                return
            self._completed(i, o.attempt, o.value, text, o.finished)
        elif self.cancelling:
            self._final(i, CANCELLED, o.error, o.finished)
        elif o.lost:
            self._worker_lost(i, o.attempt, o.error or "worker_lost", o.finished)
        else:
            self._failed(i, o.attempt, o.error or "failed", o.finished)

    def _completed(self, i: int, attempt: int, value: Any, text: str, now: float) -> None:
        self.status[i] = COMPLETED
        self.outputs[i] = handed_on(value)  # outputs travel as JSON, decoded when used
        self.output_json[i] = text
        self.errors[i] = None  # an earlier attempt's error no longer describes the job
        self.finished[i] = now
        self.remaining -= 1
        pending = self.pending
        pending.drop_start(i)
        pending.row(now, "completed", self.nodes[i].name, attempt,
                    f'{{"started":{self.started[i]!r},"output":{text}}}')
        if not pending.urgent and self.down[i]:
            self._mark_urgent(i)
        pending.dirty[i] = None
        self.to_release.append(i)

    def _failed(self, i: int, attempt: int, error: str, now: float) -> None:
        self._journal_start(i)
        node = self.nodes[i]
        if attempt - self.base_attempts[i] <= node.retries and not self.cancelling:
            delay = retry_delay(node.retry_delay, node.backoff, attempt)
            self.status[i] = PENDING
            self.errors[i] = error
            self._row(now, "retrying", node.name, attempt,
                      json.dumps({"error": error, "delay": delay}))
            self._update(i)
            if self.listeners:
                self._emit(JobFinished(self.run_id, node.name, FAULTED, attempt, error, True))
            if delay > 0:
                self.timers.add(time.monotonic() + delay, RETRY, i, attempt)
            else:
                self.ready.append(i)
            return
        self._final(i, FAULTED, error, now)

    def _worker_lost(self, i: int, attempt: int, error: str, now: float) -> None:
        """An attempt whose worker was lost runs again at once, without spending a retry,
        until the job has lost ``lost_limit(retries)`` attempts: then it is faulted."""
        lost = self.lost_attempts[i] = self.lost_attempts.get(i, 0) + 1
        node = self.nodes[i]
        if lost >= lost_limit(node.retries):
            self._final(i, FAULTED, f"{error} (lost {lost} attempts: its worker died or "
                        "stopped each time)", now)
            return
        self._journal_start(i)
        self.base_attempts[i] += 1
        self.status[i] = PENDING
        self.errors[i] = error
        self._row(now, "retrying", node.name, attempt,
                  json.dumps({"error": error, "delay": 0, "lost": True}))
        self._update(i)
        if self.listeners:
            self._emit(JobFinished(self.run_id, node.name, FAULTED, attempt, error, True))
        self.ready.append(i)

    def _final(self, i: int, state: str, error: str | None, now: float) -> None:
        self._journal_start(i)
        if self.down[i] and not self.pending.urgent:
            self._mark_urgent(i)
        if state == FAULTED and self.nodes[i].continue_on_failure:
            self.passes[i] = True
        self.status[i] = state
        self.errors[i] = error
        self.finished[i] = now
        self.remaining -= 1
        if self.barrier[i]:
            self.to_release.append(i)
            return
        self._row(now, state, self.nodes[i].name, self.attempts[i] or None,
                  json.dumps({"error": error}) if error else None)
        self._update(i)
        self.to_release.append(i)

    def _mark_urgent(self, i: int) -> None:
        """Commit without waiting for company when this settles a dependent's last input.

        A fan-in of 10,000 jobs into one must not commit 10,000 times: only the
        completion that makes a dependent ready is worth the early commit.
        """
        waiting = self.waiting
        for d in self.down[i]:
            if waiting[d] == 1:
                self.pending.urgent = True
                return

    # -- timers ------------------------------------------------------------------------
    def _fire_timers(self, now: float) -> None:
        for kind, i, attempt in self.timers.due(now):
            if kind == TIMEOUT:
                task = self.inflight.get(i)
                if task is not None and task.attempt == attempt:
                    del self.inflight[i]
                    self.executor.abandon(task)
                    self._failed(i, attempt, f"timed out after {self.nodes[i].timeout}s",
                                 time.time())
            elif kind == RETRY and self.status[i] == PENDING and not self.cancelling:
                # (while pausing the job goes back to ready and waits for the resume)
                self.ready.append(i)
