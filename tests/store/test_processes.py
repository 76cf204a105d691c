"""Real processes: two writers on one store at once; a SIGKILLed owner shows as crashed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import jobweave as jw
from jobweave.store import SqlStore, owner_id
from tests import jobs
from tests.store.scripts import OWNER, WRITER, start

RUNS_PER_WRITER = 8


def test_two_processes_write_runs_to_one_store_at_once(backend_url: str, store: SqlStore,
                                                       tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [start(tmp_path, f"writer_{label}", WRITER, backend_url, label,
                     str(RUNS_PER_WRITER), str(go)) for label in ("left", "right")]
    try:
        for w in writers:
            assert w.stdout is not None
            assert w.stdout.readline().strip() == "ready", w.stderr.read() if w.stderr else ""
        go.touch()  # both start writing at the same moment
        outcomes = [w.communicate(timeout=120) for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (out, err) in zip(writers, outcomes, strict=True):
        assert w.returncode == 0, err
        assert out.strip() == "done"

    runs = store.list_runs(limit=1000)
    assert len(runs) == 2 * RUNS_PER_WRITER
    assert {r.name for r in runs} == {f"{label}-{i}" for label in ("left", "right")
                                      for i in range(RUNS_PER_WRITER)}
    assert {r.status for r in runs} == {"completed"}
    for r in runs:
        label, i = r.name.rsplit("-", 1)
        jobs_ = store.get_jobs(r.run_id)
        assert jobs_[0].output == [label, int(i)]
        journal = list(store.journal(r.run_id))
        assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
        assert journal[-1]["event"] == "run_finished"


def test_a_run_whose_owner_was_killed_shows_as_crashed(backend_url: str, store: SqlStore,
                                                       tmp_path: Path) -> None:
    owner = start(tmp_path, "owner", OWNER, backend_url)
    try:
        assert owner.stdout is not None
        run_id = owner.stdout.readline().strip()
        assert run_id, owner.stderr.read() if owner.stderr else ""
        deadline = time.monotonic() + 20
        while True:  # mid-run: the quick job is committed, the long one is running
            run = store.get_run(run_id)
            if run.status == "running" and run.counts.get("completed") == 1:
                break
            assert time.monotonic() < deadline, f"run never got going: {run}"
            time.sleep(0.02)
        assert run.owner is not None and run.owner.endswith(f":{owner.pid}")
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        for pipe in (owner.stdout, owner.stderr):
            if pipe is not None:
                pipe.close()

    run = store.get_run(run_id)
    assert run.status == "crashed"
    assert not run.final
    assert run.finished_at is None and run.exit_code is None
    assert [r.run_id for r in store.list_runs(status="crashed")] == [run_id]
    assert store.list_runs(status="running") == []  # its owner is gone: not running
    newer = jw.run(jw.job(jobs.noop), store=backend_url)
    assert [r.run_id for r in store.list_runs(limit=1)] == [newer.run_id]
    # the newest crashed run, even behind newer runs of other states, a live one included
    live, _ = jw.Engine(jw.Settings(store=backend_url)).create(jw.job(jobs.noop))
    store.claim(live, owner_id())  # this process: alive
    assert [r.run_id for r in store.list_runs(status="crashed", limit=1)] == [run_id]
    assert [r.run_id for r in store.list_runs(status="running", limit=1)] == [live]
    by_name = {j.name: j for j in store.get_jobs(run_id)}
    assert by_name["quick"].status == "completed" and by_name["quick"].output == "kept"
    assert by_name["long"].status in ("running", "pending")
    events = [e["event"] for e in store.journal(run_id)]
    assert "run_finished" not in events
    # it was last seen at its last heartbeat or journal record, whichever came later
    assert run.last_seen_at == max(run.heartbeat_at or 0,
                                   max(e["ts"] for e in store.journal(run_id)))
    assert store.list_runs(status="crashed")[0].last_seen_at == run.last_seen_at

    # nobody owns it any more: a cancel is final at once
    record = store.request_cancel(run_id)
    assert (record.status, record.exit_code) == ("cancelled", 1)
    assert store.get_jobs(run_id)[1].status == "cancelled"
    assert store.get_jobs(run_id)[0].status == "completed"
    journal = list(store.journal(run_id))
    assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
    assert journal[-1]["event"] == "run_finished"
