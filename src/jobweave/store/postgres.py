"""PostgreSQL: the shared store for several machines, through psycopg 3."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, create_engine
from sqlalchemy.dialects import postgresql

from jobweave.errors import StoreError
from jobweave.settings import Pool
from jobweave.store import schema as s
from jobweave.store.retry import conflict, connection_error
from jobweave.store.sql import JOURNAL_COLUMNS, SqlStore

MIGRATION_LOCK = 0x6A6F62776561
"""The advisory lock key schema changes are made under ("jobwea" in ASCII): engines
started together on an empty or older database migrate it once, the others wait."""
APPLICATION_NAME = "jobweave"
"""Every connection's ``application_name`` (with the process id): how an operator, or a
test, finds an engine's connections in ``pg_stat_activity``."""

IDLE_IN_TRANSACTION_SECONDS = 60
"""The server ends a session of ours left idle inside a transaction this long: an owner
frozen (SIGSTOP, a paused VM) in the middle of a commit would otherwise hold its run's
row lock, and with it every other engine's takeover, for as long as it stays frozen."""
CLOCK_SYNC_SECONDS = 60.0
"""How often a PostgreSQL store measures the server's clock against the local one."""


class PostgresStore(SqlStore):
    """Runs and journals in PostgreSQL tables named ``jobweave_*``."""

    placeholder = "%s"

    def __init__(self, url: str, *, pool: Pool | None = None,
                 upgrade: bool | None = True) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg: "
                             "pip install 'jobweave[postgres]'") from None
        sa_url = url
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                sa_url = "postgresql+psycopg://" + url[len(prefix):]
                break
        pool = pool or Pool()
        connect_args = {"application_name": f"{APPLICATION_NAME}:{os.getpid()}",
                        "connect_timeout": max(1, round(pool.timeout)),
                        "options": "-c idle_in_transaction_session_timeout="
                                   f"{IDLE_IN_TRANSACTION_SECONDS * 1000}"}
        # QueuePool keeps ``min`` connections between uses and opens up to ``max`` under
        # load (the ones above ``min`` are closed when given back); a connection is
        # checked before use (pre-ping), so one the server dropped while idle is replaced
        # instead of failing the first statement.
        engine = create_engine(
            sa_url, pool_size=pool.min, max_overflow=pool.max - pool.min,
            pool_timeout=pool.timeout, pool_recycle=pool.recycle, pool_pre_ping=True,
            connect_args=connect_args)
        # Each running run holds one connection for its commits (the Writer): those come
        # from a pool of their own with no upper bound, so that runs running at once
        # (child runs of a flow, runs a serve process started) can never starve the
        # short operations, the lease heartbeats among them, of the bounded pool.
        writers = create_engine(
            sa_url, pool_size=pool.min, max_overflow=-1, pool_recycle=pool.recycle,
            pool_pre_ping=True, connect_args=connect_args)
        self.pool = pool
        # a restarted server or a terminated backend: worth a new connection
        # (a session the server ended after it sat idle in a transaction too: the
        # process was frozen; on a new connection the fence tells whether it lost its run)
        self._connection_errors: tuple[type[BaseException], ...] = (
            psycopg.OperationalError, psycopg.InterfaceError,
            psycopg.errors.IdleInTransactionSessionTimeout)
        super().__init__(engine, _redact(url), upgrade=upgrade, writer_engine=writers)
        self._synced = -CLOCK_SYNC_SECONDS
        self.sync_clock()

    def sync_clock(self) -> None:
        """Measure how far the server's clock is from this machine's (``clock_offset``).

        Leases are stamped and judged on the store's clock, so engines whose machines'
        clocks differ still agree on when a lease ran out. Measured at most every
        ``CLOCK_SYNC_SECONDS`` (a heartbeat asks); a failed measure keeps the last one.
        """
        if time.monotonic() - self._synced < CLOCK_SYNC_SECONDS:
            return
        self._synced = time.monotonic()
        try:
            with self.engine.connect() as conn:
                before = time.time()
                server = float(conn.exec_driver_sql(
                    "SELECT extract(epoch FROM clock_timestamp())").scalar_one())
                after = time.time()
        except Exception as exc:  # the next heartbeat's retry reports a lost connection
            if not self.transient(exc):
                raise
            return
        self.clock_offset = server - (before + after) / 2


    def _raw_write(self, cur: Any, journal_rows: Sequence[tuple[Any, ...]],
                   job_updates: Sequence[tuple[Any, ...]]) -> None:
        # A group of journal records goes as one JSON array of arrays in one INSERT: one
        # parse (psycopg prepares it after a few uses) and one statement, where
        # executemany binds and executes each row. JSON carries floats exactly (shortest
        # repr), NULLs and any text. Job rows stay one UPDATE each: joined to a JSON
        # array, the planner scanned the whole jobs table for every commit (a hash join
        # over 10,000 rows: 2.5 ms of server time a commit, growing with the run).
        if len(journal_rows) > 1:
            cur.execute(_JOURNAL_JSON, (json.dumps(journal_rows),))
            journal_rows = ()
        super()._raw_write(cur, journal_rows, job_updates)

    def transient(self, exc: BaseException) -> bool:
        return (connection_error(exc, self._connection_errors)
                and not conflict(exc))

    @contextmanager
    def _migration_lock(self) -> Iterator[Connection]:
        # a transaction-level advisory lock: released by the commit (or the rollback, or
        # the connection's death), so a migration never leaves it held
        with self._tx() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            yield conn


def _from_json(columns: Sequence[str], table: Table) -> str:
    """The columns of a JSON array of row arrays, as the table's types."""
    return ", ".join(f"(r->>{i})::{table.c[name].type.compile(dialect=_PG)} AS {name}"
                     for i, name in enumerate(columns))


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_JOURNAL_JSON = (f"INSERT INTO {s.journal.name} ({', '.join(JOURNAL_COLUMNS)}) "
                 f"SELECT {_from_json(JOURNAL_COLUMNS, s.journal)} "
                 f"FROM json_array_elements(%s::json) AS r")


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, cred = head.partition("//")
    user = cred.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"
