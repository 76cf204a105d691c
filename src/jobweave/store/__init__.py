"""The journal (source of truth) and its projections, in SQLite or PostgreSQL."""

from __future__ import annotations

import threading

from jobweave.errors import StoreError
from jobweave.settings import heartbeat_for
from jobweave.store.base import LEASE_SECONDS, JobRecord, RunRecord, owner_alive, owner_id
from jobweave.store.sql import SqlStore

__all__ = ["JobRecord", "RunRecord", "SqlStore", "open_store", "owner_alive", "owner_id"]

_open: dict[tuple[str, str, float, float], SqlStore] = {}
_lock = threading.Lock()


def open_store(url: str, *, durability: str = "normal", lease: float = LEASE_SECONDS,
               heartbeat: float | None = None) -> SqlStore:
    """Open (once per process and lease) the store a URL names.

    ``sqlite:///path``, a plain file path, or ``postgresql://user@host/db``. ``lease`` is
    how long a run's owner may go silent before its run reads ``crashed`` and may be taken
    over; its owner renews it every ``heartbeat`` seconds (by default a quarter of the
    lease, at most one second).
    """
    beat = heartbeat_for(lease) if heartbeat is None else heartbeat
    key = (url, durability, lease, beat)
    with _lock:
        store = _open.get(key)
        if store is None:
            store = _build(url, durability)
            store.lease_seconds, store.heartbeat_seconds = lease, beat
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
