"""Pinning a run to a changed definition (resume ``--accept-changes``; mixed into
``SqlStore``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, select

from jobweave.store import schema as s
from jobweave.store.retry import conflicts_retried


class Redefine:
    """The one writer of a run's new definition and its rebuilt job projection."""

    _tx: Callable[[], AbstractContextManager[Connection]]
    _next_seq: Callable[[Connection, str], int]

    @conflicts_retried
    def redefine(
        self,
        run_id: str,
        *,
        definition: dict[str, Any],
        digest: str,
        source: str | None,
        jobs: Sequence[tuple[int, str, str, tuple[str, ...]]],
        keep: dict[str, int],
        now: float | None = None,
    ) -> None:
        """Pin a run to a changed definition (resume ``--accept-changes``).

        The job projection is rebuilt for the new jobs; ``keep`` maps the names of jobs
        whose definition did not change to their new index, and those keep their state.
        """
        now = time.time() if now is None else now
        with self._tx() as conn:
            # the run's row first, as every writer of a run's jobs takes it: one order
            conn.execute(select(s.runs.c.run_id).where(s.runs.c.run_id == run_id)
                         .with_for_update())
            old = {r.name: r for r in conn.execute(select(s.jobs).where(
                s.jobs.c.run_id == run_id)).all()}
            conn.execute(s.jobs.delete().where(s.jobs.c.run_id == run_id))
            rows = []
            for i, n, k, t in jobs:
                prev = old.get(n) if n in keep else None
                rows.append({
                    "run_id": run_id, "idx": i, "name": n, "kind": k,
                    "status": prev.status if prev is not None else "pending",
                    "attempts": prev.attempts if prev is not None else 0,
                    "output": prev.output if prev is not None else None,
                    "error": prev.error if prev is not None else None,
                    "started_at": prev.started_at if prev is not None else None,
                    "finished_at": prev.finished_at if prev is not None else None,
                    "tags": json.dumps(list(t)) if t else None})
            if rows:
                conn.execute(s.jobs.insert(), rows)
            conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
                digest=digest, total=len(jobs), source=source))
            seq = self._next_seq(conn, run_id)
            conn.execute(s.journal.insert().values(
                run_id=run_id, seq=seq, ts=now, event="redefined",
                data=json.dumps({"definition": definition, "digest": digest,
                                 "source": source, "kept": sorted(keep)})))
