"""A store that fails mid-run: reconnect and carry on, or stop with one clear error, and
never leave a run both unfinished and owned by a process that gave up on it."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.errors import StoreUnavailable
from jobweave.store import open_store

CALLS: Counter[tuple[str, str]] = Counter()
_lock = threading.Lock()

# A connection the server terminated is discarded by the pool without psycopg hearing a
# close(): psycopg then warns from its finaliser. That is the server's doing, not a leak.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*was deleted while still open:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <function BaseConnection.__del__"
        ":pytest.PytestUnraisableExceptionWarning"),
]


def tally(key: str, label: str, seconds: float = 0.05) -> str:
    with _lock:
        CALLS[(key, label)] += 1
    time.sleep(seconds)
    return label


def _flow(key: str, batches: int = 12, size: int = 3, seconds: float = 0.05) -> jw.Schedule:
    return jw.schedule([[jw.job(tally, key=key, label=f"{b}-{k}", seconds=seconds,
                                name=f"j{b}-{k}") for k in range(size)]
                        for b in range(batches)], name=key)


@pytest.fixture
def pg_admin(pg_store_url: str) -> Iterator[tuple[object, str]]:
    """An admin connection (closed after the test: a connection left to the garbage
    collector warns in whichever later test collects it) and the test database's name."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        yield conn, pg_store_url.rsplit("/", 1)[1]


def _terminate(admin: object, db: str) -> int:
    rows = admin.execute(  # type: ignore[attr-defined]
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()", (db,)).fetchall()
    return len(rows)


def _started(n: int) -> tuple[threading.Event, object]:
    seen = threading.Event()
    count = [0]

    def listener(e: object) -> None:
        if isinstance(e, jw.JobFinished):
            count[0] += 1
            if count[0] >= n:
                seen.set()
    return seen, listener


def _exactly_once(key: str, batches: int = 12, size: int = 3) -> None:
    want = {(key, f"{b}-{k}"): 1 for b in range(batches) for k in range(size)}
    assert {c: n for c, n in CALLS.items() if c[0] == key} == want


def test_postgres_backends_terminated_mid_run_the_run_carries_on(
        pg_store_url: str, pg_admin: tuple[object, str]) -> None:
    admin, db = pg_admin
    seen, listener = _started(5)
    handle = jw.submit(_flow("killed"), store=pg_store_url, listeners=[listener])
    assert seen.wait(20)
    killed = 0
    for _ in range(3):  # the writer's connection, the heartbeat's, the pool's
        killed += _terminate(admin, db)
        time.sleep(0.4)
    assert killed >= 1
    result = handle.wait(timeout=60)
    assert result.status == "completed"
    _exactly_once("killed")
    journal = list(open_store(pg_store_url).journal(handle.run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert sum(e["event"] == "completed" for e in journal) == 36


def test_postgres_refusing_connections_for_seconds_the_run_carries_on(
        pg_store_url: str, pg_admin: tuple[object, str]) -> None:
    admin, db = pg_admin
    seen, listener = _started(5)
    handle = jw.submit(_flow("refused", seconds=0.1), store=pg_store_url, listeners=[listener])
    assert seen.wait(20)
    admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')  # type: ignore[attr-defined]
    try:
        _terminate(admin, db)
        time.sleep(3)
    finally:
        admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')  # type: ignore[attr-defined]
    result = handle.wait(timeout=60)
    assert result.status == "completed"
    _exactly_once("refused")
    assert open_store(pg_store_url).get_run(handle.run_id).status == "completed"


def test_postgres_gone_for_longer_than_the_retries_stops_the_run_in_one_line(
        pg_store_url: str, pg_admin: tuple[object, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from jobweave.store import retry

    monkeypatch.setattr(retry, "RECONNECT_SECONDS", 1.5)
    admin, db = pg_admin
    seen, listener = _started(5)
    handle = jw.submit(_flow("gone", seconds=0.1), store=pg_store_url, listeners=[listener])
    assert seen.wait(20)
    admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')  # type: ignore[attr-defined]
    try:
        _terminate(admin, db)
        with pytest.raises(StoreUnavailable) as caught:
            handle.wait(timeout=30)
    finally:
        admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')  # type: ignore[attr-defined]
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(f"run {handle.run_id} was left as it was: resume it once the "
                            "store is back")
    assert "stayed unreachable for 2s" in message
    journal = list(open_store(pg_store_url).journal(handle.run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert journal[-1]["event"] != "run_finished"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_the_sqlite_file_deleted_mid_run_is_said_loudly(tmp_path: Path, how: str) -> None:
    path = tmp_path / "store.db"
    seen, listener = _started(2)
    handle = jw.submit(_flow(how, seconds=0.1), store=str(path), listeners=[listener])
    assert seen.wait(20)
    if how == "deleted":
        os.remove(path)
    else:  # a copy moved over it (a restored backup): another file at the same path
        shutil.copyfile(path, tmp_path / "copy.db")
        os.replace(tmp_path / "copy.db", path)
    with pytest.raises(StoreUnavailable, match=f"store file {path} was deleted or replaced"):
        handle.wait(timeout=30)


def test_a_retry_delay_that_would_overflow_is_capped(tmp_path: Path) -> None:
    flow = jw.schedule([[jw.job(tally, key="overflow", label="x", seconds=0.0, name="x"),
                         jw.job(jw_fail_target, retries=400, backoff=10.0, name="bad")]])
    result = jw.run(flow, store=str(tmp_path / "s.db"))
    assert result.status == "failed"
    bad = {j.name: j for j in result.jobs}["bad"]
    assert (bad.status, bad.attempts) == ("faulted", 401)


def jw_fail_target() -> None:
    raise ValueError("always")


def test_a_commit_the_database_refuses_fails_the_run_and_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    db = open_store(str(path))
    # a real refusal by the database: a trigger aborts the journal record of job j3-0
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON jobweave_journal "
            "WHEN NEW.node = 'j3-0' BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
    handle = jw.submit(_flow("refused-commit"), store=str(path))
    with pytest.raises(StoreUnavailable, match=r"refused by a trigger.*recorded failed"):
        handle.wait(timeout=30)
    record = db.get_run(handle.run_id)
    assert (record.status, record.owner) == ("failed", None)
    assert list(db.journal(handle.run_id))[-1]["data"]["status"] == "failed"
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")
    # the lease was released: this same process resumes it at once
    result = jw.resume(handle.run_id, store=str(path))
    assert result.status == "completed"
