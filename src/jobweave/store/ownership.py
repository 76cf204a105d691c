"""Run ownership: claiming a run, taking over a dead owner's, the lease heartbeat, and the
fence that keeps an owner whose epoch is gone from writing (mixed into ``SqlStore``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, and_, case, or_, select

from jobweave.errors import RunNotFoundError, RunOwnedError, RunStateError, StoreError
from jobweave.store import schema as s
from jobweave.store.base import (
    LEASE_SECONDS,
    Claim,
    Control,
    Leases,
    is_handed_off,
    owner_alive,
)
from jobweave.store.retry import conflicts_retried, persist

CLAIM_GRACE = 30.0
"""Seconds a submitted run waits for its detached worker before requests treat it as
orphaned."""


def is_live(row: Any, now: float, lease: float = LEASE_SECONDS) -> bool:
    """Whether a process runs (or is about to run) the run of this row: its owner holds
    its lease of ``lease`` seconds, or its detached worker is about to claim it."""
    if row.status == "running":
        return owner_alive(row.owner, row.heartbeat_at, now, lease)
    return bool(row.status == "pending" and row.owner is None
                and now - row.created_at < CLAIM_GRACE)


def lost_run(run_id: str, owner: str | None) -> RunOwnedError:
    """The error of an execution whose run another process took over."""
    return RunOwnedError(run_id, owner or "another process",
                         f"run {run_id} was taken over by {owner or 'another process'}: this "
                         "process stopped renewing its lease for longer than it lasts, so it "
                         "stopped running it")


def _locked_row(conn: Connection, run_id: str) -> Any:
    """The columns of the run's row that a claim and a set-aside decide by (None if there
    is no such run), the row locked until the transaction ends."""
    c = s.runs.c
    return conn.execute(select(c.status, c.owner, c.heartbeat_at, c.control, c.control_by,
                               c.created_at, c.epoch)
                        .where(c.run_id == run_id).with_for_update()).first()


class RunOwnership(Leases):
    """Who runs a run: claims, take-overs, heartbeats, a failed owner's last word."""

    url: str
    _sql_fence: str
    _tx: Callable[[], AbstractContextManager[Connection]]
    _read: Callable[[], AbstractContextManager[Connection]]
    _next_seq: Callable[[Connection, str], int]
    check: Callable[[], None]
    transient: Callable[[BaseException], bool]

    def lost(self, run_id: str) -> RunOwnedError:
        """The error of an owner whose epoch is gone: it names the run's owner now."""
        try:
            return lost_run(run_id, self.owner_of(run_id))
        except StoreError:
            return lost_run(run_id, None)

    @conflicts_retried
    def claim(self, run_id: str, owner: str, now: float | None = None, *,
              by: str | None = None, why: str | None = None) -> Claim:
        """Take ownership of a run to execute it; return the next journal sequence number
        and the new owner's epoch (every claim bumps it, fencing out earlier owners).

        ``by`` is who asked for this execution (a resume, a retry, a fire asked of a
        trigger) and ``why`` what they asked (``resume``, ``retry-failed``, ...): both go
        into the ``run_started`` record. Refuses a run another live process owns, and a
        run that already finished.
        """
        now = self.now() if now is None else now
        with self._tx() as conn:
            row = self._lock_run(conn, run_id, owner, now)
            return self._claim(conn, row, run_id, owner, now, by, why)

    @conflicts_retried
    def take_over(self, run_id: str, owner: str, now: float | None = None, *,
                  by: str | None = None, why: str | None = None,
                  expect: str | None = None) -> tuple[Claim, bool]:
        """Claim a stopped run to resume it, and count the attempts a dead owner left
        running (see :meth:`mark_interrupted`), in one transaction; return the claim and
        whether the last owner had died.

        Of several processes resuming the same run at once exactly one gets a claim; the
        others get ``RunOwnedError`` naming it. Whatever the winner reads of the run after
        its claim (the jobs' states) no earlier owner can change any more: its epoch is
        fenced out.

        ``expect`` (a serving engine's takeover) is what the run was when it was found:
        ``crashed`` or ``handed off``; if it is something else by now (someone paused or
        cancelled it meanwhile) the claim is refused with ``RunStateError``.
        """
        now = self.now() if now is None else now
        with self._tx() as conn:
            row = self._lock_run(conn, run_id, owner, now)
            crashed = row.status == "running" and not self.alive(row.owner, row.heartbeat_at,
                                                                 now)
            found = {"crashed": crashed,
                     "handed off": is_handed_off(row.status, row.control)}
            if expect is not None and not found.get(expect, False):
                raise RunStateError(f"run {run_id} is no longer {expect}", run_id=run_id)
            self._count_lost(conn, run_id, crashed)
            return self._claim(conn, row, run_id, owner, now, by, why), crashed

    @conflicts_retried
    def set_aside(self, run_id: str, *, by: str | None = None,
                  now: float | None = None) -> str | None:
        """Take a stopped run out of the reach of serving engines before a recovery
        replays its journal as a new run, so its unfinished jobs do not run in both.

        A crashed, pending or handed-off run (what a ``serve`` would take over) becomes
        paused with no owner, in one transaction that bumps its epoch (an owner that was
        only frozen is fenced out) and journals ``run_paused`` with ``by`` and the
        action ``recover``. Returns what the run was, or None when it is left as it was
        (paused, finished, or not in this store). Raises ``RunOwnedError`` while a live
        process runs it, or its detached worker is about to.
        """
        now = self.now() if now is None else now
        with self._tx() as conn:
            row = _locked_row(conn, run_id)
            if row is None:
                return None
            if is_live(row, now, self.lease_seconds):
                raise RunOwnedError(run_id, row.owner or "its detached worker")
            was = {"running": "crashed", "pending": "pending"}.get(row.status)
            if was is None and is_handed_off(row.status, row.control):
                was = "handed off"
            if was is None:
                return None
            seq = self._next_seq(conn, run_id)
            conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
                status="paused", owner=None, control=None, control_by=None,
                epoch=int(row.epoch or 0) + 1))
            data = {"action": "recover", "was": was, **({"by": by} if by else {})}
            conn.execute(s.journal.insert().values(
                run_id=run_id, seq=seq, ts=now, event="run_paused", node=None, attempt=None,
                data=json.dumps(data)))
            return was

    def _lock_run(self, conn: Connection, run_id: str, owner: str, now: float) -> Any:
        """The run's row, locked until the transaction ends, if ``owner`` may claim it."""
        row = _locked_row(conn, run_id)
        if row is None:
            raise RunNotFoundError(run_id)
        if row.status == "running" and row.owner != owner and self.alive(
                row.owner, row.heartbeat_at, now):
            raise RunOwnedError(run_id, row.owner)
        if row.status == "completed":
            raise RunStateError(f"run {run_id} already completed", run_id=run_id)
        return row

    def _claim(self, conn: Connection, row: Any, run_id: str, owner: str, now: float,
               by: str | None, why: str | None) -> Claim:
        seq = self._next_seq(conn, run_id)
        # a request made before a detached worker claimed the run still stands; any
        # other was answered by the owner that stopped
        stands = row.status == "pending"
        epoch = int(row.epoch or 0) + 1
        conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
            status="running", owner=owner, heartbeat_at=now, started_at=now,
            finished_at=None, exit_code=None, control=row.control if stands else None,
            control_by=row.control_by if stands else None, epoch=epoch))
        data: dict[str, Any] = {"owner": owner}
        if by is not None:
            data["by"] = by
        if why is not None:
            data["action"] = why
        if row.status == "running" and row.owner != owner:  # taken over from a lost owner
            data["from"] = row.owner
        conn.execute(s.journal.insert().values(
            run_id=run_id, seq=seq, ts=now, event="run_started", node=None, attempt=None,
            data=json.dumps(data)))
        return Claim(seq + 1, epoch)

    @conflicts_retried
    def heartbeat(self, run_id: str, owner: str, now: float | None = None, *,
                  epoch: int | None = None) -> Control | None:
        """Renew the lease; return a request from outside (``cancel``/``pause``, and who
        made it) if any.

        Raises ``RunOwnedError`` when ``owner`` (at ``epoch``, when given) no longer owns
        the run: another process took it over after the lease ran out. A failed
        connection is retried (``StoreUnavailable`` once that takes too long).
        """
        self.check()
        self.sync_clock()
        fence = s.runs.c.owner == owner if epoch is None else s.runs.c.epoch == epoch

        def attempt(_retrying: bool) -> tuple[int, Any]:
            stamp = self.now() if now is None else now
            with self._tx() as conn:
                renewed = conn.execute(s.runs.update().where(and_(
                    s.runs.c.run_id == run_id, fence)).values(heartbeat_at=stamp)).rowcount
                row = conn.execute(select(s.runs.c.control, s.runs.c.control_by,
                                          s.runs.c.owner)
                                   .where(s.runs.c.run_id == run_id)).first()
            return renewed, row

        renewed, row = persist(attempt, self.transient, f"store {self.url}: run {run_id}")
        if not renewed:
            raise lost_run(run_id, row.owner if row is not None else None)
        if row is None or not row.control:
            return None
        by = None if row.control_by is None else str(row.control_by)
        return Control(str(row.control), by)

    @conflicts_retried
    def fail_run(self, run_id: str, epoch: int, error: str, now: float | None = None) -> bool:
        """Record a run its owner could not finish as ``failed`` and release its lease,
        unless another process claimed it since; return whether it was recorded.

        Its running jobs go back to ``pending``: a resume runs them again.
        """
        now = self.now() if now is None else now
        with self._tx() as conn:
            if conn.exec_driver_sql(self._sql_fence, (now, run_id, epoch)).rowcount != 1:
                return False
            seq = self._next_seq(conn, run_id)
            conn.execute(s.journal.insert().values(
                run_id=run_id, seq=seq, ts=now, event="run_finished",
                data=json.dumps({"status": "failed", "error": error})))
            conn.execute(s.jobs.update().where(and_(
                s.jobs.c.run_id == run_id, s.jobs.c.status == "running"))
                .values(status="pending"))
            conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
                status="failed", finished_at=now, exit_code=1, owner=None, control=None,
                control_by=None))
        return True

    def owner_of(self, run_id: str) -> str | None:
        """Who owns the run now (``host:pid``), if anyone."""
        with self._read() as conn:
            owner = conn.execute(select(s.runs.c.owner)
                                 .where(s.runs.c.run_id == run_id)).scalar()
        return None if owner is None else str(owner)

    @conflicts_retried
    def mark_interrupted(self, run_id: str, now: float | None = None) -> bool:
        """Before a resume: count the attempts that a dead owner left running.

        When the run's owner died (the run reads ``crashed``), every job it left
        ``running`` gets one more ``lost`` attempt and goes back to ``pending``, in one
        transaction, so a second resume of the same crash counts nothing twice. Jobs that
        ended ``faulted``, ``cancelled`` or ``skipped`` start afresh (``lost`` = 0): a
        resume runs them again with all their recovery attempts. One statement, so one
        pass over the run's jobs. Returns whether the owner had died.
        """
        now = self.now() if now is None else now
        with self._tx() as conn:
            row = conn.execute(select(s.runs.c.status, s.runs.c.owner, s.runs.c.heartbeat_at)
                               .where(s.runs.c.run_id == run_id).with_for_update()).first()
            if row is None:
                raise RunNotFoundError(run_id)
            crashed = row.status == "running" and not self.alive(row.owner, row.heartbeat_at,
                                                                 now)
            self._count_lost(conn, run_id, crashed)
        return bool(crashed)

    def _count_lost(self, conn: Connection, run_id: str, crashed: bool) -> None:
        jobs = s.jobs.c
        ended = and_(jobs.lost > 0, jobs.status.in_(("faulted", "cancelled", "skipped")))
        if crashed:
            running = jobs.status == "running"
            conn.execute(s.jobs.update().where(and_(jobs.run_id == run_id,
                                                    or_(running, ended))).values(
                lost=case((running, jobs.lost + 1), else_=0),
                status=case((running, "pending"), else_=jobs.status)))
        else:
            conn.execute(s.jobs.update().where(and_(jobs.run_id == run_id, ended))
                         .values(lost=0))
