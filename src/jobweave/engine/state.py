"""A run's per-job state, touched only under the run's lock, and how it is journaled.

Every change of a job's state is staged in ``pending`` (a journal record, and a mark that
the job's projection row changed) and reaches the store with the next commit.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from jobweave.engine.pending import Pending
from jobweave.engine.result import JobResult
from jobweave.engine.resume import NOT_DECODED
from jobweave.events import Listener
from jobweave.plan.nodes import Plan
from jobweave.store.sql import SqlStore
from jobweave.store.writer import Writer

log = logging.getLogger("jobweave.engine")

PENDING, RUNNING, COMPLETED, FAULTED, CANCELLED, SKIPPED = (
    "pending", "running", "completed", "faulted", "cancelled", "skipped")


class RunState:
    """Parallel lists by plan index: each job's status, attempts, output, error and times."""

    writer: Writer
    """The connection commits go through while the run executes (set when it starts)."""

    def __init__(self, plan: Plan, store: SqlStore, run_id: str, *, next_seq: int,
                 listeners: Sequence[Listener] = ()) -> None:
        self.plan = plan
        self.store = store
        self.run_id = run_id
        self.listeners = tuple(listeners)
        n = len(plan.nodes)
        self.nodes = plan.nodes
        self.status = [PENDING] * n
        self.attempts = [0] * n
        self.base_attempts = [0] * n
        """Attempts made before this execution (resume): retries count from here."""
        self.outputs: list[Any] = [None] * n
        self.output_json: list[str | None] = [None] * n
        self.errors: list[str | None] = [None] * n
        self.started: list[float | None] = [None] * n
        self.finished: list[float | None] = [None] * n
        self.barrier = [plan.boundary(node) for node in plan.nodes]
        self.passes = [False] * n
        """Settled without completing, yet not stopping dependents: skipped by its
        ``when`` condition, or faulted with ``continue_on_failure``."""
        self.remaining = n
        """Nodes not yet final."""
        self.pending = Pending(run_id, next_seq)
        self.epoch = 0
        """The epoch this process claimed the run with: it fences every commit."""
        self._renewed = time.monotonic()
        """When the lease was last renewed (monotonic): by a heartbeat or a fenced commit."""

    def _row(self, ts: float, event: str, node: str | None, attempt: int | None,
             data: str | None) -> None:
        self.pending.row(ts, event, node, attempt, data)

    def _update(self, i: int) -> None:
        self.pending.dirty[i] = None  # the row is built from the state at commit time

    def _journal_start(self, i: int) -> None:
        """Journal job ``i``'s start now if it was left for later (its attempt ends in
        something other than a completion, which does not carry the start time)."""
        pending = self.pending
        if pending.young and pending.young.pop(i, None) is not None:
            pending.row(self.started[i] or time.time(), "started", self.nodes[i].name,
                        self.attempts[i], None)

    def _commit(self, run_update: dict[str, Any] | None = None) -> None:
        """Write what is pending in one transaction (with the run's own row, at the end).

        Starts of jobs that have run ``START_AFTER`` seconds are journaled with it (all of
        them with the run's own update); younger ones wait for a later commit.
        """
        pending = self.pending
        if pending.young:
            nodes, started, attempts = self.nodes, self.started, self.attempts
            for i in pending.old_starts(time.monotonic(), everything=run_update is not None):
                pending.row(started[i] or time.time(), "started", nodes[i].name,
                            attempts[i], None)
        if run_update is None and not pending.rows:
            return
        rows, changed = pending.take()
        status, attempts, out, errors = self.status, self.attempts, self.output_json, self.errors
        started, finished, run_id = self.started, self.finished, self.run_id
        updates = [(status[i], attempts[i], out[i], errors[i], started[i], finished[i],
                    run_id, i) for i in changed]
        if run_update is None:
            self.writer.commit(rows, updates)
            self._renewed = time.monotonic()  # the commit's fence renewed the lease
        else:
            self.store.commit(self.run_id, rows, updates, run_update, epoch=self.epoch)

    def _output(self, i: int) -> Any:
        """Job ``i``'s output, decoding a carried-over one on first use."""
        value = self.outputs[i]
        if value is NOT_DECODED:
            text = self.output_json[i]
            value = self.outputs[i] = None if text is None else json.loads(text)
        return value

    def _job_results(self) -> tuple[JobResult, ...]:
        """Every job as the run's result reports it (batch boundaries left out)."""
        outputs = self.outputs
        for i, value in enumerate(outputs):  # carried-over or structured outputs
            if value is NOT_DECODED:
                self._output(i)
        # one pass over parallel lists: a run of 100,000 jobs builds 100,000 results
        make = JobResult._make
        rows = map(make, zip([n.name for n in self.nodes], self.status, outputs, self.errors,
                             self.attempts, self.started, self.finished,
                             [n.tags for n in self.nodes], strict=True))
        if any(self.barrier):
            return tuple(r for r, b in zip(rows, self.barrier, strict=True) if not b)
        return tuple(rows)

    def _emit(self, event: object) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("listener %r failed on %r", listener, event)
