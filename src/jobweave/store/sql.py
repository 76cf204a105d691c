"""SqlStore: the journal and its projections over SQLAlchemy Core, for every database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, or_, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from jobweave.errors import (
    RunNotFoundError,
    RunOwnedError,
    RunStateError,
    StoreError,
)
from jobweave.store import migrations
from jobweave.store import schema as s
from jobweave.store.base import LEASE_SECONDS, Claim, Control, RunRecord, asked_by, owner_alive
from jobweave.store.pages import PageReads
from jobweave.store.reads import RunReads
from jobweave.store.retry import conflicts_retried, persist
from jobweave.store.writer import Writer

JOURNAL_COLUMNS = ("run_id", "seq", "ts", "event", "node", "attempt", "data")
"""Order of the values in a journal row tuple given to :meth:`SqlStore.commit`."""
JOB_UPDATE_COLUMNS = ("status", "attempts", "output", "error", "started_at", "finished_at",
                      "run_id", "idx")
"""Order of the values in a job update tuple given to :meth:`SqlStore.commit`."""


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


REPLAY_CHUNK = 1000
"""Replayed completions journaled in one record."""


def lost_run(run_id: str, owner: str | None) -> RunOwnedError:
    """The error of an execution whose run another process took over."""
    return RunOwnedError(run_id, owner or "another process",
                         f"run {run_id} was taken over by {owner or 'another process'}: this "
                         "process stopped renewing its lease for longer than it lasts, so it "
                         "stopped running it")


class SqlStore(RunReads, PageReads):
    """The store shared by SQLite and PostgreSQL; dialect modules adjust connection setup."""

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

    def lost(self, run_id: str) -> RunOwnedError:
        """The error of an owner whose epoch is gone: it names the run's owner now."""
        try:
            return lost_run(run_id, self.owner_of(run_id))
        except StoreError:
            return lost_run(run_id, None)

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
    ) -> None:
        """Store a new run, its jobs (pending) and the journal's first record, at once.

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
        done = sorted(replayed.items())
        with self._tx() as conn:
            conn.execute(s.runs.insert().values(
                run_id=run_id, name=name, kind=kind, status="pending", source=source,
                digest=digest, options=json.dumps(options), total=len(jobs), created_at=now,
                parent_run=parent_run,
            ))
            rows: list[tuple[Any, ...]] = []
            for i, n, k, t in jobs:
                tags = json.dumps(list(t)) if t else None
                done_before = replayed.get(i)
                if done_before is None:
                    rows.append((run_id, i, n, k, "pending", 0, tags, None, None, None))
                else:
                    attempt, output, started, finished = done_before
                    rows.append((run_id, i, n, k, "completed", attempt, tags, output, started,
                                 finished))
            conn.exec_driver_sql(self._sql_new_job, rows)
            rest = json.dumps({"digest": digest, "options": options, "source": source,
                               "parent_run": parent_run})
            text = json.dumps(definition) if encoded is None else encoded
            conn.execute(s.journal.insert().values(
                run_id=run_id, seq=1, ts=now, event="submitted", node=None, attempt=None,
                data=f'{{"definition": {text}, {rest[1:]}',
            ))
            if done:
                # one record per chunk of replayed jobs (by plan index; the definition
                # above names them): 100,000 small records cost more than the data
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
                  by: str | None = None, why: str | None = None) -> tuple[Claim, bool]:
        """Claim a stopped run to resume it, and count the attempts a dead owner left
        running (see :meth:`mark_interrupted`), in one transaction; return the claim and
        whether the last owner had died.

        Of several processes resuming the same run at once exactly one gets a claim; the
        others get ``RunOwnedError`` naming it. Whatever the winner reads of the run after
        its claim (the jobs' states) no earlier owner can change any more: its epoch is
        fenced out.
        """
        now = self.now() if now is None else now
        with self._tx() as conn:
            row = self._lock_run(conn, run_id, owner, now)
            crashed = row.status == "running" and not self.alive(row.owner, row.heartbeat_at,
                                                                 now)
            self._count_lost(conn, run_id, crashed)
            return self._claim(conn, row, run_id, owner, now, by, why), crashed

    def _lock_run(self, conn: Connection, run_id: str, owner: str, now: float) -> Any:
        """The run's row, locked until the transaction ends, if ``owner`` may claim it."""
        row = conn.execute(select(s.runs.c.status, s.runs.c.owner, s.runs.c.heartbeat_at,
                                  s.runs.c.control, s.runs.c.control_by, s.runs.c.epoch)
                           .where(s.runs.c.run_id == run_id).with_for_update()).first()
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
                             .values(**run_update))

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
        if row.status in done:
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


def _number(value: float | None) -> str:
    """A float or None as JSON, without the encoder's per-call cost."""
    return "null" if value is None else repr(value)
