"""PostgreSQL operations against the real server: connections terminated under a running
run, deadlocks retried inside the store, the pool's sizes. (SQLite has no server
connections to lose and takes one database lock, so none of this can happen to it.)"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

import jobweave as jw
from jobweave.store import open_store
from jobweave.store.postgres import APPLICATION_NAME, PostgresStore
from jobweave.store.retry import retry_conflicts
from tests import jobs


def _database(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _terminate(url: str) -> int:
    """End every connection to the run's database but this one: what an operator's
    pg_terminate_backend, or a failover, does to an engine."""
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (_database(url),)).fetchall()
    return len(rows)


def test_a_run_survives_its_connections_being_terminated(
        pg_store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="jobweave.store")
    tally = tmp_path / "tally.txt"
    count = 240
    definition = jw.batch(jw.job(jobs.tally, path=str(tally), label=f"j{i}", seconds=0.02,
                                 name=f"j{i}") for i in range(count))
    engine = jw.Engine(jw.Settings(store=pg_store_url))
    handle = engine.submit(definition, concurrency=8)
    terminated = []
    deadline = time.monotonic() + 120
    # cut every connection (the Writer's held one, the heartbeat's, the pool's) five
    # times while the run goes on, each once it has made progress since the last cut
    while len(terminated) < 5 and not handle.done:
        assert time.monotonic() < deadline, "the run made no progress"
        done = len(tally.read_text().splitlines()) if tally.exists() else 0
        if done >= (len(terminated) + 1) * count // 7:
            terminated.append(_terminate(pg_store_url))
        time.sleep(0.02)
    result = handle.wait(timeout=120)
    assert result.ok, result.counts()
    assert len(terminated) == 5 and sum(terminated) >= 5  # the engine's were among them
    runs = Counter(tally.read_text().splitlines())
    assert runs == Counter({f"j{i}": 1 for i in range(count)})  # no job ran twice
    journal = list(engine.store.journal(result.run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    finals = Counter(e["node"] for e in journal if e["event"] == "completed")
    assert finals == Counter({f"j{i}": 1 for i in range(count)})  # nothing lost, no twin
    assert engine.store.get_run(result.run_id).status == "completed"
    # the Writer's own connection was among those cut, and it went on on a new one
    assert any("connection lost" in r.getMessage() for r in caplog.records)


def _backends(url: str) -> list[tuple[int, str | None]]:
    with psycopg.connect(url, autocommit=True) as admin:
        return admin.execute(
            "SELECT pid, wait_event_type FROM pg_stat_activity WHERE datname = %s "
            "AND application_name LIKE %s", (_database(url), f"{APPLICATION_NAME}:%"),
        ).fetchall()


def test_a_deadlock_with_the_writer_is_retried_inside(pg_store_url: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(pg_store_url)
    engine = jw.Engine(jw.Settings(store=pg_store_url))
    run_id, _ = engine.create([jw.job(jobs.noop, name="a"), jw.job(jobs.noop, name="b")])
    next_seq, epoch = store.claim(run_id, "me")
    writer = store.writer(run_id, epoch)
    now = time.time()
    rows = [(run_id, next_seq, now, "completed", "a", 1, '{"output": 0}'),
            (run_id, next_seq + 1, now, "completed", "b", 1, '{"output": 0}')]
    updates = [("completed", 1, "0", None, now, now, run_id, 0),
               ("completed", 1, "0", None, now, now, run_id, 1)]
    errors: list[BaseException] = []

    def commit() -> None:
        try:
            writer.commit(rows, updates)
        except BaseException as exc:  # the test reports it below
            errors.append(exc)

    other = psycopg.connect(pg_store_url)
    try:
        # the other transaction waits 10 s before looking for deadlocks, the Writer 1 s:
        # the Writer is the one PostgreSQL aborts, and the store must cure it
        other.execute("SET deadlock_timeout = '10s'")
        other.execute("UPDATE jobweave_jobs SET error = 'held' WHERE run_id = %s AND idx = 1",
                      (run_id,))
        with caplog.at_level(logging.WARNING, logger="jobweave.store"):
            thread = threading.Thread(target=commit)
            thread.start()
            deadline = time.monotonic() + 30
            # the Writer holds the run's row (its fence) and waits for job b's
            while not any(wait == "Lock" for _, wait in _backends(pg_store_url)):
                assert time.monotonic() < deadline, "the Writer never waited for the lock"
                time.sleep(0.01)
            # ... and now this one waits for the run's row: a real deadlock
            other.execute("UPDATE jobweave_runs SET control = NULL WHERE run_id = %s",
                          (run_id,))
            other.commit()
            thread.join(timeout=30)
        assert not thread.is_alive() and errors == []
    finally:
        other.close()
        writer.close()
    assert any("deadlock detected" in r.getMessage() and "again (1 of 3)" in r.getMessage()
               for r in caplog.records)
    assert [(j.name, j.status, j.error) for j in store.get_jobs(run_id)] == [
        ("a", "completed", None), ("b", "completed", None)]
    assert [e["event"] for e in store.journal(run_id)][-2:] == ["completed", "completed"]


class _Aborted(Exception):
    sqlstate = "40001"


def test_conflicts_are_retried_three_times_then_shown() -> None:
    calls: list[int] = []

    def attempt() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise _Aborted("could not serialize access")
        return len(calls)

    assert retry_conflicts(attempt, "test") == 3
    calls.clear()

    def always() -> int:
        calls.append(1)
        raise _Aborted("could not serialize access")

    with pytest.raises(_Aborted):
        retry_conflicts(always, "test")
    assert len(calls) == 4  # the first try and three more


def test_the_pool_keeps_to_its_sizes(pg_store_url: str) -> None:
    pool = jw.Settings.from_env({"JOBWEAVE_POOL_MIN": "1", "JOBWEAVE_POOL_MAX": "3",
                                 "JOBWEAVE_POOL_TIMEOUT": "1"}).pool
    store = open_store(pg_store_url, pool=pool)
    assert isinstance(store, PostgresStore) and store.pool == pool
    held = [store.engine.connect() for _ in range(3)]
    try:
        assert len(_backends(pg_store_url)) == 3
        started = time.monotonic()
        with pytest.raises(Exception, match="QueuePool limit"):
            store.engine.connect()
        assert time.monotonic() - started < 5
    finally:
        for conn in held:
            conn.close()
    # given back: the ones above the minimum are closed (a backend leaves the server's
    # list a moment after its client hung up: a loaded machine takes longer)
    deadline = time.monotonic() + 10
    while len(_backends(pg_store_url)) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_backends(pg_store_url)) == 1


def test_runs_at_once_beyond_the_pool_size_do_not_starve_it(pg_store_url: str) -> None:
    settings = jw.Settings.from_env({"JOBWEAVE_STORE": pg_store_url, "JOBWEAVE_POOL_MIN": "1",
                                     "JOBWEAVE_POOL_MAX": "2", "JOBWEAVE_POOL_TIMEOUT": "2"})
    engine = jw.Engine(settings)
    # each run holds a connection for its commits while it runs, and renews its lease
    # every second through the pool: 5 runs at once on a pool of 2
    def chain() -> list[jw.Job]:
        first = jw.job(jobs.nap, seconds=1.5, name="nap")
        return [first, jw.job(jobs.noop, name="after", after=first)]

    handles = [engine.submit(chain()) for _ in range(5)]
    most = 0
    while not all(h.done for h in handles):
        most = max(most, len(_backends(pg_store_url)))
        time.sleep(0.05)
    assert all(h.wait(timeout=60).ok for h in handles)
    assert most <= settings.pool.max + len(handles)  # the budget: pool max + runs at once


# An engine process: two runs at once on a small pool, started when a file says go.
ENGINE = """
import os, sys, time
import jobweave as jw
from tests import jobs

