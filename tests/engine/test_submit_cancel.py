"""jw.submit returns at once; handle.wait and handle.cancel; context.wait ends on cancel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests import jobs
from tests.engine.helpers import alive, read_pid, wait_for


def test_submit_returns_at_once_and_wait_returns_the_result(store_url: str) -> None:
    handle = jw.submit([jw.sleep(1.0, name="pause"), jw.job(jobs.echo, value=7, name="e")],
                       store=store_url)
    assert isinstance(handle, jw.RunHandle)
    assert not handle.done  # the sleep is still going: submit did not wait for it
    store = open_store(store_url)
    assert store.get_run(handle.run_id).status in ("pending", "running")

    with pytest.raises(TimeoutError, match=handle.run_id):
        handle.wait(timeout=0.05)
    assert not handle.done

    result = handle.wait(timeout=30)
    assert handle.done
    assert result.run_id == handle.run_id
    assert result.ok and result.outputs == {"pause": None, "e": 7}
    assert handle.wait() is result  # waiting again gives the same result
    assert store.get_run(handle.run_id).status == "completed"


def test_cancel_stops_sleeps_and_kills_shell_commands(store_url: str, tmp_path: Path) -> None:
    pidfiles = [tmp_path / f"pid{i}" for i in range(2)]
    handle = jw.submit(jw.batch(
        [jw.shell(f"echo $$ > {p}; exec sleep 30", name=f"sh{i}")
         for i, p in enumerate(pidfiles)],
        [jw.sleep(30, name=f"nap{i}") for i in range(3)],
        jw.job(jobs.patient, seconds=30, name="patient"),
    ), store=store_url, concurrency=10)
    pids = [read_pid(p) for p in pidfiles]
    assert all(alive(pid) for pid in pids)

    began = time.monotonic()
    handle.cancel()
    result = handle.wait(timeout=20)
    assert time.monotonic() - began < 15  # nowhere near the 30 s the jobs would take

    assert (result.status, result.exit_code, result.ok) == ("cancelled", 1, False)
    statuses = {j.name: j.status for j in result.jobs}
    # a job that returns normally once asked to stop has finished its own work
    assert statuses.pop("patient") in ("cancelled", "completed")
    assert statuses == {"sh0": "cancelled", "sh1": "cancelled", "nap0": "cancelled",
                        "nap1": "cancelled", "nap2": "cancelled"}
    for name in ("sh0", "nap0"):
        assert result.job(name).attempts == 1
    for pid in pids:
        wait_for(lambda pid=pid: not alive(pid), timeout=10, what=f"pid {pid} to die")

    store = open_store(store_url)
    run = store.get_run(handle.run_id)
    assert (run.status, run.exit_code) == ("cancelled", 1)
    events = [e["event"] for e in store.journal(handle.run_id)]
    assert "cancelling" in events and events[-1] == "run_finished"
    assert {j.status for j in store.get_jobs(handle.run_id)} <= {"cancelled", "completed"}


def test_cancel_before_pending_jobs_start_cancels_them(store_url: str) -> None:
    handle = jw.submit([jw.sleep(30, name=f"s{i}") for i in range(6)], store=store_url,
                       concurrency=2)
    store = open_store(store_url)
    wait_for(lambda: store.get_run(handle.run_id).counts.get("running", 0) >= 1,
             what="a job to start")
    handle.cancel()
    result = handle.wait(timeout=20)
    assert result.status == "cancelled"
    statuses = [j.status for j in result.jobs]
    assert statuses == ["cancelled"] * 6
    # the four that never started have no attempt
    assert sorted(j.attempts for j in result.jobs) == [0, 0, 0, 0, 1, 1]


def test_context_wait_returns_early_on_cancel(store_url: str) -> None:
    handle = jw.submit(jw.job(jobs.patient, seconds=60, name="waiter"), store=store_url)
    store = open_store(store_url)
    wait_for(lambda: store.get_run(handle.run_id).counts.get("running", 0) == 1,
             what="the waiter to start")
    handle.cancel()
    handle.wait(timeout=20)
    wait_for(lambda: "waiter" in jobs.WAITS, what="the waiter to return")
    ((stopped, took),) = jobs.WAITS["waiter"]
    assert stopped is True
    assert took < 30


def test_cancel_from_another_handle_on_the_store(store_url: str) -> None:
    """A cancel requested through the store reaches the owner at its next heartbeat."""
    handle = jw.submit(jw.sleep(30, name="long"), store=store_url)
    store = open_store(store_url)
    wait_for(lambda: store.get_run(handle.run_id).status == "running", what="the run to start")
    record = store.request_cancel(handle.run_id)
    assert record.cancel_requested
    result = handle.wait(timeout=20)
    assert result.status == "cancelled"
    assert result.job("long").status == "cancelled"
