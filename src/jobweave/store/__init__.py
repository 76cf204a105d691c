"""The journal (source of truth) and its projections, in SQLite or PostgreSQL."""

from __future__ import annotations

import threading

from jobweave.errors import StoreError
from jobweave.store.base import JobRecord, RunRecord, owner_alive, owner_id
from jobweave.store.sql import SqlStore

__all__ = ["JobRecord", "RunRecord", "SqlStore", "open_store", "owner_alive", "owner_id"]

_open: dict[tuple[str, str], SqlStore] = {}
_lock = threading.Lock()


def open_store(url: str, *, durability: str = "normal") -> SqlStore:
    """Open (once per process) the store a URL names.

    ``sqlite:///path``, a plain file path, or ``postgresql://user@host/db``.
    """
    key = (url, durability)
    with _lock:
        store = _open.get(key)
        if store is None:
            store = _build(url, durability)
            _open[key] = store
        return store


def _build(url: str, durability: str) -> SqlStore:
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from jobweave.store.postgres import PostgresStore

        return PostgresStore(url)
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

    return SqliteStore(path, durability=durability)


def close_all() -> None:
    """Close every store this process opened (tests, long-lived services)."""
    with _lock:
        for store in _open.values():
            store.close()
        _open.clear()
