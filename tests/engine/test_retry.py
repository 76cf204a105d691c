"""Retries: attempts counted, waits of delay × backoff^k, every attempt journaled."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobweave as jw
from jobweave.engine.retry import MAX_RETRY_DELAY, retry_delay
from jobweave.store import open_store
from tests import jobs


def test_retry_delay_grows_by_the_backoff_and_is_capped() -> None:
    assert [retry_delay(0.5, 2.0, k) for k in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert retry_delay(1.0, 1.0, 7) == 1.0
    assert retry_delay(0.0, 5.0, 3) == 0.0
    assert retry_delay(10.0, 10.0, 9) == MAX_RETRY_DELAY
    # far past the cap the power itself would overflow a float: it is never computed
    assert retry_delay(1.0, 10.0, 2000) == MAX_RETRY_DELAY
    assert retry_delay(0.0, 10.0, 2000) == 0.0
    assert retry_delay(1.0, 0.5, 2000) == 0.0


def test_a_job_that_fails_twice_then_succeeds_completes_on_its_third_attempt(
        store_url: str, request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    result = jw.run(jw.job(jobs.flaky, key=key, fails=2, retries=3, retry_delay=0.05,
                           backoff=3, name="flaky"), store=store_url)

    assert result.ok
    flaky = result.job("flaky")
    assert (flaky.status, flaky.attempts, flaky.output, flaky.error) == ("completed", 3, 3, None)
    # waits of 0.05 then 0.15 seconds between the attempts (lower bounds only: a busy
    # machine may wait longer, never shorter)
    starts = jobs.STARTS[key]
    assert len(starts) == 3
    assert starts[1] - starts[0] >= 0.05
    assert starts[2] - starts[1] >= 0.15

    journal = list(open_store(store_url).journal(result.run_id))
    mine = [(e["event"], e["attempt"]) for e in journal if e["node"] == "flaky"]
    assert ("retrying", 1) in mine and ("retrying", 2) in mine
    assert mine[-1] == ("completed", 3)
    assert [e for e, _ in mine].count("completed") == 1
    retrying = [e["data"] for e in journal if e["event"] == "retrying"]
    assert [d["delay"] for d in retrying] == pytest.approx([0.05, 0.15])
    assert "attempt 1 of" in retrying[0]["error"] and "attempt 2 of" in retrying[1]["error"]


def test_a_job_that_keeps_failing_faults_after_its_last_retry(
        store_url: str, request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    result = jw.run(jw.job(jobs.flaky, key=key, fails=99, retries=2, name="doomed"),
                    store=store_url)

    doomed = result.job("doomed")
    assert (doomed.status, doomed.attempts) == ("faulted", 3)
    assert doomed.error is not None and "attempt 3 of" in doomed.error
    assert len(jobs.STARTS[key]) == 3
    assert result.exit_code == 1

    journal = list(open_store(store_url).journal(result.run_id))
    mine = [(e["event"], e["attempt"]) for e in journal if e["node"] == "doomed"]
    assert [a for e, a in mine if e == "retrying"] == [1, 2]
    assert mine[-1] == ("faulted", 3)
    (faulted,) = [e for e in journal if e["event"] == "faulted"]
    assert "attempt 3 of" in faulted["data"]["error"]
    stored = open_store(store_url).get_jobs(result.run_id)[0]
    assert (stored.status, stored.attempts) == ("faulted", 3)


def test_without_retries_a_fault_is_final_at_once(
        store_url: str, request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    result = jw.run(jw.job(jobs.flaky, key=key, fails=1, name="once"), store=store_url)
    assert (result.job("once").status, result.job("once").attempts) == ("faulted", 1)
    events = [e["event"] for e in open_store(store_url).journal(result.run_id)]
    assert "retrying" not in events


def test_each_attempt_sees_its_own_number_and_token(store_url: str) -> None:
    result = jw.run(jw.job(jobs.whoami, name="me"), store=store_url)
    me = result.job("me").output
    assert me == {"run_id": result.run_id, "job": "me", "attempt": 1,
                  "token": f"{result.run_id}/me/e2.a1"}


def test_a_retried_shell_command_runs_again(store_url: str, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    # fails until it has been run three times
    cmd = f'echo x >> {counter}; test "$(wc -l < {counter})" -ge 3'
    result = jw.run(jw.shell(cmd, retries=3, name="sh"), store=store_url)
    assert (result.job("sh").status, result.job("sh").attempts) == ("completed", 3)
    assert counter.read_text().count("x") == 3
