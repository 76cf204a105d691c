"""Store fixtures: one contract, run against SQLite files and the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobweave.store import SqlStore, close_all, open_store


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    close_all()


def _url(request: pytest.FixtureRequest, tmp_path: Path, database: str) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue(database)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL: a SQLite file, then a new PostgreSQL database (holding an
    empty store of this version's schema, copied from a template; ``empty_url`` for a
    database with nothing in it)."""
    return _url(request, tmp_path, "pg_store_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL where nothing is stored yet: a new SQLite path, then an empty PostgreSQL
    database (for the tests of creating and upgrading a schema)."""
    return _url(request, tmp_path, "pg_url")


@pytest.fixture
def store(backend_url: str) -> SqlStore:
    return open_store(backend_url)
