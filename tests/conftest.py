"""Shared fixtures: real SQLite files, the real PostgreSQL on 127.0.0.1, services policy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so subprocesses and tests can import tests.jobs

PG_ADMIN_URL = os.environ.get("JOBWEAVE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def require_service(name: str, reason: str) -> None:
    """Skip (or fail under JOBWEAVE_REQUIRE_SERVICES=1) when a service is absent."""
    if os.environ.get("JOBWEAVE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required (JOBWEAVE_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{name} not available: {reason}")


BACKENDS = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
"""Mark a test module or test to run once on a SQLite file and once on PostgreSQL."""


@pytest.fixture(autouse=True, scope="session")
def _reap_detached_workers() -> Iterator[None]:
    """Submits run in a test's process (the CLI in-process, from any folder of the suite)
    start detached workers: wait for them at the end, so none outlives the session."""
    yield
    from jobweave.cli import run

    for worker in run._WORKERS:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    run._WORKERS.clear()


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store: a SQLite file, or a new PostgreSQL database under ``BACKENDS``."""
    if getattr(request, "param", "sqlite") == "postgresql":
        url: str = request.getfixturevalue("pg_store_url")
        return url
    return str(tmp_path / "store.db")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in its own folder so the default store never leaks between tests."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JOBWEAVE_STORE", raising=False)
    # the CLI's tables take their width from COLUMNS when set (pytest-xdist's workers set it
    # to 80): the tests see the CLI as a user piping its output does, whatever runs them
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))


def _pg_admin() -> Any:
    try:
        import psycopg
    except ImportError:
        require_service("PostgreSQL", "psycopg is not installed")
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:
        require_service("PostgreSQL", f"cannot connect to {PG_ADMIN_URL}: {exc}")


def _pg_database(template: str | None = None) -> Iterator[str]:
    name = "jobweave_t_" + secrets.token_hex(4)
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"'
                      + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        from jobweave.store import close_all

        close_all()
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    yield from _pg_database()


@pytest.fixture(scope="session")
def _pg_store_template() -> Iterator[str]:
    """A database holding an empty store of this jobweave's schema, made once a worker:
    each PostgreSQL store a test gets is a copy of it. Creating the schema costs the
    server more than copying the database does, and it was done for some 90 tests."""
    from jobweave.store import build_store

    for url in _pg_database():
        build_store(url).close()
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def pg_store_url(_pg_store_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database holding an empty jobweave store, dropped afterwards."""
    yield from _pg_database(template=_pg_store_template)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "crash: kills real jobweave processes (SIGKILL, SIGINT, SIGTERM); tests/crash")


LONG_FIRST = ("tests/scale/", "tests/celery/", "tests/user_sync/", "tests/crash/",
              "tests/web/test_browser.py", "tests/cli/test_docs.py", "tests/cli/test_durable.py",
              "tests/store/test_migrations.py", "tests/serve/test_cli.py",
              "tests/test_benchmarks_smoke.py", "tests/engine/test_store_failures.py")
"""Where the tests that run for seconds live (real processes killed and waited for, leases
running out, a browser). Under ``--dist worksteal`` (``make test``) they are collected
first, so that the workers share them out at the start and the suite does not end with one
worker still running a long one. xdist's default scheduling hands each worker a run of
consecutive tests, which would give one worker all of them: there the order is left as
it is."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("dist", "no") == "worksteal":
        items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))
