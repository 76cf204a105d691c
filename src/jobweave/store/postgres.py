"""PostgreSQL: the shared store for several machines, through psycopg 3."""

from __future__ import annotations

from sqlalchemy import create_engine

from jobweave.errors import StoreError
from jobweave.store.retry import connection_error
from jobweave.store.sql import SqlStore


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
