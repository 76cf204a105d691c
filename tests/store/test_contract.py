"""The store contract, against SQLite and PostgreSQL: journal, projections, queries."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, inspect, text

import jobweave as jw
from jobweave.errors import RunNotFoundError, RunStateError
from jobweave.store import SqlStore, close_all, open_store
from jobweave.store.schema import SCHEMA_VERSION
from tests import jobs

FINAL_EVENTS = {"completed", "faulted", "cancelled", "skipped"}


def _mixed(key: str) -> list[jw.Job]:
    a = jw.job(jobs.add, a=1, b=2, name="a")
    flaky = jw.job(jobs.flaky, key=key, fails=1, retries=1, name="flaky")
    bad = jw.job(jobs.fail, message="nope", name="bad")
    skipped = jw.job(jobs.echo, value=jw.output(bad), name="skipped")
    use = jw.job(jobs.add, a=jw.output(a), b=jw.output(flaky), name="use", tags=["t1"])
    return [a, flaky, bad, skipped, use, jw.shell("echo hi", name="sh")]


def test_journal_round_trip(backend_url: str, store: SqlStore,
                            request: pytest.FixtureRequest) -> None:
    engine = jw.Engine(jw.Settings(store=backend_url))
    definition = _mixed(request.node.nodeid)
    plan = engine.plan(definition)
    result = engine.run(definition, name="mixed", concurrency=4)
    assert result.status == "failed"

    journal = list(store.journal(result.run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert all(e["run"] == result.run_id for e in journal)
    first, second, last = journal[0], journal[1], journal[-1]
    assert first["event"] == "submitted"
    assert first["data"]["definition"]["nodes"] == plan.definition["nodes"]
    assert first["data"]["digest"] == plan.digest
    assert first["data"]["options"]["concurrency"] == 4
    assert second["event"] == "run_started" and second["data"]["owner"]
    assert last["event"] == "run_finished" and last["data"] == {"status": "failed"}
    assert all(e["ts"] >= first["ts"] for e in journal)

    finals = [(e["node"], e["event"]) for e in journal if e["event"] in FINAL_EVENTS]
    assert Counter(n for n, _ in finals) == Counter(j.name for j in result.jobs)
    assert dict(finals) == {j.name: j.status for j in result.jobs}
    completed = {e["node"]: e["data"] for e in journal if e["event"] == "completed"}
    assert completed["use"]["output"] == 5 and completed["a"]["output"] == 3
    assert completed["sh"]["output"]["stdout"] == "hi\n"
    assert [e["attempt"] for e in journal if e["event"] == "retrying"] == [1]
    assert store.submitted(result.run_id) == first["data"]
    for job in result.jobs:  # a job's final record is its last one
        mine = [e["event"] for e in journal if e["node"] == job.name]
        assert mine[-1] == job.status and not FINAL_EVENTS & set(mine[:-1])


def test_a_store_from_a_newer_jobweave_is_refused(backend_url: str, store: SqlStore) -> None:
    result = jw.run(jw.job(jobs.noop), store=backend_url)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE jobweave_meta SET value = :v WHERE key = 'schema_version'"),
                     {"v": str(SCHEMA_VERSION + 1)})
    close_all()
    with pytest.raises(jw.StoreError, match=f"schema {SCHEMA_VERSION + 1}, newer"):
        open_store(backend_url)
    # nothing was changed: the old version opens again once the record is put back
    probe = create_engine(backend_url.replace("postgresql://", "postgresql+psycopg://")
                          if "://" in backend_url else f"sqlite:///{backend_url}")
    try:
        with probe.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM jobweave_runs")).scalar() == 1
            conn.execute(text("UPDATE jobweave_meta SET value = :v "
                              "WHERE key = 'schema_version'"), {"v": str(SCHEMA_VERSION)})
    finally:
        probe.dispose()
    assert open_store(backend_url).get_run(result.run_id).status == "completed"


def test_jobs_projection_matches_the_result(backend_url: str, store: SqlStore,
                                            request: pytest.FixtureRequest) -> None:
    result = jw.run(_mixed(request.node.nodeid), store=backend_url)
    records = store.get_jobs(result.run_id)
    assert [r.index for r in records] == list(range(len(result.jobs)))
    for r, j in zip(records, result.jobs, strict=True):
        assert (r.name, r.status, r.attempts, r.output, r.error, r.tags) == (
            j.name, j.status, j.attempts, j.output, j.error, j.tags)
        assert r.started_at == j.started_at and r.finished_at == j.finished_at
    assert {r.name: r.kind for r in records}["sh"] == "shell"
    assert {r.name: r.status for r in records} == {
        "a": "completed", "flaky": "completed", "bad": "faulted", "skipped": "skipped",
        "use": "completed", "sh": "completed"}
    # one job by name, and a page of problem jobs, without loading the others
    assert [r.name for r in store.find_jobs(result.run_id, name="bad")] == ["bad"]
    assert store.find_jobs(result.run_id, name="b") == []
    assert [r.name for r in store.find_jobs(result.run_id, statuses=["faulted", "skipped"],
                                            limit=1)] == ["bad"]


def test_get_run(backend_url: str, store: SqlStore) -> None:
    before = time.time()
    result = jw.run(jw.batch(jw.job(jobs.noop), jw.job(jobs.fail), name="nightly"),
                    store=backend_url, concurrency=2)
    run = store.get_run(result.run_id)
    assert (run.run_id, run.name, run.kind, run.status) == (result.run_id, "nightly", "batch",
                                                           "failed")
    assert run.final and run.exit_code == 1 and run.owner is None
    assert run.total == 2 and run.counts == {"completed": 1, "faulted": 1}
    assert run.options["concurrency"] == 2
    assert run.started_at is not None and run.finished_at is not None
    assert before <= run.created_at <= run.started_at <= run.finished_at
    assert not run.cancel_requested and run.parent_run is None


def test_list_runs_newest_first_with_limit_and_status(backend_url: str, store: SqlStore) -> None:
    ids = []
    for i in range(4):
        defn = jw.job(jobs.fail if i == 2 else jobs.noop, name=f"j{i}")
        ids.append(jw.run(defn, store=backend_url, name=f"run{i}").run_id)
    listed = store.list_runs()
    assert [r.run_id for r in listed] == ids[::-1]
    assert [r.name for r in store.list_runs(limit=2)] == ["run3", "run2"]
    assert [r.run_id for r in store.list_runs(status="failed")] == [ids[2]]
    assert len(store.list_runs(status="completed")) == 3
    assert store.list_runs(status="crashed") == []
    assert listed[0].counts == {"completed": 1}


def test_list_runs_by_name_glob(backend_url: str, store: SqlStore) -> None:
    engine = jw.Engine(jw.Settings(store=backend_url))
    for name in ("nightly-eu", "nightly-us", "Nightly-old", "weekly", "load_100%", "loadX100%"):
        engine.create(jw.job(jobs.noop), name=name)

    def names(pattern: str) -> set[str]:
        return {r.name for r in store.list_runs(name=pattern)}

    assert names("nightly-*") == {"nightly-eu", "nightly-us", "Nightly-old"}  # any case
    assert names("nightly-??") == {"nightly-eu", "nightly-us"}
    assert names("weekly") == {"weekly"}
    assert names("week") == set()  # a name, not a prefix
    assert names("load_100%") == {"load_100%"}  # _ and % are literal
    assert len(store.list_runs(name="nightly-*", limit=2)) == 2
    assert store.list_runs(name="*", status="completed") == []


def test_find_runs_by_prefix(backend_url: str, store: SqlStore) -> None:
    engine = jw.Engine(jw.Settings(store=backend_url))
    for run_id in ("20260101-000000-aaaaaa", "20260101-000000-aaaabb", "20260202-000000-cc"):
        engine.create(jw.job(jobs.noop), run_id=run_id)
    assert sorted(store.find_runs("20260101")) == ["20260101-000000-aaaaaa",
                                                   "20260101-000000-aaaabb"]
    assert store.find_runs("20260101-000000-aaaab") == ["20260101-000000-aaaabb"]
    assert store.find_runs("nope") == []


def test_unknown_runs_raise_run_not_found(store: SqlStore) -> None:
    for call in (store.get_run, store.get_jobs, lambda r: list(store.journal(r)),
                 store.submitted, store.request_cancel):
        with pytest.raises(RunNotFoundError, match="no-such-run"):
            call("no-such-run")


def test_request_cancel_of_a_finished_run_is_refused(backend_url: str, store: SqlStore) -> None:
    result = jw.run(jw.job(jobs.noop), store=backend_url)
    with pytest.raises(RunStateError, match="already completed"):
        store.request_cancel(result.run_id)
    assert store.get_run(result.run_id).status == "completed"


def test_request_cancel_of_a_run_nobody_owns_cancels_it_now(backend_url: str,
                                                            store: SqlStore) -> None:
    engine = jw.Engine(jw.Settings(store=backend_url))
    run_id, _ = engine.create([jw.job(jobs.noop, name="x"), jw.sleep(1, name="y")])
    assert store.get_run(run_id).status == "pending"

    # a fresh pending run may be about to be claimed: it only gets the flag
    record = store.request_cancel(run_id)
    assert record.cancel_requested and record.status == "pending"

    # long unclaimed: nobody will run it, so the cancel is final at once
    later = time.time() + 120
    record = store.request_cancel(run_id, now=later)
    assert (record.status, record.exit_code) == ("cancelled", 1)
    assert [j.status for j in store.get_jobs(run_id)] == ["cancelled", "cancelled"]
    journal = list(store.journal(run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert [e["event"] for e in journal[-2:]] == ["cancel_requested", "run_finished"]
    assert journal[-1]["data"] == {"status": "cancelled"}
    with pytest.raises(RunStateError, match="already cancelled"):
        store.request_cancel(run_id)


def test_a_cancel_request_reaches_a_live_run(backend_url: str, store: SqlStore) -> None:
    handle = jw.submit([jw.sleep(60, name="long"), jw.job(jobs.noop, name="quick")],
                       store=backend_url)
    deadline = time.monotonic() + 10
    while store.get_run(handle.run_id).counts.get("completed", 0) < 1:
        assert time.monotonic() < deadline, "the quick job never completed"
        time.sleep(0.01)
    store.request_cancel(handle.run_id)
    result = handle.wait(timeout=20)
    assert result.status == "cancelled"
    assert {j.name: j.status for j in result.jobs} == {"long": "cancelled",
                                                       "quick": "completed"}
    journal = list(store.journal(handle.run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert journal[-1]["event"] == "run_finished"
    assert store.get_run(handle.run_id).status == "cancelled"


def test_a_store_from_an_older_jobweave_is_upgraded_in_place(backend_url: str,
                                                            store: SqlStore) -> None:
    result = jw.run(jw.job(jobs.noop), store=backend_url)
    with store.engine.begin() as conn:  # back to schema 1: no fencing epoch, no lost count,
        conn.execute(text("DROP TABLE jobweave_triggers"))  # no trigger table,
        conn.execute(text("DROP TABLE jobweave_tokens"))  # no tokens nor actions
        conn.execute(text("DROP TABLE jobweave_actions"))
        conn.execute(text("DROP TABLE jobweave_attempts"))  # nor remote attempts
        conn.execute(text("DROP TABLE jobweave_alembic_version"))  # nor a revision record
        conn.execute(text("DROP INDEX IF EXISTS jobweave_attempts_state"))
        conn.execute(text("DROP INDEX jobweave_runs_status"))  # nor the index by status
        conn.execute(text("ALTER TABLE jobweave_runs DROP COLUMN control_by"))
        conn.execute(text("ALTER TABLE jobweave_runs DROP COLUMN epoch"))
        conn.execute(text("ALTER TABLE jobweave_jobs DROP COLUMN lost"))
        conn.execute(text("UPDATE jobweave_meta SET value = '1' WHERE key = 'schema_version'"))
    close_all()
    upgraded = open_store(backend_url)
    assert upgraded.get_run(result.run_id).status == "completed"
    with upgraded.engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM jobweave_meta "
                                 "WHERE key = 'schema_version'")).scalar() == str(SCHEMA_VERSION)
        assert conn.execute(text("SELECT epoch FROM jobweave_runs")).scalar() == 0
        assert conn.execute(text("SELECT lost FROM jobweave_jobs")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM jobweave_triggers")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM jobweave_tokens")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM jobweave_actions")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM jobweave_attempts")).scalar() == 0
        assert conn.execute(text("SELECT version_num FROM jobweave_alembic_version")
                            ).scalar() == f"{SCHEMA_VERSION:04d}"
    assert "jobweave_runs_status" in {i["name"] for i in
                                      inspect(upgraded.engine).get_indexes("jobweave_runs")}
    assert jw.run(jw.job(jobs.noop), store=backend_url).ok
    from jobweave.store.triggers import TriggerTable

    table = TriggerTable(upgraded)  # the upgraded table is the one serve uses
    table.register([("k", "def", "{}")])
    (row,) = table.all()
    assert table.claim(row, "me", last_fire=5.0, started=1, last_run="r", queued_fire=None)
    assert not table.claim(row, "other", last_fire=5.0, started=1, last_run="r2",
                           queued_fire=None)
    assert [(r.fires, r.last_run, r.lease_owner) for r in table.all()] == [(1, "r", "me")]
    assert table.set_paused("k", True).paused and table.ask_fire("k", "alice")  # schema 5
    assert [(r.paused, r.fire_asked_by) for r in table.all()] == [(True, "alice")]


def test_the_writer_keeps_every_value_exactly(backend_url: str, store: SqlStore) -> None:
    # a group of rows (one statement on PostgreSQL: a JSON array) and a lone row
    engine = jw.Engine(jw.Settings(store=backend_url))
    run_id, _ = engine.create([jw.job(jobs.noop, name=f"j{i}") for i in range(3)])
    next_seq, epoch = store.claim(run_id, "me")
    # journal data is JSON text; every value as the driver would be handed it
    odd = ['{"output": "é ✓ \\\\ \\" \' \\n"}', None, '"' + "x" * 70_000 + '"']
    stamps = [0.1 + 0.2, 1e-300, 1764620000.123456789]
    writer = store.writer(run_id, epoch)
    try:
        writer.commit([(run_id, next_seq + i, stamps[i], "completed", f"j{i}", i, odd[i])
                       for i in range(2)],
                      [("completed", i + 1, odd[i], odd[1 - i], stamps[i], stamps[2], run_id, i)
                       for i in range(2)])
        writer.commit([(run_id, next_seq + 2, stamps[2], "completed", "j2", 2, odd[2])],
                      [("completed", 3, odd[2], None, stamps[2], None, run_id, 2)])
    finally:
        writer.close()
    journal = list(store.journal(run_id))[-3:]
    assert [e["ts"] for e in journal] == stamps
    assert [e["attempt"] for e in journal] == [0, 1, 2]
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT output, error, started_at, finished_at, attempts "
                                 "FROM jobweave_jobs WHERE run_id = :r ORDER BY idx"),
                            {"r": run_id}).all()
        data = conn.execute(text("SELECT data FROM jobweave_journal WHERE run_id = :r "
                                 "ORDER BY seq DESC LIMIT 3"), {"r": run_id}).scalars().all()
    assert [tuple(r) for r in rows] == [(odd[0], odd[1], stamps[0], stamps[2], 1),
                                        (odd[1], odd[0], stamps[1], stamps[2], 2),
                                        (odd[2], None, stamps[2], None, 3)]
    assert data[::-1] == odd
