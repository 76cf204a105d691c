"""Requests made of a run from outside its owner: pause and cancel (mixed into
``SqlStore``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, and_, select

from jobweave.errors import RunNotFoundError, RunStateError
from jobweave.store import schema as s
from jobweave.store.base import Leases, RunRecord, asked_by, is_handed_off
from jobweave.store.ownership import is_live
from jobweave.store.retry import conflicts_retried


class RunRequests(Leases):
    """Pause and cancel: left for a live owner to answer, or done here when none will."""

    _tx: Callable[[], AbstractContextManager[Connection]]
    _next_seq: Callable[[Connection, str], int]
    get_run: Callable[..., RunRecord]

    def _request(self, conn: Connection, run_id: str, control: str, done: tuple[str, ...],
                 now: float, by: str | None) -> bool:
        """Lock the run's row and, if an owner will answer, leave it ``control`` (and
        ``by``, who asked: the owner journals it with the request).

        Returns whether an owner will answer: a live owner sees the request
        at its next heartbeat, and a run submitted moments ago is about to be claimed by
        its detached worker. Only the owner appends to a live run's journal (it numbers
        records in memory), so the caller journals only when no owner will answer.
        """
        row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)
                           .with_for_update()).first()
        if row is None:
            raise RunNotFoundError(run_id)
        if row.status in done and not (control == "pause"
                                       and is_handed_off(row.status, row.control)):
            # pausing a run a stopped engine handed off keeps it paused for good
            raise RunStateError(f"run {run_id} is already {row.status}", run_id=run_id)
        answered = is_live(row, now, self.lease_seconds)
        if answered:
            conn.execute(s.runs.update().where(s.runs.c.run_id == run_id)
                         .values(control=control, control_by=by))
        return answered

    @conflicts_retried
    def request_pause(self, run_id: str, now: float | None = None, *,
                      by: str | None = None) -> RunRecord:
        """Ask a run's owner to start no new jobs and stop as ``paused`` once running ones
        finished. A run no live process owns is marked paused at once.

        ``by`` (who asks) is journaled with the request: by the owner in its ``pausing``
        record, or here in the ``run_paused`` record of a run no owner answers for."""
        now = self.now() if now is None else now
        with self._tx() as conn:
            answered = self._request(conn, run_id, "pause",
                                     ("completed", "failed", "cancelled", "paused"), now, by)
            if not answered:
                seq = self._next_seq(conn, run_id)
                conn.execute(s.journal.insert().values(run_id=run_id, seq=seq, ts=now,
                                                       event="run_paused",
                                                       data=asked_by(by)))
                # jobs a dead owner left running lost an attempt (see mark_interrupted)
                conn.execute(s.jobs.update().where(and_(
                    s.jobs.c.run_id == run_id, s.jobs.c.status == "running"))
                    .values(status="pending", lost=s.jobs.c.lost + 1))
                conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
                    status="paused", owner=None, control=None, control_by=None,
                    epoch=s.runs.c.epoch + 1))
        return self.get_run(run_id)

    @conflicts_retried
    def request_cancel(self, run_id: str, now: float | None = None, *,
                       by: str | None = None) -> RunRecord:
        """Ask a run to stop. A run no live process owns is cancelled here and now.

        ``by`` (who asks) is journaled with the request: by the owner in its
        ``cancelling`` record, or here in the ``cancel_requested`` record."""
        now = self.now() if now is None else now
        with self._tx() as conn:
            answered = self._request(conn, run_id, "cancel",
                                     ("completed", "failed", "cancelled"), now, by)
            if not answered:
                seq = self._next_seq(conn, run_id)
                conn.execute(s.journal.insert().values(run_id=run_id, seq=seq, ts=now,
                                                       event="cancel_requested",
                                                       data=asked_by(by)))
                self._cancel_orphan(conn, run_id, seq + 1, now)
        return self.get_run(run_id)

    def _cancel_orphan(self, conn: Connection, run_id: str, seq: int, now: float) -> None:
        conn.execute(s.jobs.update().where(and_(
            s.jobs.c.run_id == run_id,
            s.jobs.c.status.in_(("pending", "running")))).values(status="cancelled",
                                                                finished_at=now))
        conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
            status="cancelled", finished_at=now, exit_code=1, owner=None, control=None,
            control_by=None, epoch=s.runs.c.epoch + 1))
        conn.execute(s.journal.insert().values(run_id=run_id, seq=seq, ts=now,
                                               event="run_finished",
                                               data=json.dumps({"status": "cancelled"})))
