"""PostgreSQL: the shared store for several machines, through psycopg 3."""

from __future__ import annotations

import time

from sqlalchemy import create_engine

from jobweave.errors import StoreError
from jobweave.store.retry import connection_error
from jobweave.store.sql import SqlStore

CLOCK_SYNC_SECONDS = 60.0
"""How often a PostgreSQL store measures the server's clock against the local one."""


class PostgresStore(SqlStore):
    """Runs and journals in PostgreSQL tables named ``jobweave_*``."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
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
        engine = create_engine(sa_url, pool_pre_ping=True)
        # a restarted server or a terminated backend: worth a new connection
        self._connection_errors: tuple[type[BaseException], ...] = (
            psycopg.OperationalError, psycopg.InterfaceError)
        super().__init__(engine, _redact(url))
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

    def transient(self, exc: BaseException) -> bool:
        return connection_error(exc, self._connection_errors)


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, cred = head.partition("//")
    user = cred.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"