url, go = sys.argv[1], sys.argv[2]
settings = jw.Settings.from_env({"JOBWEAVE_STORE": url, "JOBWEAVE_POOL_MIN": "1",
                                 "JOBWEAVE_POOL_MAX": "3"})
engine = jw.Engine(settings)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
handles = [engine.submit(jw.batch(jw.job(jobs.nap, seconds=0.05, name=f"j{i}")
                                  for i in range(40)), concurrency=4) for _ in range(2)]
assert all(h.wait(timeout=120).ok for h in handles)
print("done", flush=True)
"""


def test_engines_keep_to_the_connection_budget(pg_store_url: str, tmp_path: Path) -> None:
    from tests.store.scripts import start

    go = tmp_path / "go"
    procs = [start(tmp_path, f"engine{i}", ENGINE, pg_store_url, str(go)) for i in range(4)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    most: Counter[str] = Counter()
    total = 0
    while any(proc.poll() is None for proc in procs):
        with psycopg.connect(pg_store_url, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name LIKE %s GROUP BY 1",
                (_database(pg_store_url), f"{APPLICATION_NAME}:%")).fetchall()
        for name, count in rows:
            most[name] = max(most[name], count)
        total = max(total, sum(count for _, count in rows))
        time.sleep(0.05)
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "done" in out, err
    assert len(most) == 4  # every engine was seen with its connections
    assert min(most.values()) >= 2  # its runs' writers at least
    # each engine: the pool's max + its 2 runs' writers; all of them: the budget
    assert max(most.values()) <= 3 + 2
    assert total <= 4 * (3 + 2 + 2)


def test_a_session_left_idle_in_a_transaction_is_ended_by_the_server(pg_store_url: str) -> None:
    # an owner frozen inside a commit must not hold its run's row lock (and so every
    # other engine's takeover) for as long as it is frozen
    from jobweave.store.postgres import IDLE_IN_TRANSACTION_SECONDS

    store = open_store(pg_store_url)
    for engine in (store.engine, store.writer_engine):  # type: ignore[attr-defined]
        with engine.connect() as conn:
            shown = conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar()
        assert shown == f"{IDLE_IN_TRANSACTION_SECONDS // 60}min"
    options = "-c idle_in_transaction_session_timeout=300"
    conn = psycopg.connect(pg_store_url, autocommit=True, options=options)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT 1")
        time.sleep(0.6)  # idle in the transaction past the (shortened) limit
        with pytest.raises(psycopg.Error) as ended:
            conn.execute("SELECT 1")
        # and the store takes that for a lost connection: retried on a new one
        assert store.transient(ended.value)
    finally:
        conn.close()
