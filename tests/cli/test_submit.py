"""`jobweave submit` and friends: a detached run seen from other processes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import jobweave as jw
from jobweave.loader import load_target
from jobweave.settings import Settings
from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave, one_error_line, wait_for

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
PAIR = """
def pair():
    one = jw.job("tests.jobs:add", name="one", a=1, b=2)
    return jw.batch(one, jw.job("tests.jobs:add", name="two", a=jw.output(one), b=1),
                    name="pair")
"""
LONG = """
long = jw.batch([jw.sleep(60, name=f"s{i}") for i in range(2)], name="long")
"""


def test_submit_wait_and_inspect_round_trip(cli: Jobweave, cli_each, target,
                                            tmp_path: Path) -> None:
    target(PAIR)
    p = cli("submit", "flow.py:pair")
    assert p.returncode == 0, p.stderr
    run_id = p.stdout.strip()
    assert RUN_ID.match(run_id) and p.stdout == run_id + "\n"  # only the id, for scripts

    w = cli("wait", run_id, "--timeout", "60")
    assert w.returncode == 0, w.stderr
    assert run_id in w.stdout and "completed" in w.stdout

    status_p, show_p, list_p, journal_p = cli_each(
        ["status", run_id[:-1], "--json"],  # a unique prefix
        ["show", "last", "--json"], ["list", "--json"], ["journal", run_id])
    assert [p.returncode for p in (status_p, show_p, list_p, journal_p)] == [0, 0, 0, 0]

    status = json.loads(status_p.stdout)
    assert status["run_id"] == run_id and status["status"] == "completed"
    assert status["counts"] == {"completed": 2} and status["exit_code"] == 0

    show = json.loads(show_p.stdout)
    assert [(j["name"], j["output"]) for j in show["jobs"]] == [("one", 3), ("two", 4)]

    listed = json.loads(list_p.stdout)
    assert [r["run_id"] for r in listed] == [run_id]

    lines = journal_p.stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert records[0]["event"] == "submitted" and records[-1]["event"] == "run_finished"
    assert {r["node"] for r in records if r["event"] == "completed"} == {"one", "two"}
    # the detached worker kept its output beside the store
    assert "executing run " + run_id in (tmp_path / "logs" / f"{run_id}.log").read_text()


def test_cancel_stops_a_submitted_run_from_another_process(cli: Jobweave, target,
                                                           db: SqlStore) -> None:
    target(LONG)
    run_id = cli("submit", "flow.py:long").stdout.strip()
    wait_for(lambda: db.get_run(run_id).status == "running", what="the worker to start")
    c = cli("cancel", run_id)
    assert c.returncode == 0, c.stderr
    assert run_id in c.stdout
    w = cli("wait", run_id, "--timeout", "60")
    assert w.returncode == 1
    record = db.get_run(run_id)
    assert record.status == "cancelled" and record.counts == {"cancelled": 2}


def test_the_worker_refuses_a_definition_that_changed(cli_proc: Jobweave, target,
                                                      store: str, db: SqlStore) -> None:
    cli = cli_proc  # this process already loaded the file before it changed
    path = target("one = jw.job('tests.jobs:add', name='add', a=1, b=2)\n")
    definition, source = load_target(f"{path}:one")
    run_id, _ = jw.Engine(Settings(store=store)).create(definition, source=source)
    target("one = jw.job('tests.jobs:add', name='add', a=1, b=5)\n")
    p = cli("_work", run_id)
    assert p.returncode == 2
    assert "changed since it was submitted" in one_error_line(p.stderr)
    assert db.get_run(run_id).status == "pending"  # nothing was marked


def test_wait_reports_a_crashed_run_and_gives_up_at_its_timeout(cli: Jobweave, store: str,
                                                               db: SqlStore) -> None:
    engine = jw.Engine(Settings(store=store))
    crashed, _ = engine.create(jw.job("tests.jobs:noop", name="n"))
    db.claim(crashed, "elsewhere:1", now=time.time() - 600)  # an owner long gone
    p = cli("wait", crashed)
    assert p.returncode == 1
    assert "crashed" in one_error_line(p.stderr)

    pending, _ = engine.create(jw.job("tests.jobs:noop", name="n"))
    t = cli("wait", pending, "--timeout", "0.3")
    assert t.returncode == 124
    assert "still pending" in t.stderr
