"""The user sync example against real services: its API in a thread on 127.0.0.1, its
tables in a fresh SQLite file or a fresh PostgreSQL database, and ``jobweave`` run as a
real process with the secrets in its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from examples.user_sync import api as users_api
from examples.user_sync.migrate import migrate
from sqlalchemy import create_engine, text

from jobweave.components.sql_engines import normalise

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "user_sync"
TOKEN = "t0ken-for-the-user-sync-tests"


@dataclass
class Api:
    state: users_api.UsersApi
    base: str

    def post(self, path: str) -> Any:
        req = urllib.request.Request(self.base + path, method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def served_pages(self, since: bool = False) -> list[int]:
        """Pages served in full, in order (``since``: incremental requests only)."""
        with self.state.lock:
            return [r["page"] for r in self.state.requests
                    if r["outcome"] == "served" and (r["since"] is not None) == since]


def start_api(users: int, *, flaky: float = 0.0, seed: int = 7, slow: float = 2.5) -> Api:
    state = users_api.UsersApi(users, TOKEN, flaky, seed, slow)
    server = users_api.serve(state)
    return Api(state, f"http://127.0.0.1:{server.server_address[1]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database: a SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'users.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    migrate(url)
    yield url


def rows(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(normalise(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


def execute(url: str, statement: str, **params: Any) -> None:
    engine = create_engine(normalise(url))
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def env(db: str) -> dict[str, str]:
    """A process environment with the example's secrets."""
    out = {k: v for k, v in os.environ.items() if k != "JOBWEAVE_STORE"}
    out.update(JOBWEAVE_SECRET_DB_URL=db, JOBWEAVE_SECRET_API_TOKEN=TOKEN)
    return out


def jobweave(cwd: Path, db: str, *args: str, timeout: float = 180) -> \
        subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobweave", *args], cwd=cwd, env=env(db),
                          capture_output=True, text=True, timeout=timeout)


def sync(cwd: Path, db: str, api: Api, *, page_size: int = 25, incremental: bool = False,
         graph: str = "sync.yaml") -> subprocess.CompletedProcess[str]:
    data = {"api": api.base, "page_size": page_size, "incremental": incremental}
    if graph == "drain.yaml":
        data = {"api": api.base, "limit": 100}
    return jobweave(cwd, db, "run", str(EXAMPLE / graph), "--store", str(cwd / "s.db"),
                    "--input", json.dumps(data))


def expected_rows(api: Api) -> dict[str, tuple[str, str, str]]:
    """external_id -> (email, name, status) as the sync must write them."""
    with api.state.lock:
        return {u["id"]: (u["email"].lower(), f"{u['first_name']} {u['last_name']}",
                          "active" if u["active"] else "inactive") for u in api.state.users}


def written_rows(db: str) -> dict[str, tuple[str, str, str]]:
    found = rows(db, "SELECT external_id, email, name, status FROM users")
    assert len(found) == len({r[0] for r in found}), "a user is in users twice"
    return {r[0]: (r[1], r[2], r[3]) for r in found}


def sync_logs(db: str) -> list[dict[str, Any]]:
    found = rows(db, "SELECT sync_id, status, records_processed, pages, duration_seconds, "
                     "errors FROM sync_logs ORDER BY id")
    return [{"sync_id": r[0], "status": r[1], "records": r[2], "pages": r[3],
             "duration": float(r[4]),
             "errors": json.loads(r[5]) if isinstance(r[5], str) else r[5]} for r in found]
