"""A Python job's prints and logs belong to its attempts: off the CLI's output, in `show`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave

CHATTY = """
import logging
import os
import sys

def chatty(word: str, context) -> str:
    print(f"{word} says hello on attempt {context.attempt}")
    print(f"{word} complains on attempt {context.attempt}", file=sys.stderr)
    logging.getLogger("flow").warning("%s logs on attempt %s", word, context.attempt)
    if word == "gate" and not os.path.exists("go"):
        raise RuntimeError(f"no go on attempt {context.attempt}")
    return word

flow = jw.batch([jw.job(chatty, name=w, word=w, retries=1) for w in ("alpha", "beta", "gate")],
                name="chatty")
slow = jw.batch(jw.sleep(0.6, name="nap"), jw.job(chatty, name="gate", word="gate"),
                name="slow")
"""


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_json_and_quiet_output_carry_nothing_a_job_printed(cli: Jobweave, target,
                                                          executor: str) -> None:
    target(CHATTY)
    p = cli("run", "flow.py:flow", "--json", "--executor", executor)
    assert p.returncode == 1, p.stderr  # gate faults twice
    data = json.loads(p.stdout)  # the whole of stdout is one JSON document
    assert p.stdout == json.dumps(data) + "\n"
    assert {j["name"]: j["status"] for j in data["jobs"]} == {
        "alpha": "completed", "beta": "completed", "gate": "faulted"}
    assert "hello" not in p.stdout and "says" not in p.stderr and "logs on" not in p.stderr
    assert p.stderr.strip() == f"run {data['run_id']} started"

    q = cli("run", "flow.py:flow", "-q", "--executor", executor)
    assert q.returncode == 1
    assert (q.stdout, q.stderr) == ("", "")


def test_show_job_lists_every_attempt_with_its_error_and_output(cli: Jobweave, target) -> None:
    target(CHATTY)
    assert cli("run", "flow.py:flow", "-q").returncode == 1
    p = cli("show", "last", "--job", "gate")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    first, second = text.index("attempt 1"), text.index("attempt 2")
    assert first < second
    one, two = text[first:second], text[second:]
    assert "faulted, retried" in one and "RuntimeError: no go on attempt 1" in one
    assert "gate says hello on attempt 1" in one and "gate complains on attempt 1" in one
    assert "WARNING flow: gate logs on attempt 1" in one
    assert "RuntimeError: no go on attempt 2" in two and "gate says hello on attempt 2" in two
    assert "attempt 1" not in two

    j = cli("show", "last", "--job", "gate", "--json")
    (gate,) = json.loads(j.stdout)
    assert [(a["attempt"], a["status"]) for a in gate["history"]] == [
        (1, "faulted, retried"), (2, "faulted")]
    assert [a["stdout"] for a in gate["history"]] == [
        "gate says hello on attempt 1\n", "gate says hello on attempt 2\n"]
    assert "no go on attempt 1" in gate["history"][0]["error"]
    assert gate["replayed"] is False


def test_show_tells_replayed_jobs_from_executed_ones(cli: Jobweave, target, tmp_path: Path,
                                                    db: SqlStore) -> None:
    target(CHATTY)
    assert cli("run", "flow.py:flow", "-q").returncode == 1
    failed = db.list_runs()[0].run_id
    (tmp_path / "go").touch()
    assert cli("recover", failed, "--no-progress").returncode == 0
    recovered = db.list_runs()[0].run_id
    assert recovered != failed

    table = cli("show", recovered).stdout
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "(replayed)" in rows["alpha"] and "(replayed)" in rows["beta"]
    assert "(replayed)" not in rows["gate"] and "completed" in rows["gate"]
    assert re.search(r"^replayed\s+2 jobs", table, re.M)

    alpha = cli("show", recovered, "--job", "alpha").stdout
    assert f"replayed from {failed}, not invoked" in alpha and "attempt 1" not in alpha
    gate = cli("show", recovered, "--job", "gate").stdout
    assert "replayed" not in gate and "gate says hello on attempt 1" in gate

    jobs = {j["name"]: j for j in json.loads(cli("show", recovered, "--json").stdout)["jobs"]}
    assert {n: j["replayed"] for n, j in jobs.items()} == {
        "alpha": True, "beta": True, "gate": False}


def test_a_resumed_run_lasts_the_sum_of_its_executions(cli: Jobweave, target, tmp_path: Path,
                                                       db: SqlStore) -> None:
    import time

    target(CHATTY)
    assert cli("run", "flow.py:slow", "-q").returncode == 1  # nap 0.6 s, gate faults
    run_id = db.list_runs()[0].run_id
    time.sleep(1.5)  # the run is stopped: this is not time it ran
    (tmp_path / "go").touch()
    assert cli("resume", run_id, "--no-progress").returncode == 0
    record = db.get_run(run_id)
    first_start = next(r["ts"] for r in db.journal(run_id) if r["event"] == "run_started")
    assert record.finished_at is not None and record.started_at is not None
    last_segment = record.finished_at - record.started_at

    shown = json.loads(cli("show", run_id, "--json").stdout)["duration"]
    status = json.loads(cli("status", run_id, "--json").stdout)["duration"]
    listed, = (r["duration"] for r in json.loads(cli("list", "--json").stdout)
               if r["run_id"] == run_id)
    assert shown == status == listed
    assert shown >= 0.6 > last_segment  # the first execution's nap counts...
    assert shown < record.finished_at - first_start - 1.4  # ...the pause between does not
    assert re.search(r"^executions\s+2 ", cli("show", run_id).stdout, re.M)
    row = next(ln for ln in cli("list").stdout.splitlines() if ln.startswith(run_id))
    assert row.split()[-1] == cli("status", run_id).stdout.split("took ")[1].split()[0]


GATED = """
import os
import time

