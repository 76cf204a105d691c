"""The connection a runtime holds for its per-job commits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from jobweave.errors import RunOwnedError, StoreError
from jobweave.store.retry import log, persist, retry_conflicts

if TYPE_CHECKING:
    from jobweave.store.sql import SqlStore


class Writer:
    """One driver connection a runtime keeps for its whole run.

    Checking a connection out of the pool per commit (and the pool's reset on return)
    cost more than the commit itself; a chain of jobs commits once per job.

    Every commit is fenced by the epoch the run was claimed with: its first statement
    renews the lease on the run's row only while the epoch is still the owner's, which
    also takes that row's lock until the commit ends (a claim takes it too). A commit
    whose connection fails is retried on a new connection (see ``store.retry``).
    """

    def __init__(self, store: SqlStore, run_id: str, epoch: int) -> None:
        self._store = store
        self.run_id = run_id
        self.epoch = epoch
        self._raw: Any = None
        self._cur: Any = None
        self.on_close: Callable[[], None] | None = None
        """Called once when the writer closes (the store's checkpoints follow writers)."""
        self._connect()

    def _connect(self) -> None:
        self._raw = self._store.writer_engine.raw_connection()
        self._cur = self._raw.cursor()

    def commit(self, journal_rows: Sequence[tuple[Any, ...]],
               job_updates: Sequence[tuple[Any, ...]]) -> None:
        """Append journal records and update job projections in one transaction.

        A transaction the database aborted (deadlock, serialization failure) is run
        again; a failed connection is replaced and the commit retried on the new one."""
        what = f"store {self._store.url}: run {self.run_id}"
        try:
            retry_conflicts(lambda: self._once(journal_rows, job_updates), what)
        except (RunOwnedError, StoreError):
            raise
        except Exception as exc:
            if not self._store.transient(exc):
                raise StoreError(f"store {self._store.url}: {exc}") from exc
            log.warning("%s: connection lost (%s); committing on a new one", what,
                        str(exc).strip().splitlines()[0] if str(exc).strip() else
                        type(exc).__name__)
            self._drop()
            persist(lambda _retrying: retry_conflicts(
                lambda: self._again(journal_rows, job_updates), what),
                self._store.transient, what)

    def _once(self, journal_rows: Sequence[tuple[Any, ...]],
              job_updates: Sequence[tuple[Any, ...]]) -> None:
        store, raw, cur = self._store, self._raw, self._cur
        try:
            store._raw_begin(cur)
            cur.execute(store._sql_fence, (store.now(), self.run_id, self.epoch))
            if cur.rowcount != 1:
                store._raw_rollback(raw, cur)
                raise store.lost(self.run_id)
            store._raw_write(cur, journal_rows, job_updates)
            store._raw_commit(raw, cur)
        except RunOwnedError:
            raise
        except Exception as exc:
            with suppress(Exception):  # the original error is the one worth reporting
                store._raw_rollback(raw, cur)
            if store.transient(exc):
                raise
            raise StoreError(f"store {store.url}: {exc}") from exc

    def _again(self, journal_rows: Sequence[tuple[Any, ...]],
               job_updates: Sequence[tuple[Any, ...]]) -> None:
        """A retry on a new connection: first, did the failed attempt commit after all?"""
        if self._raw is None:
            self._connect()
        try:
            if journal_rows and self._store.journaled(self.run_id, journal_rows[0][1]):
                return
            self._once(journal_rows, job_updates)
        except Exception:
            self._drop()
            raise

    def _drop(self) -> None:
        with suppress(Exception):
            self._cur.close()
        with suppress(Exception):
            self._raw.invalidate()
        with suppress(Exception):
            self._raw.close()
        self._raw = self._cur = None

    def close(self) -> None:
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()
        if self._raw is None:
            return
        with suppress(Exception):
            self._cur.close()
        with suppress(Exception):
            self._raw.close()
        self._raw = self._cur = None
