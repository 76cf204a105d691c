"""`jobweave delete` and `jobweave prune` (and jw.delete / jw.prune): one transaction each,
never a live run, and never a half-deleted run that a later recover could replay."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import jobweave as jw
from jobweave.settings import Settings
from jobweave.store import SqlStore, close_all, open_store, owner_id
from jobweave.store import schema as s
from tests.cli.helpers import Jobweave, one_error_line, wait_for
from tests.conftest import BACKENDS

DAY = 86400.0


def _done(store: str, name: str = "n") -> str:
    """A completed run of two jobs."""
    result = jw.run(jw.batch(jw.job("tests.jobs:add", name="one", a=1, b=2),
                             jw.job("tests.jobs:noop", name="two")), store=store, name=name)
    assert result.ok
    return result.run_id


def _rows(db: SqlStore, run_id: str) -> tuple[int, int, int]:
    """(runs, jobs, journal records) the store holds for a run."""
    with db.engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)  # type: ignore[return-value]
                                  .where(t.c.run_id == run_id)).scalar_one()
                     for t in (s.runs, s.jobs, s.journal))


def _age(db: SqlStore, run_id: str, days: float) -> None:
    """Make a run look as if it finished ``days`` ago."""
    then = time.time() - days * DAY
    with db.engine.begin() as conn:
        conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
            created_at=then - 1, started_at=then - 1, finished_at=then))


def test_delete_removes_runs_with_their_jobs_and_journal(cli: Jobweave, store: str,
                                                         db: SqlStore) -> None:
    first, second, kept = _done(store), _done(store), _done(store)
    others = (first, kept)
    prefix = next(second[:k] for k in range(8, len(second))
                  if not any(o.startswith(second[:k]) for o in others))
    p = cli("delete", first, prefix)  # an id and a unique prefix
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"deleted run {first}\ndeleted run {second}\n"
    assert _rows(db, first) == _rows(db, second) == (0, 0, 0)
    assert _rows(db, kept)[0] == 1
    listed = json.loads(cli("list", "--json").stdout)
    assert [r["run_id"] for r in listed] == [kept]

    missing = cli("delete", kept, "20200101-000000-nope00")
    assert missing.returncode == 2
    assert "20200101-000000-nope00" in one_error_line(missing.stderr)
    assert _rows(db, kept)[0] == 1  # nothing deleted when one of them is missing


def test_delete_refuses_a_live_run_and_deletes_nothing(cli: Jobweave, store: str,
                                                       db: SqlStore) -> None:
    finished = _done(store)
    live, _ = jw.Engine(Settings(store=store)).create(jw.job("tests.jobs:noop", name="n"))
    db.claim(live, owner_id())  # this process owns it, and is alive
    p = cli("delete", finished, live)
    assert p.returncode == 2
    line = one_error_line(p.stderr)
    assert f"run {live} is running" in line and owner_id() in line
    assert _rows(db, live)[0] == _rows(db, finished)[0] == 1
    # a run submitted moments ago is about to be claimed by its worker: live too
    fresh, _ = jw.Engine(Settings(store=store)).create(jw.job("tests.jobs:noop", name="n"))
    assert cli("delete", fresh).returncode == 2
    with pytest.raises(jw.RunStateError):
        jw.delete(live, store=store)

    # once its owner is gone (a crashed run), it can be deleted
    with db.engine.begin() as conn:  # its owner died ten minutes ago
        conn.execute(s.runs.update().where(s.runs.c.run_id == live).values(
            owner="elsewhere:1", heartbeat_at=time.time() - 600))
    assert db.get_run(live).status == "crashed"
    assert cli("delete", live).returncode == 0
    assert _rows(db, live) == (0, 0, 0)


def test_prune_deletes_old_runs_of_the_states_asked(cli: Jobweave, store: str,
                                                    db: SqlStore) -> None:
    old_ok, old_failed, recent = _done(store), _done(store), _done(store)
    with db.engine.begin() as conn:
        conn.execute(s.runs.update().where(s.runs.c.run_id == old_failed)
                     .values(status="failed", exit_code=1))
    _age(db, old_ok, 40)
    _age(db, old_failed, 31)
    _age(db, recent, 29)

    dry = cli("prune", "--older-than", "30d", "--dry-run", "--json")
    assert json.loads(dry.stdout) == {"deleted": [], "would_delete": [old_ok, old_failed]}
    assert _rows(db, old_ok)[0] == 1

    only_failed = cli("prune", "--older-than", "30d", "--status", "failed")
    assert only_failed.returncode == 0, only_failed.stderr
    assert only_failed.stdout == f"deleted run {old_failed}\n"
    assert only_failed.stderr == "deleted 1 run older than 30d\n"
    assert cli("prune", "--older-than", "30d").stdout == f"deleted run {old_ok}\n"
    assert [r["run_id"] for r in json.loads(cli("list", "--json").stdout)] == [recent]

    bad = cli("prune", "--older-than", "a month")
    assert bad.returncode == 2 and "--older-than" in one_error_line(bad.stderr)
    bad_state = cli("prune", "--older-than", "1d", "--status", "running")
    assert bad_state.returncode == 2 and "running" in one_error_line(bad_state.stderr)


def test_prune_never_deletes_a_live_run(store: str, db: SqlStore) -> None:
    live, _ = jw.Engine(Settings(store=store)).create(jw.job("tests.jobs:noop", name="n"))
    db.claim(live, owner_id())
    _age(db, live, 100)
    assert jw.prune("30d", store=store) == []
    assert db.get_run(live).status == "running"


@BACKENDS
def test_the_python_api_deletes_and_prunes_on_every_store(store_url: str) -> None:
    a, b, c = _done(store_url, "a"), _done(store_url, "b"), _done(store_url, "c")
    db = open_store(store_url)
    assert jw.delete(a, store=store_url) == [a]
    with pytest.raises(jw.RunNotFoundError):
        jw.get_run(a, store=store_url)
    _age(db, b, 3)
    from datetime import timedelta

    assert jw.prune(timedelta(days=2), store=store_url) == [b]
    assert jw.prune(2 * DAY, status=[jw.RunStatus.COMPLETED], store=store_url) == []
    assert [r.run_id for r in jw.runs(store=store_url)] == [c]
    close_all()


def _hold_trigger(path: str, body: str) -> None:
    """A trigger that runs ``body`` when the store deletes a run's row (the last step)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS hold")
        conn.execute(f"CREATE TRIGGER hold BEFORE DELETE ON jobweave_runs BEGIN {body}; END")
    conn.close()


