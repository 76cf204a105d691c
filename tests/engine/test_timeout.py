"""timeout=: a hung attempt is faulted with a timeout error and the run still finishes."""

from __future__ import annotations

import time
from pathlib import Path

import jobweave as jw
from jobweave.store import open_store
from tests import jobs
from tests.engine.helpers import alive, read_pid, wait_for


def test_a_hung_python_job_times_out_and_the_run_finishes(store_url: str) -> None:
    began = time.monotonic()
    result = jw.run([jw.job(jobs.hang, seconds=5.0, timeout=0.3, name="hung"),
                     jw.job(jobs.echo, value=1, name="fine")], store=store_url)
    # the hung call ignores every stop request; the run must not wait for it
    assert time.monotonic() - began < 4.5
    hung = result.job("hung")
    assert (hung.status, hung.attempts) == ("faulted", 1)
    assert hung.error is not None and "timed out after 0.3" in hung.error
    assert result.job("fine").status == "completed"
    assert (result.status, result.exit_code) == ("failed", 1)
    events = [(e["event"], e["node"]) for e in open_store(store_url).journal(result.run_id)]
    assert ("faulted", "hung") in events


def test_a_timed_out_attempt_is_retried(store_url: str) -> None:
    result = jw.run(jw.job(jobs.patient, seconds=30, timeout=0.2, retries=1, name="p"),
                    store=store_url)
    p = result.job("p")
    assert (p.status, p.attempts) == ("faulted", 2)
    assert p.error is not None and "timed out after 0.2" in p.error
    # each attempt was asked to stop through its context, so its wait ended early
    wait_for(lambda: len(jobs.WAITS.get("p", [])) == 2, what="both attempts to return")
    assert [stopped for stopped, _ in jobs.WAITS["p"]] == [True, True]
    events = [(e["event"], e["attempt"]) for e in open_store(store_url).journal(result.run_id)
              if e["node"] == "p"]
    assert ("retrying", 1) in events and events[-1] == ("faulted", 2)


def test_a_shell_command_that_times_out_is_killed(store_url: str, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    result = jw.run(jw.shell(f"echo $$ > {pidfile}; exec sleep 30", timeout=0.5, name="sh"),
                    store=store_url)
    assert result.job("sh").status == "faulted"
    assert "timed out after 0.5" in (result.job("sh").error or "")
    pid = read_pid(pidfile)
    wait_for(lambda: not alive(pid), timeout=10, what=f"pid {pid} to be killed")


def test_a_job_that_finishes_in_time_is_not_touched(store_url: str) -> None:
    result = jw.run(jw.job(jobs.nap, seconds=0.05, timeout=20), store=store_url)
    assert result.ok and result.jobs[0].output == 0.05
