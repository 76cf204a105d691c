"""jw.runs() and jw.get_run(): the records `jobweave list` and `status` show, with enum states."""

from __future__ import annotations

import json
import time

import pytest

import jobweave as jw
from jobweave.store import SqlStore
from jobweave.store import schema as s
from tests.cli.helpers import Jobweave


def test_runs_and_get_run_return_what_the_cli_shows(cli: Jobweave, store: str,
                                                    db: SqlStore) -> None:
    ok = jw.run(jw.job("tests.jobs:noop", name="a"), store=store, name="nightly-1")
    bad = jw.run(jw.job("tests.jobs:fail", name="b", message="no"), store=store,
                 name="nightly-2")
    other = jw.run(jw.job("tests.jobs:noop", name="c"), store=store, name="hourly")

    listed = jw.runs(store=store)
    assert [r.run_id for r in listed] == [other.run_id, bad.run_id, ok.run_id]
    shown = json.loads(cli("list", "--json").stdout)
    assert [(r["run_id"], r["status"], r["counts"]) for r in shown] == [
        (r.run_id, r.status, r.counts) for r in listed]

    failed = jw.runs(status=jw.RunStatus.FAILED, store=store)
    assert [r.run_id for r in failed] == [bad.run_id]
    assert failed[0].status is jw.RunStatus.FAILED and failed[0].status == "failed"
    assert [r.run_id for r in jw.runs(status="completed", store=store)] == [
        other.run_id, ok.run_id]
    assert [r.name for r in jw.runs(name="NIGHTLY-*", store=store)] == ["nightly-2",
                                                                        "nightly-1"]
    assert len(jw.runs(limit=1, store=store)) == 1

    record = jw.get_run(bad.run_id, store=store)
    status = json.loads(cli("status", bad.run_id, "--json").stdout)
    assert (record.run_id, record.status, record.counts, record.total) == (
        status["run_id"], status["status"], status["counts"], status["total"])
    assert jw.get_run("last", store=store).run_id == other.run_id
    assert jw.get_run(bad.run_id[:-2], store=store).run_id == bad.run_id
    with pytest.raises(jw.RunNotFoundError):
        jw.get_run("20200101-000000-nope00", store=store)


def test_a_crashed_run_reads_as_crashed_with_interrupted_jobs(store: str, db: SqlStore) -> None:
    engine = jw.Engine(jw.Settings(store=store))
    run_id, _ = engine.create(jw.job("tests.jobs:noop", name="n"))
    with db.engine.begin() as conn:  # its owner died while the job ran
        conn.execute(s.runs.update().where(s.runs.c.run_id == run_id).values(
            status="running", owner="elsewhere:1", heartbeat_at=time.time() - 600))
        conn.execute(s.jobs.update().where(s.jobs.c.run_id == run_id).values(status="running"))
    record = jw.get_run(run_id, store=store)
    assert record.status is jw.RunStatus.CRASHED
    assert record.counts == {jw.JobState.INTERRUPTED: 1}
    assert [r.run_id for r in jw.runs(status=jw.RunStatus.CRASHED, store=store)] == [run_id]
    assert db.find_jobs(run_id)[0].status is jw.JobState.RUNNING