def test_a_delete_that_fails_half_way_leaves_the_run_whole(store: str, db: SqlStore) -> None:
    run_id = _done(store)
    before = _rows(db, run_id)
    # the journal and the jobs are deleted first: the run's row then refuses to go
    _hold_trigger(store, "SELECT RAISE(ABORT, 'the disk said no')")
    with pytest.raises(jw.StoreError, match="the disk said no"):
        jw.delete(run_id, store=store)
    assert _rows(db, run_id) == before
    plan = jw.recovery_plan(run_id, store=store)
    assert plan.count("replay") == 2  # every completion is still in the journal


KILLED_DELETE = """
import sys, time
from pathlib import Path
from sqlalchemy import event
import jobweave as jw
from jobweave.store import open_store

store, run_id, marker = sys.argv[1:]
db = open_store(store)

def hold():
    Path(marker).write_text("deleting")  # journal and jobs are gone in this transaction
    time.sleep(60)

@event.listens_for(db.engine, "connect")
def _add(conn, _record):
    conn.create_function("hold", 0, hold)

db.engine.dispose()
jw.delete(run_id, store=store)
"""


@pytest.mark.crash
def test_a_delete_killed_half_way_leaves_the_run_whole(tmp_path: Path, store: str,
                                                       db: SqlStore) -> None:
    run_id = _done(store)
    before = _rows(db, run_id)
    _hold_trigger(store, "SELECT hold()")
    marker = tmp_path / "deleting"
    (tmp_path / "killed_delete.py").write_text(KILLED_DELETE)
    proc = subprocess.Popen([sys.executable, "killed_delete.py", store, run_id, str(marker)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None, what="the delete")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    _hold_trigger(store, "SELECT 1")
    assert _rows(db, run_id) == before
    assert jw.recovery_plan(run_id, store=store).count("replay") == 2
    assert jw.get_run(run_id, store=store).status == jw.RunStatus.COMPLETED
