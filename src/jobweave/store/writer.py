"""The connection a runtime holds for its per-job commits."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from jobweave.errors import StoreError

if TYPE_CHECKING:
    from jobweave.store.sql import SqlStore


class Writer:
    """One driver connection a runtime keeps for its whole run.

    Checking a connection out of the pool per commit (and the pool's reset on return)
    cost more than the commit itself; a chain of jobs commits once per job.
    """

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._raw = store.engine.raw_connection()
        self._cur = self._raw.cursor()

    def commit(self, journal_rows: Sequence[tuple[Any, ...]],
               job_updates: Sequence[tuple[Any, ...]]) -> None:
        """Append journal records and update job projections in one transaction."""
        store, raw, cur = self._store, self._raw, self._cur
        try:
            store._raw_begin(cur)
            if len(journal_rows) == 1:  # a chain commits one job at a time
                cur.execute(store._sql_journal, journal_rows[0])
            elif journal_rows:
                cur.executemany(store._sql_journal, journal_rows)
            if len(job_updates) == 1:
                cur.execute(store._sql_job, job_updates[0])
            elif job_updates:
                cur.executemany(store._sql_job, job_updates)
            store._raw_commit(raw, cur)
        except Exception as exc:
            with suppress(Exception):  # the original error is the one worth reporting
                store._raw_rollback(raw, cur)
            raise StoreError(f"store {store.url}: {exc}") from exc

    def close(self) -> None:
        with suppress(Exception):
            self._cur.close()
        self._raw.close()
