"""A run taken over by another process (its owner's lease ran out): the old owner stops."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import jobweave as jw
from jobweave.engine.takeover import Takeover
from jobweave.store import open_store
from tests import jobs
from tests.cli.helpers import wait_for
from tests.conftest import BACKENDS

pytestmark = BACKENDS

ELSEWHERE = "elsewhere:999"


@pytest.fixture(autouse=True)
def _fresh_order() -> None:
    jobs.ORDER.clear()


def takeover(store_url: str, seconds: float) -> tuple[jw.RunHandle, int]:
    """Start a schedule whose first job sleeps, then claim the run from ``ELSEWHERE``
    as a process that found the lease run out would; return the handle and the
    sequence number the new owner starts from."""
    started = threading.Event()
    flow = jw.schedule([[jw.job(jobs.slow_step, label="a", seconds=seconds, name="a")],
                        [jw.job(jobs.step, label="b", name="b")]])
    handle = jw.submit(flow, store=store_url,
                       listeners=[lambda e: isinstance(e, jw.JobStarted) and started.set()])
    assert started.wait(10)
    db = open_store(store_url)
    # the claim a resumer makes once it judges the lease gone (here: 100 s from now)
    next_seq = db.claim(handle.run_id, ELSEWHERE, now=time.time() + 100).seq
    return handle, next_seq


def test_the_old_owner_stops_at_its_next_heartbeat(store_url: str) -> None:
    handle, next_seq = takeover(store_url, seconds=3.0)
    with pytest.raises(jw.RunOwnedError, match="taken over by elsewhere:999") as caught:
        handle.wait(timeout=30)
    assert caught.value.owner == ELSEWHERE
    time.sleep(3.2)  # the abandoned job has ended by now
    db = open_store(store_url)
    journal = list(db.journal(handle.run_id))
    # nothing was written after the new owner's claim, and the schedule went no further
    assert journal[-1]["seq"] == next_seq - 1 and journal[-1]["event"] == "run_started"
    assert "completed" not in {e["event"] for e in journal}
    assert "b" not in jobs.ORDER
    record = db.get_run(handle.run_id)
    assert record.owner == ELSEWHERE and record.status in ("running", "crashed")


def test_a_commit_after_the_takeover_is_refused_and_said_so(store_url: str) -> None:
    # the job ends before the old owner's next heartbeat: its completion's commit
    # collides with the new owner's journal, and is rolled back
    handle, next_seq = takeover(store_url, seconds=0.3)
    with pytest.raises(jw.RunOwnedError, match="taken over by elsewhere:999"):
        handle.wait(timeout=30)
    journal = list(open_store(store_url).journal(handle.run_id))
    assert [e["seq"] for e in journal] == list(range(1, next_seq))
    assert "b" not in jobs.ORDER


KILLED = (
    "import sys, jobweave as jw\n"
    "jw.run(jw.batch([jw.job('tests.jobs:patient', seconds=60, name='waiter')],"
    " name='killed'), store=sys.argv[1])\n"
)


def _take_over(store_url: str, run_id: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Take ``run_id`` over as a serving engine with a 60 s lease would; what it logged.

    The lease is far longer than the test: only a dead owner process frees the run early.
    """
    taker = Takeover(jw.Engine(jw.Settings(store=store_url, lease=60.0)))
    with caplog.at_level(logging.INFO, logger="jobweave.serve"):
        assert taker.sweep() == [run_id]
    handle = taker.handles[run_id]
    handle.cancel()  # its job waits on its context: the cancel ends it at once
    handle.wait(timeout=20)
    return [r.getMessage() for r in caplog.records if r.name == "jobweave.serve"]


def test_a_killed_owner_is_taken_over_because_its_process_is_gone(
        store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    proc = subprocess.Popen([sys.executable, "-c", KILLED, store_url])
    db = open_store(store_url, lease=60.0)
    try:
        run_id = wait_for(lambda: next((r.run_id for r in db.list_runs(name="killed")
                                        if r.status == "running"), None), what="the run")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        owner = f"{socket.gethostname()}:{proc.pid}"
        assert db.get_run(run_id, counts=False).owner == owner
        said = _take_over(store_url, run_id, caplog)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # its heartbeat is seconds old, its lease 60 s: the lease did not run out
    assert f"run {run_id}: taken over from {owner} (its process is gone)" in said, said


def test_an_owner_silent_for_longer_than_the_lease_is_taken_over_as_such(
        store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = jw.Engine(jw.Settings(store=store_url, lease=60.0))
    run_id, _ = engine.create(jw.batch(jw.job(jobs.noop, name="noop"), name="silent"))
    engine.store.claim(run_id, ELSEWHERE, now=time.time() - 600)  # another host, long silent
    said = _take_over(store_url, run_id, caplog)
    assert f"run {run_id}: taken over from {ELSEWHERE} (its lease ran out)" in said, said