def gate(context) -> str:
    print(f"gate waits on attempt {context.attempt}", flush=True)
    with open("started", "a") as fh:
        fh.write(f"{context.attempt}\\n")
    deadline = time.monotonic() + 30
    while not os.path.exists("go"):
        if time.monotonic() > deadline:
            raise RuntimeError("nobody opened the gate")
        time.sleep(0.02)
    return "opened"

gated = jw.batch(jw.job(gate, name="gate"), name="gated")
"""


def test_a_crashed_attempt_shows_interrupted_and_the_crash_gap_is_not_run_time(
        cli: Jobweave, spawn, target, tmp_path: Path, db: SqlStore) -> None:
    import time

    from tests.cli.helpers import wait_for

    target(GATED)
    running = spawn("run", "flow.py:gated", "--no-progress")
    wait_for(lambda: (tmp_path / "started").exists(), what="the gate job to start")
    run_id = db.list_runs(limit=1)[0].run_id
    wait_for(lambda: db.get_run(run_id).counts.get("running") == 1,
             what="the gate job's start to be committed")
    running.kill()  # SIGKILL: the owner dies mid-attempt
    running.wait()
    wait_for(lambda: db.get_run(run_id).status == "crashed", what="the run to show crashed")
    time.sleep(1.2)  # nobody runs it now
    (tmp_path / "go").touch()
    assert cli("resume", run_id, "-q").returncode == 0

    (gate,) = json.loads(cli("show", run_id, "--job", "gate", "--json").stdout)
    assert [(a["attempt"], a["execution"], a["status"]) for a in gate["history"]] == [
        (1, 1, "interrupted"), (2, 2, "completed")]
    assert gate["history"][1]["stdout"] == "gate waits on attempt 2\n"
    text = cli("show", run_id, "--job", "gate").stdout
    assert "attempt 1 (execution 1)  interrupted" in text
    assert "attempt 2 (execution 2)  completed" in text

    record = db.get_run(run_id)
    first_start = next(r["ts"] for r in db.journal(run_id) if r["event"] == "run_started")
    assert record.finished_at is not None
    shown = json.loads(cli("show", run_id, "--json").stdout)["duration"]
    assert 0 < shown < record.finished_at - first_start - 1.0
