"""The fenced hand-over of an attempt between a run's owner and a remote worker.

One row of ``jobweave_attempts`` per job (or graph firing) of a run. Every write names
the attempt and its token and the state it expects, so a stale, late or duplicate
message, a worker that lost its lease, or an owner that gave the attempt up find no row
to change: the write does nothing and says so. Times are the database's clock, so the
clocks of the machines involved never have to agree.

The executors never use the store's API (the engine owns the store); this module speaks
to the one table of it that executors share with workers, in PostgreSQL, with psycopg.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from jobweave.errors import ConfigError

CHANNEL = "jobweave_attempts"
"""The LISTEN/NOTIFY channel of completions; the payload is the run id."""
NOW = "extract(epoch from clock_timestamp())::float8"
LIVE = (f"(a.state = 'running' AND a.lease_until > {NOW}) OR "
        f"(a.state = 'queued' AND a.queued_until > {NOW}) OR "
        "(a.state = 'done' AND (a.outcome::jsonb ->> 'ok') = 'true')")
"""A row an owner must not overwrite: an attempt still alive, or a success not yet taken."""

_DISPATCH = f"""
INSERT INTO jobweave_attempts AS a (run_id, slot, attempt, token, state, queue, task,
    worker, queued_until, lease_until, outcome, updated_at)
VALUES (%(run)s, %(slot)s, 1, %(token)s, 'queued', %(queue)s, %(task)s, NULL,
    {NOW} + %(wait)s, NULL, NULL, {NOW})
ON CONFLICT (run_id, slot) DO UPDATE SET attempt = a.attempt + 1, token = EXCLUDED.token,
    state = 'queued', queue = EXCLUDED.queue, task = EXCLUDED.task, worker = NULL,
    queued_until = EXCLUDED.queued_until, lease_until = NULL, outcome = NULL,
    updated_at = EXCLUDED.updated_at
WHERE NOT ({LIVE})
RETURNING attempt"""
_CLAIM = f"""
UPDATE jobweave_attempts SET state = 'running', worker = %(worker)s,
    lease_until = {NOW} + %(lease)s, updated_at = {NOW}
WHERE run_id = %(run)s AND slot = %(slot)s AND attempt = %(attempt)s AND token = %(token)s
    AND state = 'queued'
RETURNING task"""
_RENEW = f"""
UPDATE jobweave_attempts SET lease_until = {NOW} + %(lease)s, updated_at = {NOW}
WHERE run_id = %(run)s AND slot = %(slot)s AND attempt = %(attempt)s AND token = %(token)s
    AND state = 'running'"""
_COMPLETE = f"""
WITH done AS (
    UPDATE jobweave_attempts SET state = 'done', outcome = %(outcome)s, token = NULL,
        updated_at = {NOW}
    WHERE run_id = %(run)s AND slot = %(slot)s AND attempt = %(attempt)s
        AND token = %(token)s AND state = 'running'
    RETURNING run_id)
SELECT pg_notify('{CHANNEL}', run_id) FROM done"""
_GIVE_UP = f"""
UPDATE jobweave_attempts SET state = 'cancelled', token = NULL, updated_at = {NOW}
WHERE run_id = %(run)s AND slot = %(slot)s AND token = %(token)s
    AND state IN ('queued', 'running')"""
_SWEEP = f"""
UPDATE jobweave_attempts AS a SET state = 'lost', token = NULL, updated_at = {NOW}
WHERE run_id = %(run)s AND slot = ANY(%(slots)s) AND (
    (state = 'running' AND lease_until < {NOW}) OR (state = 'queued' AND queued_until < {NOW}))
RETURNING slot, attempt, worker"""
_DONE = """
SELECT slot, attempt, outcome FROM jobweave_attempts
WHERE run_id = %(run)s AND state = 'done' AND slot = ANY(%(slots)s)"""
_ROW = """
SELECT attempt, token, state, outcome FROM jobweave_attempts
WHERE run_id = %(run)s AND slot = %(slot)s"""


def conninfo(url: str) -> str:
    """The psycopg connection string of a ``postgresql://`` store URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    raise ConfigError("executor celery needs a PostgreSQL store (postgresql://...): workers on "
                      f"other machines cannot reach {url!r}")


