"""What operators ask of runs, through the same services as the CLI, each journaled in
the run's journal with who asked (``{"by": actor}``; see :func:`store.access.requests_of`).

- ``cancel`` / ``pause``: :func:`jobweave.api.cancel` / :func:`jobweave.api.pause`, as
  ``jobweave cancel`` / ``jobweave pause``.
- ``resume``: :func:`jobweave.api.start_resume`, as ``jobweave resume`` but in this
  process, without waiting: completed jobs are kept; faulted, cancelled, skipped and
  interrupted ones run again with everything that depends on them.
- ``retry-failed``: the same resume, for a failed or cancelled run that has such jobs.
- ``mark-completed``: a job of a stopped run recorded completed by hand; then, unless
  asked not to, the run is resumed so its dependents run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from jobweave import api
from jobweave.engine import RunHandle
from jobweave.errors import JobweaveError, RunStateError
from jobweave.store import RunRecord, SqlStore, owner_id
from jobweave.store.access import mark_completed

RUN_ACTIONS = ("cancel", "pause", "resume", "retry-failed")
RETRYABLE = ("faulted", "cancelled", "skipped", "interrupted")


class Actions:
    """Acts on runs of one store; keeps the handles of the runs it resumed here."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.handles: dict[str, RunHandle] = {}
        self._lock = threading.Lock()

    def run_action(self, run: RunRecord, what: str, actor: str) -> str:
        """Do ``what`` to ``run``; return the run's status afterwards."""
        if what not in RUN_ACTIONS:
            raise JobweaveError(f"unknown action {what!r}: use one of {', '.join(RUN_ACTIONS)}")
        if what == "cancel":
            status = api.cancel(run.run_id, store=self.store.url, by=actor)
        elif what == "pause":
            status = api.pause(run.run_id, store=self.store.url, by=actor)
        else:
            if what == "retry-failed":
                if run.status not in ("failed", "cancelled", "crashed"):
                    raise RunStateError(f"run {run.run_id} is {run.status}: only a failed, "
                                        "cancelled or crashed run has failed jobs to retry",
                                        run_id=run.run_id)
                if not any(run.counts.get(s) for s in RETRYABLE):
                    raise RunStateError(f"run {run.run_id} has no faulted, cancelled or "
                                        "skipped job to retry", run_id=run.run_id)
            status = self._resume(run, actor, what)
        return str(status)

    def _resume(self, run: RunRecord, actor: str, why: str) -> str:
        if run.status == "completed":
            raise RunStateError(f"run {run.run_id} already completed; nothing to resume",
                                run_id=run.run_id)
        handle = api.start_resume(run.run_id, store=self.store.url, by=actor, why=why)
        with self._lock:
            self.handles = {k: h for k, h in self.handles.items() if not h.done}
            self.handles[run.run_id] = handle
        return "running"

    def mark_completed(self, run: RunRecord, job: str, actor: str, *,
                       release: bool = True) -> str:
        """Record ``job`` completed by ``actor``; with ``release``, resume the run so
        the jobs that wait for it run."""
        mark_completed(self.store, run.run_id, job, actor)
        if not release:
            return str(self.store.get_run(run.run_id, counts=False).status)
        after = self.store.get_run(run.run_id)
        if not any(after.counts.get(s) for s in ("pending", *RETRYABLE)):
            return str(after.status)
        return self._resume(after, actor, "resume")

    def bulk(self, what: str, run_ids: list[str], actor: str) -> dict[str, dict[str, Any]]:
        """``what`` on each run: its new status, or the one-line error it met."""
        out: dict[str, dict[str, Any]] = {}
        for run_id in run_ids:
            try:
                run = api.get_run(run_id, store=self.store.url)
                out[run_id] = {"ok": True, "status": self.run_action(run, what, actor)}
            except JobweaveError as exc:
                out[run_id] = {"ok": False, "error": str(exc)}
        return out

    def close(self, grace: float) -> None:
        """Pause the runs resumed here and wait up to ``grace`` seconds for them."""
        with self._lock:
            live = [h for h in self.handles.values() if not h.done]
        for handle in live:
            handle.pause(by=f"serve:{owner_id()}")
        deadline = time.monotonic() + grace
        for handle in live:
            with contextlib.suppress(TimeoutError, JobweaveError):
                handle.wait(timeout=max(0.0, deadline - time.monotonic()))
