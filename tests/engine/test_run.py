"""Submit-and-wait: results per job, exit codes, faults that leave other jobs running."""

from __future__ import annotations

import time

import jobweave as jw
from jobweave.store import open_store
from tests import jobs


def test_a_batch_of_callables_references_shell_and_sleep_completes(store_url: str) -> None:
    before = time.time()
    result = jw.run(jw.batch(
        jw.job(jobs.add, a=2, b=3, name="by-callable"),
        jw.job("tests.jobs:add", a=10, b=20, name="by-reference"),
        jw.shell("echo loaded; echo warn >&2", name="shell"),
        jw.sleep(0.2, name="pause"),
        name="issue-example",
    ), store=store_url)

    assert result.ok and result.exit_code == 0
    assert result.status == "completed"
    assert result.name == "issue-example"
    assert [j.name for j in result.jobs] == ["by-callable", "by-reference", "shell", "pause"]
    assert result.outputs == {
        "by-callable": 5,
        "by-reference": 30,
        "shell": {"returncode": 0, "stdout": "loaded\n", "stderr": "warn\n"},
        "pause": None,
    }
    for j in result.jobs:
        assert (j.status, j.error, j.attempts) == ("completed", None, 1), j
        assert j.started_at is not None and j.finished_at is not None
        assert before <= j.started_at <= j.finished_at <= result.finished_at
    assert result.job("pause").duration is not None
    assert result.job("pause").duration >= 0.19
    assert result.counts() == {"completed": 4}
    assert result.started_at <= result.finished_at


def test_a_faulted_job_fails_the_run_but_the_others_complete(store_url: str) -> None:
    result = jw.run([
        jw.job(jobs.explode_deeply, name="broken"),
        jw.job(jobs.nap, seconds=0.1, name="slow"),
        jw.job(jobs.echo, value="fine", name="quick"),
    ], store=store_url)

    assert not result.ok and result.exit_code == 1
    assert result.status == "failed"
    broken = result.job("broken")
    assert broken.status == "faulted" and broken.output is None and broken.attempts == 1
    assert broken.error is not None
    assert "Traceback (most recent call last)" in broken.error
    assert "inner_helper_frame" in broken.error  # the frame that raised is kept
    assert "KeyError: 'missing-key-42'" in broken.error
    assert result.job("slow").status == "completed" and result.job("slow").output == 0.1
    assert result.job("quick").output == "fine"
    assert result.counts() == {"faulted": 1, "completed": 2}


def test_job_failure_faults_with_just_its_message(store_url: str) -> None:
    def refuse() -> None:
        raise jw.JobFailure("table customers is locked")

    result = jw.run(jw.job(refuse), store=store_url)
    assert result.jobs[0].status == "faulted"
    assert result.jobs[0].error == "table customers is locked"


def test_the_stored_run_matches_the_result(store_url: str) -> None:
    result = jw.run([jw.job(jobs.fail, message="nope", name="f"),
                     jw.job(jobs.echo, value=[1, {"a": None}], name="e")], store=store_url)
    store = open_store(store_url)
    run = store.get_run(result.run_id)
    assert (run.status, run.exit_code, run.total, run.owner) == ("failed", 1, 2, None)
    assert run.counts == {"faulted": 1, "completed": 1}
    stored = {j.name: j for j in store.get_jobs(result.run_id)}
    for j in result.jobs:
        s = stored[j.name]
        assert (s.status, s.attempts, s.output, s.error) == (j.status, j.attempts, j.output,
                                                             j.error)
        assert s.started_at == j.started_at and s.finished_at == j.finished_at
    assert stored["e"].output == [1, {"a": None}]


def test_many_jobs_all_complete_and_are_all_stored(store_url: str) -> None:
    result = jw.run([jw.job(jobs.echo, value=i) for i in range(500)], store=store_url)
    assert result.ok
    assert sorted(result.outputs.values()) == list(range(500))
    stored = open_store(store_url).get_jobs(result.run_id)
    assert len(stored) == 500
    assert {j.status for j in stored} == {"completed"}
    assert [j.output for j in stored] == list(range(500))