class Attempts:
    """One connection to the table, usable from several threads (one statement at a time),
    reconnected once when the server dropped it."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise ConfigError("executor celery needs psycopg: "
                              "pip install 'jobweave[celery]'") from None
        self._psycopg = psycopg
        self._info = conninfo(url)
        self._lock = threading.Lock()
        self._conn: Any = None

    def _run(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        errors = (self._psycopg.OperationalError, self._psycopg.InterfaceError)
        with self._lock:
            for tries in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = self._psycopg.connect(self._info, autocommit=True)
                    cur = self._conn.execute(sql, params)
                    return cur.fetchall() if cur.description is not None else (
                        [()] * cur.rowcount)
                except errors:
                    self._close()
                    if tries == 2:
                        raise
        raise AssertionError("unreachable")

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # it is gone either way
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._close()

    # -- the owner's side ----------------------------------------------------------------
    def dispatch(self, run: str, slot: str, token: str, queue: str, task: str,
                 wait: float) -> int | None:
        """Write a new attempt; its number, or None when the row holds a live attempt or
        an untaken success (an earlier owner's: adopt it, see :meth:`row`)."""
        rows = self._run(_DISPATCH, {"run": run, "slot": slot, "token": token,
                                     "queue": queue, "task": task, "wait": wait})
        return int(rows[0][0]) if rows else None

    def row(self, run: str, slot: str) -> tuple[int, str | None, str, str | None] | None:
        """(attempt, token, state, outcome) of a slot, if it has a row."""
        rows = self._run(_ROW, {"run": run, "slot": slot})
        return (int(rows[0][0]), rows[0][1], rows[0][2], rows[0][3]) if rows else None

    def done(self, run: str, slots: Sequence[str]) -> list[tuple[str, int, str]]:
        """(slot, attempt, outcome) of the given slots whose attempt has ended."""
        return [(r[0], int(r[1]), r[2])
                for r in self._run(_DONE, {"run": run, "slots": list(slots)})]

    def sweep(self, run: str, slots: Sequence[str]) -> list[tuple[str, int, str | None]]:
        """Mark lost the attempts whose lease or queue wait ran out: (slot, attempt, worker)."""
        return [(r[0], int(r[1]), r[2])
                for r in self._run(_SWEEP, {"run": run, "slots": list(slots)})]

    def notify(self, run: str) -> None:
        """Wake the owners listening (the payload is the run id)."""
        self._run(f"SELECT pg_notify('{CHANNEL}', %(run)s)", {"run": run})

    def give_up(self, run: str, slot: str, token: str) -> bool:
        """Cancel an attempt (timeout, cancel): its worker stops at its next heartbeat."""
        return bool(self._run(_GIVE_UP, {"run": run, "slot": slot, "token": token}))

    # -- the worker's side ---------------------------------------------------------------
    def claim(self, run: str, slot: str, attempt: int, token: str, worker: str,
              lease: float) -> str | None:
        """Take an attempt before its job starts: its task, or None (stale or duplicate)."""
        rows = self._run(_CLAIM, {"run": run, "slot": slot, "attempt": attempt,
                                  "token": token, "worker": worker, "lease": lease})
        return str(rows[0][0]) if rows else None

    def renew(self, run: str, slot: str, attempt: int, token: str, lease: float) -> bool:
        """Extend the lease; False once the attempt is no longer this worker's."""
        return bool(self._run(_RENEW, {"run": run, "slot": slot, "attempt": attempt,
                                       "token": token, "lease": lease}))

    def complete(self, run: str, slot: str, attempt: int, token: str, outcome: str) -> bool:
        """Record the outcome (and wake the owner); False when fenced out."""
        return bool(self._run(_COMPLETE, {"run": run, "slot": slot, "attempt": attempt,
                                          "token": token, "outcome": outcome}))
