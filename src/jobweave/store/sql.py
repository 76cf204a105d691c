"""SqlStore: the journal and its projections over SQLAlchemy Core, for every database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jobweave.errors import StoreError
from jobweave.store import migrations
from jobweave.store import schema as s
from jobweave.store.base import HAND_OFF
from jobweave.store.ownership import RunOwnership, lost_run
from jobweave.store.pages import PageReads
from jobweave.store.reads import RunReads
from jobweave.store.redefine import Redefine
from jobweave.store.requests import RunRequests
from jobweave.store.retry import conflicts_retried, persist
from jobweave.store.writer import Writer

JOURNAL_COLUMNS = ("run_id", "seq", "ts", "event", "node", "attempt", "data")
"""Order of the values in a journal row tuple given to :meth:`SqlStore.commit`."""
JOB_UPDATE_COLUMNS = ("status", "attempts", "output", "error", "started_at", "finished_at",
                      "run_id", "idx")
"""Order of the values in a job update tuple given to :meth:`SqlStore.commit`."""


REPLAY_CHUNK = 1000
"""Replayed completions journaled in one record."""



class SqlStore(RunOwnership, RunRequests, Redefine, RunReads, PageReads):
    """The store shared by SQLite and PostgreSQL; dialect modules adjust connection setup.

    Its writes of runs are here (create, commit, the writer); ownership, requests and
    redefinition are mixins of their own modules, and the queries are ``RunReads``."""

    placeholder = "?"
    """The driver's positional parameter marker."""

    def __init__(self, engine: Engine, url: str, *, upgrade: bool | None = True,
                 writer_engine: Engine | None = None) -> None:
        """``upgrade``: create or upgrade an older schema (False: refuse it; None: check
        nothing, for ``jobweave db``). ``writer_engine`` gives the connections runs hold
        for their commits (:class:`Writer`), when they must not come from ``engine``'s
        bounded pool."""
        self.engine = engine
        self.writer_engine = writer_engine or engine
        self.url = url
        self.schema_change: str | None = None
        """What opening the store did to its schema: ``created``, ``upgraded from N``."""
        try:
            if upgrade is not None:
                self._ensure_schema(upgrade)
        except BaseException:
            self.close()  # a refused store keeps no connection (nor SQLite side files)
            raise
        # The per-job path (journal appends, projection updates) goes to the driver's
        # executemany directly: SQLAlchemy's per-row parameter processing would cost
        # more than the database itself.
        p = self.placeholder
        self._sql_journal = (f"INSERT INTO {s.journal.name} ({', '.join(JOURNAL_COLUMNS)}) "
                             f"VALUES ({', '.join([p] * len(JOURNAL_COLUMNS))})")
        sets = ", ".join(f"{c} = {p}" for c in JOB_UPDATE_COLUMNS[:6])
        self._sql_job = f"UPDATE {s.jobs.name} SET {sets} WHERE run_id = {p} AND idx = {p}"
        # the fence of every owner write: renews the lease only while the run is still
        # the owner's epoch, and holds the run's row until the transaction ends
        self._sql_fence = (f"UPDATE {s.runs.name} SET heartbeat_at = {p} "
                           f"WHERE run_id = {p} AND epoch = {p}")
        self._sql_journaled = (f"SELECT 1 FROM {s.journal.name} WHERE run_id = {p} "
                               f"AND seq = {p}")
        self._sql_new_job = (f"INSERT INTO {s.jobs.name} (run_id, idx, name, kind, status, "
                             f"attempts, tags, output, started_at, finished_at) "
                             f"VALUES ({', '.join([p] * 10)})")

    # -- transactions ---------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction; the dialect may take its write lock up front."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"store {self.url}: {exc.orig}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreError(f"store {self.url}: {exc.orig}") from exc

    def _ensure_schema(self, upgrade: bool) -> None:
        """Check the schema; create or upgrade it (when ``upgrade``) under the migration
        lock. A current store costs one read, and no write lock: commands that only read
        never wait behind a run's writer."""
        try:
            try:
                with self.engine.connect() as conn:
                    version = migrations.fast_version(conn)
                if version == s.SCHEMA_VERSION:
                    return
            except DBAPIError:
                pass  # no version record to read: the full check below says why
            with self._read() as conn:
                if migrations.state(conn, self.url, file_store=self._is_file_store()).current:
                    return
            self.upgrade_schema(allowed=upgrade)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.url}: {exc}") from exc

    def upgrade_schema(self, *, allowed: bool = True) -> str | None:
        """Create or upgrade the store's schema (``jobweave db upgrade``), once whoever
        else is doing it has finished; return what was done (None: already current)."""
        with self._migration_lock() as conn:
            change = migrations.bring_up(conn, self.url, file_store=self._is_file_store(),
                                         allowed=allowed)
        self.schema_change = change or self.schema_change
        return change

    def schema_state(self) -> migrations.SchemaState:
        """Where the store's schema stands (``jobweave db current``); changes nothing."""
        with self._read() as conn:
            return migrations.state(conn, self.url, file_store=self._is_file_store())

    @contextmanager
    def _migration_lock(self) -> Iterator[Connection]:
        """A write transaction that holds the lock under which the schema is changed
        (SQLite: the database's write lock; PostgreSQL overrides)."""
        with self._tx() as conn:
            yield conn

    def _is_file_store(self) -> bool:
        return False

    def transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a failure of the connection worth retrying on a new one
        (dialects that have such failures override)."""
        return False

    def journaled(self, run_id: str, seq: int) -> bool:
        """Whether the journal holds record ``seq`` of the run: how a commit whose
        connection died during COMMIT learns whether it was committed."""
        with self._read() as conn:
            return conn.exec_driver_sql(self._sql_journaled, (run_id, seq)).first() is not None

    def check(self) -> None:
        """Raise :class:`StoreUnavailable` if the store is no longer the one opened
        (file stores override)."""

    def close(self) -> None:
        self.engine.dispose()
        if self.writer_engine is not self.engine:
            self.writer_engine.dispose()

    # -- writing runs -----------------------------------------------------------------
    @conflicts_retried
    def create_run(
        self,
        *,
        run_id: str,
        name: str,
        kind: str,
        source: str | None,
        definition: dict[str, Any],
        digest: str,
        options: dict[str, Any],
        jobs: Sequence[tuple[int, str, str, tuple[str, ...]]],
        parent_run: str | None = None,
        replayed: dict[int, tuple[int, str, float | None, float | None]] | None = None,
        replayed_from: str | None = None,
        now: float | None = None,
        encoded: str | None = None,
        first: Callable[[Connection], None] | None = None,
        also: Sequence[str] = (),
    ) -> None:
        """Store a new run, its jobs (pending) and the journal's first record, at once.

        ``first`` runs first in the same transaction (a trigger's claim of the fire the run
        is for): what it raises rolls everything back. ``also`` names more runs of the
        same definition stored in that transaction (the other fires a trigger claimed in
        the same round); they cannot be recoveries (``replayed``).

        ``encoded`` is ``definition`` as JSON text, when the caller has it (a compiled
        plan's): it is written as it is, not encoded again.

        ``replayed`` maps job indexes to (attempt, output JSON text, started, finished)
        completions taken over from ``replayed_from``'s journal (recovery): those jobs are
        stored completed and journaled in ``replayed`` records (``{"from": run, "jobs":
        [[index, attempt, started, finished, output], ...]}``, up to REPLAY_CHUNK jobs a
        record), in the same transaction.
        """
        now = time.time() if now is None else now
        replayed = replayed or {}
        if also and replayed:
            raise ValueError("a recovery stores one run, not several")
        done = sorted(replayed.items())
        text = json.dumps(definition) if encoded is None else encoded
        # the job rows are the same for every run stored here: built once
        new: list[tuple[int, str, str, str | None]] = []
        kept: list[tuple[Any, ...]] = []
        for i, n, k, t in jobs:
            tags = json.dumps(list(t)) if t else None
            done_before = replayed.get(i)
            if done_before is None:
                new.append((i, n, k, tags))
            else:
                attempt, output, started, finished = done_before
                kept.append((i, n, k, "completed", attempt, tags, output, started, finished))
        with self._tx() as conn:
            if first is not None:
                first(conn)
            for one in (run_id, *also):
                self._insert_run(conn, one, name=name, kind=kind, source=source,
                                 digest=digest, options=options, total=len(jobs), new=new,
                                 kept=kept, parent_run=parent_run, now=now, encoded=text)
            if done:
                # one record per chunk of replayed jobs (by plan index; the definition
                # names them): 100,000 small records cost more than the data
                origin = json.dumps(replayed_from)
                conn.exec_driver_sql(self._sql_journal, [
                    (run_id, seq, now, "replayed", None, None,
                     f'{{"from":{origin},"jobs":[' + ",".join(
                         f"[{i},{attempt},{_number(started)},{_number(finished)},{output}]"
                         for i, (attempt, output, started, finished) in chunk) + "]}")
                    for seq, chunk in enumerate(
                        (done[k:k + REPLAY_CHUNK] for k in range(0, len(done), REPLAY_CHUNK)),
                        2)
                ])

    def _insert_run(self, conn: Connection, run_id: str, *, name: str, kind: str,
                    source: str | None, digest: str, options: dict[str, Any], total: int,
                    new: list[tuple[int, str, str, str | None]],
                    kept: Sequence[tuple[Any, ...]], parent_run: str | None, now: float,
                    encoded: str) -> None:
        """The run's row, its jobs' rows (``new`` ones pending, ``kept`` ones completed by
        a recovery) and its ``submitted`` record (``encoded``: the definition as JSON
        text)."""
        conn.execute(s.runs.insert().values(
            run_id=run_id, name=name, kind=kind, status="pending", source=source,
            digest=digest, options=json.dumps(options), total=total, created_at=now,
            parent_run=parent_run,
        ))
        if new:
            self._insert_pending(conn, run_id, new)
        if kept:
            conn.exec_driver_sql(self._sql_new_job, [(run_id, *row) for row in kept])
        rest = json.dumps({"digest": digest, "options": options, "source": source,
                           "parent_run": parent_run})
        conn.execute(s.journal.insert().values(
            run_id=run_id, seq=1, ts=now, event="submitted", node=None, attempt=None,
            data=f'{{"definition": {encoded}, {rest[1:]}',
        ))

    def _insert_pending(self, conn: Connection, run_id: str,
                        jobs: list[tuple[int, str, str, str | None]]) -> None:
        """Store new jobs, pending: (index, name, kind, tags as JSON text) each (dialects
        may override with one statement)."""
        conn.exec_driver_sql(self._sql_new_job, [(run_id, i, n, k, "pending", 0, t, None,
                                                  None, None) for i, n, k, t in jobs])

    def _next_seq(self, conn: Connection, run_id: str) -> int:
        top = conn.execute(select(func.max(s.journal.c.seq))
                           .where(s.journal.c.run_id == run_id)).scalar()
        return int(top or 0) + 1

    def commit(
        self,
        run_id: str,
        journal_rows: Sequence[tuple[Any, ...]],
        job_updates: Sequence[tuple[Any, ...]],
        run_update: dict[str, Any] | None = None,
        *,
        epoch: int | None = None,
    ) -> None:
        """Append journal records and update the projections in one transaction.

        Rows are tuples in the order of ``JOURNAL_COLUMNS`` and ``JOB_UPDATE_COLUMNS``.
        With ``epoch`` (an owner's commit) the transaction is fenced like the
        :class:`Writer`'s: ``RunOwnedError`` if another process claimed the run since,
        and a failed connection is retried.
        """
        if epoch is None:
            self._commit(run_id, journal_rows, job_updates, run_update, None)
            return
        first = journal_rows[0][1] if journal_rows else None

        def attempt(retrying: bool) -> None:
            if retrying and first is not None and self.journaled(run_id, first):
                return
            self._commit(run_id, journal_rows, job_updates, run_update, epoch)

        persist(attempt, self.transient, f"store {self.url}: run {run_id}")

    @conflicts_retried
    def _commit(self, run_id: str, journal_rows: Sequence[tuple[Any, ...]],
                job_updates: Sequence[tuple[Any, ...]], run_update: dict[str, Any] | None,
                epoch: int | None) -> None:
        with self._tx() as conn:
            # the lease is renewed as of the last record (a paused run was last seen then)
            seen = journal_rows[-1][2] if journal_rows else time.time()
            if epoch is not None and conn.exec_driver_sql(
                    self._sql_fence, (seen, run_id, epoch)).rowcount != 1:
                raise lost_run(run_id, conn.execute(select(s.runs.c.owner).where(
                    s.runs.c.run_id == run_id)).scalar())
            if journal_rows:
                conn.exec_driver_sql(self._sql_journal, list(journal_rows))
            if job_updates:
                conn.exec_driver_sql(self._sql_job, list(job_updates))
            if run_update:
                conn.execute(s.runs.update().where(s.runs.c.run_id == run_id)
                             .values(**_handed_off(run_update)))

    def writer(self, run_id: str, epoch: int) -> Writer:
        """A connection held for one runtime's per-job commits (see :class:`Writer`)."""
        return Writer(self, run_id, epoch)

    def _raw_write(self, cur: Any, journal_rows: Sequence[tuple[Any, ...]],
                   job_updates: Sequence[tuple[Any, ...]]) -> None:
        """Append journal records and update job rows on a raw driver cursor, inside the
        caller's transaction (the :class:`Writer`'s hot path; dialects may override)."""
        if len(journal_rows) == 1:  # a chain commits one job at a time
            cur.execute(self._sql_journal, journal_rows[0])
        elif journal_rows:
            cur.executemany(self._sql_journal, journal_rows)
        if len(job_updates) == 1:
            cur.execute(self._sql_job, job_updates[0])
        elif job_updates:
            cur.executemany(self._sql_job, job_updates)

    def _raw_begin(self, cur: Any) -> None:
        """Start a write transaction on a raw driver cursor (dialects override)."""

    def _raw_commit(self, raw: Any, cur: Any) -> None:
        raw.commit()

    def _raw_rollback(self, raw: Any, cur: Any) -> None:
        raw.rollback()


def _handed_off(run_update: dict[str, Any]) -> dict[str, Any]:
    """A run update that hands the run off (``control`` = ``HAND_OFF``) does so only if no
    one asked the run to pause or cancel meanwhile: a request its owner had not read yet
    wins, and the run stays paused."""
    if run_update.get("control") != HAND_OFF:
        return run_update
    asked = s.runs.c.control.in_(("pause", "cancel"))
    return {**run_update, "control": case((asked, None), else_=HAND_OFF),
            "control_by": case((asked, None), else_=run_update.get("control_by"))}


def _number(value: float | None) -> str:
    """A float or None as JSON, without the encoder's per-call cost."""
    return "null" if value is None else repr(value)
