"""Removing runs from a store: ``delete`` some by id, ``prune`` those older than an age.

Each call is one transaction. A run's journal, its jobs and its row go together or not at
all, so a delete that fails or is killed half-way leaves every run whole: never a run
whose journal lost records that ``recover`` would then read as never done (or done).
A live run (a process owns it, or its detached worker is about to claim it) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select

from jobweave.errors import JobweaveError, RunNotFoundError, RunStateError
from jobweave.store import schema as s
from jobweave.store.base import owner_alive
from jobweave.store.ownership import is_live
from jobweave.store.retry import conflicts_retried

if TYPE_CHECKING:
    from jobweave.store.sql import SqlStore

PRUNABLE = ("completed", "failed", "cancelled", "crashed", "paused", "pending")
"""The states ``prune --status`` accepts; a live run is never pruned."""

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_age(text: str) -> float:
    """Seconds in an age such as ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``."""
    match = _AGE.match(text)
    if match is None:
        raise JobweaveError(f"an age is a number and a unit (s, m, h, d, w), like 30d; "
                         f"got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _state(row: Any, now: float, lease: float) -> str:
    """The run's state as readers see it (``crashed`` for a running run whose owner died)."""
    if row.status == "running" and not owner_alive(row.owner, row.heartbeat_at, now, lease):
        return "crashed"
    return str(row.status)


def _remove(conn: Connection, run_ids: Sequence[str]) -> None:
    """Delete the runs' journals, jobs and rows (inside the caller's transaction)."""
    for chunk in (run_ids[k:k + 500] for k in range(0, len(run_ids), 500)):
        conn.execute(s.journal.delete().where(s.journal.c.run_id.in_(chunk)))
        conn.execute(s.jobs.delete().where(s.jobs.c.run_id.in_(chunk)))
        conn.execute(s.actions.delete().where(s.actions.c.run_id.in_(chunk)))
        conn.execute(s.attempts.delete().where(s.attempts.c.run_id.in_(chunk)))
        conn.execute(s.runs.delete().where(s.runs.c.run_id.in_(chunk)))


@conflicts_retried
def delete_runs(store: SqlStore, run_ids: Sequence[str], *, now: float | None = None) -> list[str]:
    """Delete these runs (full ids), all in one transaction; return their ids.

    Raises ``RunNotFoundError`` for an id the store does not hold and ``RunStateError``
    for a live run; then nothing is deleted.
    """
    now = store.now() if now is None else now
    wanted = list(dict.fromkeys(run_ids))
    with store._tx() as conn:
        rows = {r.run_id: r for r in conn.execute(  # locked in key order: no deadlock
            select(s.runs).where(s.runs.c.run_id.in_(wanted)).order_by(s.runs.c.run_id)
            .with_for_update()).all()}
        for run_id in wanted:
            row = rows.get(run_id)
            if row is None:
                raise RunNotFoundError(run_id)
            if is_live(row, now, store.lease_seconds):
                who = f"process {row.owner}" if row.owner else "its worker, about to start it"
                raise RunStateError(f"run {run_id} is {row.status}: {who} owns it; cancel it "
                                    "or wait for it to stop before deleting it", run_id=run_id)
        _remove(conn, wanted)
    return wanted


@conflicts_retried
def prune_runs(
    store: SqlStore,
    older_than: float,
    *,
    statuses: Sequence[str] = (),
    dry_run: bool = False,
    now: float | None = None,
) -> list[str]:
    """Delete the runs that stopped more than ``older_than`` seconds ago; return their ids.

    A run's age counts from when it finished, else from when it was last started, else
    from when it was created. Only runs in ``statuses`` (any state but a live one when
    empty); live runs are kept whatever their age. ``dry_run`` deletes nothing.
    """
    now = store.now() if now is None else now
    for status in statuses:
        if status not in PRUNABLE:
            raise JobweaveError(f"unknown run state {status!r}; one of {', '.join(PRUNABLE)}")
    cutoff = now - older_than
    stamp = func.coalesce(s.runs.c.finished_at, s.runs.c.started_at, s.runs.c.created_at)
    with store._tx() as conn:
        q = select(s.runs).where(stamp < cutoff).order_by(s.runs.c.run_id)  # lock order
        if statuses:
            stored = {"running" if x == "crashed" else x for x in statuses}
            q = q.where(s.runs.c.status.in_(sorted(stored)))
        rows = sorted(conn.execute(q.with_for_update()).all(), key=lambda r: r.created_at)
        lease = store.lease_seconds
        chosen = [r.run_id for r in rows if not is_live(r, now, lease)
                  and (not statuses or _state(r, now, lease) in statuses)]
        if chosen and not dry_run:
            _remove(conn, chosen)
    return chosen
