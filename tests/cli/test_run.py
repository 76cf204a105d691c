"""`jobweave run`: exit codes, output, one-line errors, and clean cancellation by signal."""

from __future__ import annotations

import json
import signal

import pytest

from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave, one_error_line, wait_for

OK = """
ok = jw.batch([jw.job("tests.jobs:noop", name=f"load[t{i}]", i=i) for i in range(3)],
              name="three")
"""
BAD = """
def broken():
    return jw.batch(jw.job("tests.jobs:noop", name="fine"),
                    jw.job("tests.jobs:fail", name="broken", message="disk full"))
"""
DAG = """
one = jw.job("tests.jobs:add", name="one", a=1, b=2)
two = jw.job("tests.jobs:add", name="two", a=jw.output(one), b=10)
dag = jw.batch(one, two, jw.job("tests.jobs:fail", name="oops", message="no\\nway"))
"""
LONG = """
long = jw.batch([jw.sleep(60, name=f"s{i}") for i in range(3)], name="long")
"""
TWINS = """
twins = jw.batch(jw.job("tests.jobs:noop", name="x"), jw.job("tests.jobs:noop", name="x"))
"""


def test_a_passing_batch_exits_0_and_lists_its_jobs(cli: Jobweave, target, db: SqlStore) -> None:
    target(OK)
    p = cli("run", "flow.py:ok")
    assert p.returncode == 0, p.stderr
    (run,) = db.list_runs()
    assert run.status == "completed" and run.name == "three"
    assert f"run {run.run_id} completed" in p.stdout
    assert all(f"load[t{i}]" in p.stdout for i in range(3))  # brackets are not markup
    # piped: no live bar, only the line naming the run
    assert p.stderr.strip() == f"run {run.run_id} started"


def test_a_faulted_job_exits_1_with_its_error_line(cli: Jobweave, target, db: SqlStore) -> None:
    target(BAD)
    p = cli("run", "flow.py:broken", "--progress")
    assert p.returncode == 1, p.stderr
    assert "2/2" in p.stderr and "1 faulted" in p.stderr  # the forced bar's last state
    assert "ValueError: disk full" in p.stdout
    assert "faulted" in p.stdout and "Traceback" not in p.stdout
    assert db.list_runs()[0].status == "failed"


def test_json_output_has_every_job_with_outputs_and_full_errors(cli: Jobweave, target) -> None:
    target(DAG)
    p = cli("run", "flow.py:dag", "--json", "--concurrency", "2")
    assert p.returncode == 1, p.stderr
    data = json.loads(p.stdout)
    assert data["status"] == "failed" and data["exit_code"] == 1
    jobs = {j["name"]: j for j in data["jobs"]}
    assert jobs["one"]["output"] == 3 and jobs["two"]["output"] == 13
    assert jobs["oops"]["status"] == "faulted"
    assert "Traceback" in jobs["oops"]["error"] and "no\nway" in jobs["oops"]["error"]
    assert data["counts"] == {"completed": 2, "faulted": 1}


@pytest.mark.parametrize(("args", "message"), [
    (["run", "flow.py:twins"], "two jobs are named 'x'"),
    (["run", "flow.py:twins", "--concurrency", "0"], "--concurrency"),
    (["status", "nope"], "no run 'nope'"),
])
def test_usage_problems_exit_2_with_one_line(cli: Jobweave, target, db: SqlStore,
                                             args: list[str], message: str) -> None:
    target(TWINS)
    p = cli(*args)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert message in one_error_line(p.stderr)
    assert db.list_runs() == []  # nothing was stored


def test_a_bad_store_url_exits_2_with_one_line(cli: Jobweave) -> None:
    p = cli("list", "--store", "mysql://db/x", with_store=False)
    assert p.returncode == 2
    assert "unknown store URL scheme 'mysql'" in one_error_line(p.stderr)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_cancels_the_run_cleanly_and_exits_130(spawn, target, db: SqlStore,
                                                        sig: signal.Signals) -> None:
    target(LONG)
    proc = spawn("run", "flow.py:long")
    run = wait_for(lambda: next((r for r in db.list_runs() if r.status == "running"), None),
                   what="the run to start")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"cancelled: run {run.run_id}" in err
    assert "Traceback" not in err
    record = db.get_run(run.run_id)
    assert record.status == "cancelled"
    assert record.counts == {"cancelled": 3}


def test_the_same_commands_work_on_postgresql(cli: Jobweave, target, pg_store_url: str) -> None:
    target(OK)
    p = cli("run", "flow.py:ok", "--quiet", "--store", pg_store_url, with_store=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""  # --quiet
    status = json.loads(cli("status", "last", "--json", "--store", pg_store_url,
                            with_store=False).stdout)
    assert status["status"] == "completed" and status["counts"] == {"completed": 3}
