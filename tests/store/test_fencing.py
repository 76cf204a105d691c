"""Every write of a run's owner is fenced by the epoch of its claim."""

from __future__ import annotations

import time

import pytest

from jobweave.errors import RunOwnedError
from jobweave.store import SqlStore

NOW = 1_800_000_000.0


def _run(store: SqlStore, run_id: str = "r1") -> str:
    store.create_run(run_id=run_id, name="flow", kind="flow", source=None,
                     definition={"name": "flow"}, digest="d", options={},
                     jobs=[(0, "a", "python", ()), (1, "b", "python", ())], now=NOW)
    return run_id


def _row(run_id: str, seq: int, node: str) -> tuple[object, ...]:
    return (run_id, seq, time.time(), "completed", node, 1, '{"output":1}')


def _job(run_id: str, i: int) -> tuple[object, ...]:
    return ("completed", 1, "1", None, 1.0, 2.0, run_id, i)


def test_each_claim_bumps_the_epoch(store: SqlStore) -> None:
    run_id = _run(store)
    first = store.claim(run_id, "here:1", now=NOW)
    second = store.claim(run_id, "there:2", now=NOW + 100)
    assert (first.seq, second.seq) == (3, 4)
    assert second.epoch == first.epoch + 1


def test_the_late_owners_commit_is_refused_and_writes_nothing(store: SqlStore) -> None:
    run_id = _run(store)
    seq, epoch = store.claim(run_id, "here:1", now=time.time())
    writer = store.writer(run_id, epoch)
    try:
        writer.commit([_row(run_id, seq, "a")], [_job(run_id, 0)])  # still the owner
        taken = store.claim(run_id, "there:2", now=time.time() + 100)
        with pytest.raises(RunOwnedError, match="taken over by there:2"):
            writer.commit([_row(run_id, taken.seq, "b")], [_job(run_id, 1)])
    finally:
        writer.close()
    with pytest.raises(RunOwnedError, match="taken over by there:2"):
        store.commit(run_id, [_row(run_id, taken.seq, "b")], [], {"status": "completed"},
                     epoch=epoch)
    with pytest.raises(RunOwnedError, match="taken over by there:2"):
        store.heartbeat(run_id, "here:1", epoch=epoch)
    assert not store.fail_run(run_id, epoch, "too late")
    events = [(e["seq"], e["event"], e["node"]) for e in store.journal(run_id)]
    assert events[-2:] == [(seq, "completed", "a"), (taken.seq - 1, "run_started", None)]
    assert {j.name: j.status for j in store.get_jobs(run_id)} == {"a": "completed",
                                                                  "b": "pending"}
    assert store.get_run(run_id).owner == "there:2"


def test_a_failed_run_is_recorded_and_its_lease_released(store: SqlStore) -> None:
    run_id = _run(store)
    seq, epoch = store.claim(run_id, "here:1", now=time.time())
    store.commit(run_id, [(run_id, seq, time.time(), "started", "a", 1, None)],
                 [("running", 1, None, None, 1.0, None, run_id, 0)], epoch=epoch)
    assert store.fail_run(run_id, epoch, "the database refused a commit")
    record = store.get_run(run_id)
    assert (record.status, record.owner, record.exit_code) == ("failed", None, 1)
    last = list(store.journal(run_id))[-1]
    assert last["event"] == "run_finished" and last["seq"] == seq + 1
    assert last["data"] == {"status": "failed", "error": "the database refused a commit"}
    assert [j.status for j in store.get_jobs(run_id)] == ["pending", "pending"]
    assert store.claim(run_id, "again:3").epoch == epoch + 1  # resumable at once
