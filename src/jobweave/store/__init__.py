"""The journal (source of truth) and its projections, in SQLite or PostgreSQL.

``SqlStore`` and the modules that query a store bring SQLAlchemy with them (a fifth of a
second): they load when first used, so that what only names a record (``RunRecord``,
``JobRecord``: the CLI's help, its renderers) does not wait for them.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from jobweave.errors import StoreError
from jobweave.settings import Pool, Settings, heartbeat_for
from jobweave.store.base import LEASE_SECONDS, JobRecord, RunRecord, owner_alive, owner_id

if TYPE_CHECKING:
    from jobweave.store.sql import SqlStore

__all__ = ["JobRecord", "RunRecord", "SqlStore", "build_store", "open_store", "owner_alive",
           "owner_id", "store_for_settings"]

_open: dict[tuple[str, str, Pool, float, float], SqlStore] = {}
_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    if name == "SqlStore":
        from jobweave.store.sql import SqlStore

        return SqlStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(url: str, *, durability: str = "normal", pool: Pool | None = None,
               upgrade: bool = True, lease: float = LEASE_SECONDS,
               heartbeat: float | None = None) -> SqlStore:
    """Open (once per process, pool and lease) the store a URL names.

    ``sqlite:///path``, a plain file path, or ``postgresql://user@host/db``. A store made
    by an older jobweave is upgraded on first use unless ``upgrade`` is False (then it is
    refused: ``jobweave db upgrade``); ``pool`` sizes a PostgreSQL store's connections.
    ``lease`` is how long a run's owner may go silent before its run reads ``crashed`` and
    may be taken over; its owner renews it every ``heartbeat`` seconds (by default a
    quarter of the lease, at most one second).
    """
    beat = heartbeat_for(lease) if heartbeat is None else heartbeat
    key = (_file_of(url), durability, pool or Pool(), lease, beat)
    with _lock:
        store = _open.get(key)
        if store is None:
            store = build_store(url, durability=durability, pool=pool, upgrade=upgrade)
            store.lease_seconds, store.heartbeat_seconds = lease, beat
            _open[key] = store
        return store


def _file_of(url: str) -> str:
    """A SQLite store by its absolute path (a process that changed folder since it opened
    ``jobweave.db`` gets the file the name means now); any other URL as it is."""
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    return os.path.abspath(path) if path and "://" not in path else url


def store_for_settings(settings: Settings) -> SqlStore:
    """The store ``settings`` name, opened with their durability, pool and upgrade policy."""
    return open_store(settings.store, durability=settings.durability, pool=settings.pool,
                      upgrade=settings.auto_migrate, lease=settings.lease,
                      heartbeat=settings.heartbeat_seconds)


def build_store(url: str, *, durability: str = "normal", pool: Pool | None = None,
                upgrade: bool | None = True) -> SqlStore:
    """A new store object for a URL, not shared (``upgrade=None``: its schema is neither
    checked nor changed, for ``jobweave db``)."""
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from jobweave.store.postgres import PostgresStore

        return PostgresStore(url, pool=pool, upgrade=upgrade)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise StoreError(f"unknown store URL scheme {scheme!r} in {url!r}; "
                         "use a file path, sqlite:///path or postgresql://")
    else:
        path = url
    if not path:
        raise StoreError("the store path is empty")
    from jobweave.store.sqlite import SqliteStore

    return SqliteStore(path, durability=durability, upgrade=upgrade)


def close_all() -> None:
    """Close every store this process opened (tests, long-lived services)."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()
