"""SqlStore: the journal and its projections over SQLAlchemy Core, for every database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jobweave.errors import RunNotFoundError, RunOwnedError, RunStateError, StoreError
from jobweave.store import schema as s
from jobweave.store.base import JobRecord, RunRecord, owner_alive

JOURNAL_COLUMNS = ("run_id", "seq", "ts", "event", "node", "attempt", "data")
"""Order of the values in a journal row tuple given to :meth:`SqlStore.commit`."""
JOB_UPDATE_COLUMNS = ("status", "attempts", "output", "error", "started_at", "finished_at",
                      "run_id", "idx")
"""Order of the values in a job update tuple given to :meth:`SqlStore.commit`."""


class SqlStore:
    """The store shared by SQLite and PostgreSQL; dialect modules adjust connection setup."""

    placeholder = "?"
    """The driver's positional parameter marker."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._ensure_schema()
        # The per-job path (journal appends, projection updates) goes to the driver's
        # executemany directly: SQLAlchemy's per-row parameter processing would cost
        # more than the database itself.
        p = self.placeholder
        self._sql_journal = (f"INSERT INTO {s.journal.name} ({', '.join(JOURNAL_COLUMNS)}) "
                             f"VALUES ({', '.join([p] * len(JOURNAL_COLUMNS))})")
        sets = ", ".join(f"{c} = {p}" for c in JOB_UPDATE_COLUMNS[:6])
        self._sql_job = f"UPDATE {s.jobs.name} SET {sets} WHERE run_id = {p} AND idx = {p}"
        self._sql_new_job = (f"INSERT INTO {s.jobs.name} (run_id, idx, name, kind, status, "
                             f"attempts, tags) VALUES ({', '.join([p] * 7)})")

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

    def _ensure_schema(self) -> None:
        try:
            with self._tx() as conn:
                self._check_or_create(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.url}: {exc}") from exc

    def _existing_tables(self, conn: Connection) -> set[str]:
        from sqlalchemy import inspect

        return set(inspect(conn).get_table_names())

    def _check_or_create(self, conn: Connection) -> None:
        tables = self._existing_tables(conn)
        if s.meta.name not in tables:
            ours = {t.name for t in s.metadata.sorted_tables}
            if tables & ours:
                raise StoreError(f"store {self.url} has jobweave tables but no version record")
            if tables and self._is_file_store():
                raise StoreError(f"{self.url} is not a jobweave database "
                                 f"(it holds other tables: {', '.join(sorted(tables)[:3])})")
            s.metadata.create_all(conn)
            conn.execute(s.meta.insert(), [{"key": "app", "value": s.APP_ID},
                                           {"key": "schema_version",
                                            "value": str(s.SCHEMA_VERSION)}])
            return
        values = dict(conn.execute(select(s.meta.c.key, s.meta.c.value)).all())
        if values.get("app") != s.APP_ID:
            raise StoreError(f"{self.url} is not a jobweave database")
        version = int(values.get("schema_version", "0"))
        if version > s.SCHEMA_VERSION:
            raise StoreError(f"{self.url} uses store schema {version}, newer than this jobweave "
                             f"understands ({s.SCHEMA_VERSION}); upgrade jobweave")

    def _is_file_store(self) -> bool:
        return False

    def close(self) -> None:
        self.engine.dispose()

    # -- writing runs -----------------------------------------------------------------
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
        now: float | None = None,
    ) -> None:
        """Store a new run, its jobs (pending) and the journal's first record, at once."""
        now = time.time() if now is None else now
        with self._tx() as conn:
            conn.execute(s.runs.insert().values(
                run_id=run_id, name=name, kind=kind, status="pending", source=source,
                digest=digest, options=json.dumps(options), total=len(jobs), created_at=now,
                cancel_requested=0, parent_run=parent_run,
            ))
            conn.exec_driver_sql(self._sql_new_job, [
                (run_id, i, n, k, "pending", 0, json.dumps(list(t)) if t else None)
                for i, n, k, t in jobs
            ])
            data = {"definition": definition, "digest": digest, "options": options,
                    "source": source, "parent_run": parent_run}
            conn.execute(s.journal.insert().values(
                run_id=run_id, seq=1, ts=now, event="submitted", node=None, attempt=None,
                data=json.dumps(data),
            ))

    def claim(self, run_id: str, owner: str, now: float | None = None) -> int:
        """Take ownership of a run to execute it; return the next journal sequence number.

        Refuses a run another live process owns, and a run that already finished.
        """
        now = time.time() if now is None else now
        with self._tx() as conn:
            row = conn.execute(select(s.runs.c.status, s.runs.c.owner, s.runs.c.heartbeat_at)
                               .where(s.runs.c.run_id == run_id)).first()
            if row is None:
                raise RunNotFoundError(run_id)
            if row.status == "running" and row.owner != owner and owner_alive(
                    row.owner, row.heartbeat_at, now):
                raise RunOwnedError(run_id, row.owner)
            if row.status == "completed":
                raise RunStateError(f"run {run_id} already completed", run_id=run_id)
            seq = self._next_seq(conn, run_id)
            conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
                status="running", owner=owner, heartbeat_at=now, started_at=now,
                finished_at=None, exit_code=None))
            conn.execute(s.journal.insert().values(
                run_id=run_id, seq=seq, ts=now, event="run_started", node=None, attempt=None,
                data=json.dumps({"owner": owner})))
            return seq + 1

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
    ) -> None:
        """Append journal records and update the projections in one transaction.

        Rows are tuples in the order of ``JOURNAL_COLUMNS`` and ``JOB_UPDATE_COLUMNS``.
        """
        with self._tx() as conn:
            if journal_rows:
                conn.exec_driver_sql(self._sql_journal, list(journal_rows))
            if job_updates:
                conn.exec_driver_sql(self._sql_job, list(job_updates))
            if run_update:
                conn.execute(s.runs.update().where(s.runs.c.run_id == run_id)
                             .values(**run_update))

    def heartbeat(self, run_id: str, owner: str, now: float | None = None) -> bool:
        """Renew the lease; return True when a cancel was requested from outside."""
        now = time.time() if now is None else now
        with self._tx() as conn:
            conn.execute(s.runs.update().where(and_(s.runs.c.run_id == run_id,
                                                    s.runs.c.owner == owner))
                         .values(heartbeat_at=now))
            flag = conn.execute(select(s.runs.c.cancel_requested)
                                .where(s.runs.c.run_id == run_id)).scalar()
        return bool(flag)

    def request_cancel(self, run_id: str, now: float | None = None) -> RunRecord:
        """Ask a run to stop. A run no live process owns is cancelled here and now."""
        now = time.time() if now is None else now
        with self._tx() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)).first()
            if row is None:
                raise RunNotFoundError(run_id)
            if row.status in ("completed", "failed", "cancelled"):
                raise RunStateError(f"run {run_id} already {row.status}", run_id=run_id)
            conn.execute(s.runs.update().where(s.runs.c.run_id == run_id)
                         .values(cancel_requested=1))
            seq = self._next_seq(conn, run_id)
            conn.execute(s.journal.insert().values(run_id=run_id, seq=seq, ts=now,
                                                   event="cancel_requested"))
            if row.status == "running" and owner_alive(row.owner, row.heartbeat_at, now):
                pass  # the owner sees the flag at its next heartbeat
            elif row.status == "pending" and row.owner is None and now - row.created_at < 30:
                pass  # a detached worker is about to claim it and will see the flag
            else:
                self._cancel_orphan(conn, run_id, seq + 1, now)
        return self.get_run(run_id)

    def _cancel_orphan(self, conn: Connection, run_id: str, seq: int, now: float) -> None:
        conn.execute(s.jobs.update().where(and_(
            s.jobs.c.run_id == run_id,
            s.jobs.c.status.in_(("pending", "running")))).values(status="cancelled",
                                                                finished_at=now))
        conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
            status="cancelled", finished_at=now, exit_code=1, owner=None))
        conn.execute(s.journal.insert().values(run_id=run_id, seq=seq, ts=now,
                                               event="run_finished",
                                               data=json.dumps({"status": "cancelled"})))

    # -- reading ------------------------------------------------------------------------
    def get_run(self, run_id: str, *, counts: bool = True) -> RunRecord:
        with self._read() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)).first()
            if row is None:
                raise RunNotFoundError(run_id)
            tally = self._counts(conn, [run_id]).get(run_id, {}) if counts else {}
        return _run_record(row, tally)

    def find_runs(self, prefix: str) -> list[str]:
        """Run ids starting with ``prefix`` (for short ids on the command line)."""
        with self._read() as conn:
            rows = conn.execute(select(s.runs.c.run_id).where(
                s.runs.c.run_id.like(prefix.replace("%", "") + "%")).limit(5)).all()
        return [r.run_id for r in rows]

    def list_runs(self, limit: int = 20, status: str | None = None) -> list[RunRecord]:
        """The most recent runs first."""
        with self._read() as conn:
            q = select(s.runs).order_by(s.runs.c.created_at.desc()).limit(limit)
            if status is not None and status != "crashed":
                q = q.where(s.runs.c.status == status)
            rows = conn.execute(q).all()
            tally = self._counts(conn, [r.run_id for r in rows])
        records = [_run_record(r, tally.get(r.run_id, {})) for r in rows]
        if status == "crashed":
            records = [r for r in records if r.status == "crashed"]
        return records

    def _counts(self, conn: Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
        if not run_ids:
            return {}
        rows = conn.execute(select(s.jobs.c.run_id, s.jobs.c.status, func.count())
                            .where(s.jobs.c.run_id.in_(run_ids))
                            .group_by(s.jobs.c.run_id, s.jobs.c.status)).all()
        out: dict[str, dict[str, int]] = {}
        for run_id, status, n in rows:
            out.setdefault(run_id, {})[status] = n
        return out

    def get_jobs(self, run_id: str) -> list[JobRecord]:
        with self._read() as conn:
            rows = conn.execute(select(s.jobs).where(s.jobs.c.run_id == run_id)
                                .order_by(s.jobs.c.idx)).all()
        if not rows:
            self.get_run(run_id, counts=False)  # raises RunNotFoundError when absent
        return [JobRecord(r.idx, r.name, r.kind, r.status, r.attempts,
                          json.loads(r.output) if r.output is not None else None, r.error,
                          r.started_at, r.finished_at,
                          tuple(json.loads(r.tags)) if r.tags else ()) for r in rows]

    def journal(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The run's journal records in order, each a plain dict with decoded data."""
        self.get_run(run_id, counts=False)
        with self._read() as conn:
            result = conn.execute(select(s.journal).where(s.journal.c.run_id == run_id)
                                  .order_by(s.journal.c.seq)).yield_per(2000)
            for r in result:
                yield {"run": r.run_id, "seq": r.seq, "ts": r.ts, "event": r.event,
                       "node": r.node, "attempt": r.attempt,
                       "data": json.loads(r.data) if r.data is not None else None}

    def submitted(self, run_id: str) -> dict[str, Any]:
        """The data of the run's first journal record: definition, digest, options, source."""
        with self._read() as conn:
            data = conn.execute(select(s.journal.c.data).where(and_(
                s.journal.c.run_id == run_id, s.journal.c.seq == 1))).scalar()
        if data is None:
            raise RunNotFoundError(run_id)
        return json.loads(data)  # type: ignore[no-any-return]


def _run_record(row: Any, counts: dict[str, int]) -> RunRecord:
    status = row.status
    if status == "running" and not owner_alive(row.owner, row.heartbeat_at):
        status = "crashed"
    return RunRecord(
        run_id=row.run_id, name=row.name, kind=row.kind, status=status, source=row.source,
        digest=row.digest, options=json.loads(row.options), total=row.total,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        exit_code=row.exit_code, owner=row.owner, heartbeat_at=row.heartbeat_at,
        cancel_requested=bool(row.cancel_requested), parent_run=row.parent_run, counts=counts,
    )
