"""`jobweave resume`, `pause` and `recover`: runs carried across stops, as a user drives them."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

from jobweave.engine import Engine
from jobweave.loader import load_target
from jobweave.settings import Settings
from jobweave.store import SqlStore
from jobweave.store.export import export_lines
from tests.cli.helpers import Jobweave, one_error_line, wait_for

RUN_ID = r"\d{8}-\d{6}-[0-9a-f]{6}"
STEP = """
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def step(label: str, needs_flag: bool = False) -> str:
    # every invocation is counted in calls.txt, so tests see what ran again
    with open(os.path.join(HERE, "calls.txt"), "a") as f:
        f.write(label + "\\n")
    if needs_flag and not os.path.exists(os.path.join(HERE, "flag")):
        raise RuntimeError(f"{label}: no flag yet")
    return label


def gate(label: str) -> str:
    step(label)
    deadline = time.monotonic() + 30
    while not os.path.exists(os.path.join(HERE, "go")):
        if time.monotonic() > deadline:
            raise RuntimeError("nobody opened the gate")
        time.sleep(0.02)
    return label

"""
NIGHTLY = STEP + """
nightly = jw.schedule([
    [jw.job(step, name="extract", label="extract"),
     jw.job(step, name="load_orders", label="load_orders", tags=["load"])],
    [jw.job(step, name="transform", label="transform", needs_flag=True, tags=["transform"])],
], name="nightly")
"""
# the same schedule with one more batch
NIGHTLY_PLUS = NIGHTLY.replace(
    '], name="nightly")', '    [jw.job(step, name="report", label="report")],\n], name="nightly")')
GATED = STEP + """
gated = jw.schedule([
    [jw.job(gate, name="gate", label="gate")],
    [jw.job(step, name="after", label="after")],
], name="gated")
"""


def calls(tmp_path: Path) -> list[str]:
    """Every job invocation so far, in order."""
    path = tmp_path / "calls.txt"
    return path.read_text().split() if path.exists() else []


def started_run(stderr: str) -> str:
    """The run id a run/resume/recover announced on stderr."""
    found = re.search(rf"^run ({RUN_ID}) ", stderr, re.M)
    assert found, stderr
    return found.group(1)


def failed_nightly(cli: Jobweave, target: Callable[..., str], tmp_path: Path) -> str:
    """Run the nightly schedule with its batch-2 job failing; return the run id."""
    target(NIGHTLY)
    p = cli("run", "flow.py:nightly", "--no-progress")
    assert p.returncode == 1, p.stderr
    assert sorted(calls(tmp_path)) == ["extract", "load_orders", "transform"]
    return started_run(p.stderr)


def completed_nightly(target: Callable[..., str], tmp_path: Path, store: str) -> str:
    """Run the nightly schedule to completion (in this process, to save a start-up)."""
    target(NIGHTLY)
    (tmp_path / "flag").touch()
    definition, source = load_target("flow.py:nightly", cwd=str(tmp_path))
    result = Engine(Settings(store=store)).run(definition, source=source)
    assert result.status == "completed" and len(calls(tmp_path)) == 3
    return result.run_id


def export(db: SqlStore, run_id: str, path: Path) -> list[str]:
    """Write a run's journal to ``path`` as `jobweave journal` would; return its lines."""
    lines = list(export_lines(db.journal(run_id)))
    path.write_text("".join(lines))
    return lines


def test_resume_runs_only_what_did_not_complete(cli: Jobweave, target, tmp_path: Path,
                                                db: SqlStore) -> None:
    run_id = failed_nightly(cli, target, tmp_path)
    assert db.get_run(run_id).status == "failed"
    (tmp_path / "flag").touch()

    p = cli("resume", run_id[:12], "--no-progress")  # a prefix names it too
    assert p.returncode == 0, p.stderr
    assert f"run {run_id} resumed: 2 of 3 jobs had completed" in p.stderr
    assert f"run {run_id} completed" in p.stdout
    # batch 1 completed the first time and was not invoked again
    assert calls(tmp_path)[3:] == ["transform"]
    record = db.get_run(run_id)
    assert record.status == "completed" and record.counts == {"completed": 3}


def test_resume_shows_a_changed_definition_and_runs_it_when_accepted(
        cli_proc: Jobweave, target, tmp_path: Path, db: SqlStore) -> None:
    cli = cli_proc  # the file changes: each command must load it afresh
    run_id = failed_nightly(cli, target, tmp_path)
    (tmp_path / "flag").touch()
    target(NIGHTLY_PLUS)

    refused = cli("resume", run_id)
    assert refused.returncode == 2
    assert "+ report  (added)" in refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("jobweave: error: ") and "--accept-changes" in last
    assert len(calls(tmp_path)) == 3  # nothing ran
    assert db.get_run(run_id).status == "failed"

    p = cli("resume", run_id, "--accept-changes", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["status"] == "completed"
    assert [j["name"] for j in data["jobs"]] == ["extract", "load_orders", "transform",
                                                  "report"]
    # the new job ran, the faulted one ran again, batch 1 stayed as it was
    assert sorted(calls(tmp_path)[3:]) == ["report", "transform"]


def test_pause_a_submitted_run_then_resume_it(cli: Jobweave, spawn, target, tmp_path: Path,
                                              db: SqlStore) -> None:
    target(GATED)
    run_id = cli("submit", "flow.py:gated").stdout.strip()
    wait_for(lambda: calls(tmp_path) == ["gate"], what="the gate job to start")
    # its worker is alive: neither resumed nor recovered beside itself
    for args in (["resume", run_id], ["recover", run_id]):
        p = cli(*args)
        assert p.returncode == 2 and "still running in" in one_error_line(p.stderr)
    assert [r.run_id for r in db.list_runs()] == [run_id]

    pausing = spawn("pause", run_id, "--wait")
    # open the gate only once the owner has taken up the pause, so batch 2 cannot start
    wait_for(lambda: any(r["event"] == "pausing" for r in db.journal(run_id)),
             what="the owner to see the pause request")
    (tmp_path / "go").touch()
    out, err = pausing.communicate(timeout=30)
    assert pausing.returncode == 0, err
    assert f"run {run_id} paused" in out
    record = db.get_run(run_id)
    assert record.status == "paused" and record.counts == {"completed": 1, "pending": 1}
    assert calls(tmp_path) == ["gate"]  # batch 2 did not start

    p = cli("resume", run_id, "--no-progress")
    assert p.returncode == 0, p.stderr
    assert calls(tmp_path) == ["gate", "after"]
    assert db.get_run(run_id).status == "completed"


def test_pause_of_a_crashed_run_is_immediate_and_resume_stops_on_sigterm(
        cli: Jobweave, spawn, target, tmp_path: Path, db: SqlStore) -> None:
    target(GATED)
    running = spawn("run", "flow.py:gated", "--no-progress")
    wait_for(lambda: calls(tmp_path) == ["gate"], what="the gate job to start")
    run_id = db.list_runs(limit=1)[0].run_id
    # its start is committed within the group-commit window
    wait_for(lambda: db.get_run(run_id).counts.get("running") == 1,
             what="the gate job's start to be committed")
    running.kill()  # SIGKILL: the owner dies without a word
    running.wait()
    wait_for(lambda: db.get_run(run_id).status == "crashed", what="the run to show crashed")

    # the job its owner was running reads as interrupted, and the run's clock has stopped
    shown = json.loads(cli("show", run_id, "--json").stdout)
    assert shown["status"] == "crashed" and shown["counts"]["interrupted"] == 1
    assert "running" not in shown["counts"]
    assert [j["status"] for j in shown["jobs"] if j["name"] == "gate"] == ["interrupted"]
    assert shown["duration"] == json.loads(cli("status", run_id, "--json").stdout)["duration"]
    line = cli("status", run_id).stdout
    assert "1 interrupted" in line and "last heard of" in line and "running for" not in line
    assert db.get_jobs(run_id)[0].status == "running"  # the store keeps what was stored

    p = cli("pause", run_id, "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "paused"

    # SIGTERM stops a resume as it stops `run`: exit 130, the run recorded cancelled
    resuming = spawn("resume", run_id, "--no-progress")
    wait_for(lambda: calls(tmp_path) == ["gate", "gate"], what="the gate job to start again")
    resuming.send_signal(signal.SIGTERM)
    out, err = resuming.communicate(timeout=30)
    assert resuming.returncode == 130, err
    assert f"run {run_id} cancelled" in out
    assert f"cancelled: run {run_id}" in err
    assert db.get_run(run_id).status == "cancelled"

    (tmp_path / "go").touch()
    p = cli("resume", "last", "--quiet")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == ""
    # the interrupted job ran again each time (at-least-once), then batch 2
    assert calls(tmp_path) == ["gate", "gate", "gate", "after"]


def test_a_run_taken_over_elsewhere_stops_here_with_exit_75(
        spawn, target, tmp_path: Path, db: SqlStore) -> None:
    target(GATED)
    running = spawn("run", "flow.py:gated", "--no-progress")
    wait_for(lambda: calls(tmp_path) == ["gate"], what="the gate job to start")
    run_id = db.list_runs(limit=1)[0].run_id
    # another process claims it, as one would that found the lease run out
    db.claim(run_id, "elsewhere:999", now=time.time() + 100)
    _, err = running.communicate(timeout=30)
    assert running.returncode == 75, err
    started, error = err.strip().splitlines()
    assert started == f"run {run_id} started"
    assert error == (f"jobweave: error: lost run lease to elsewhere:999: run {run_id} "
                     "continues there")
    (tmp_path / "go").touch()
    assert calls(tmp_path) == ["gate"]  # batch 2 did not start here
    assert db.get_run(run_id).owner == "elsewhere:999"


def test_journal_export_round_trips_through_recover(cli: Jobweave, cli_each, target, store: str,
                                                   tmp_path: Path, db: SqlStore) -> None:
    run_id = completed_nightly(target, tmp_path, store)
    exported = cli("journal", run_id)
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.splitlines()
    assert all(re.search(r'"crc":"[0-9a-f]{8}"', line) for line in lines)
    (tmp_path / "run.jsonl").write_text(exported.stdout)

    plan_p, changed_p = cli_each(
        ["recover", "run.jsonl", "--plan", "--json"],
        ["recover", run_id, "--changed", "name=extract", "--plan"])
    assert plan_p.returncode == 0, plan_p.stderr
    plan = json.loads(plan_p.stdout)
    assert plan["source_run"] == run_id and plan["digest_matches"] is True
    assert plan["counts"] == {"replay": 3, "rerun": 0, "execute": 0, "run": 0}
    assert {j["action"] for j in plan["jobs"]} == {"replay"}

    assert changed_p.returncode == 0, changed_p.stderr
    cells = [line.strip().split(None, 2) for line in changed_p.stdout.splitlines()]
    rows = {c[0]: (c[1], c[2]) for c in cells
            if c and c[0] in ("extract", "load_orders", "transform")}
    assert rows == {"extract": ("rerun", "selected as changed"),
                    "load_orders": ("replay", "completed in the journal"),
                    "transform": ("rerun", "downstream of extract")}
    assert "2 rerun" in changed_p.stdout
    assert len(calls(tmp_path)) == 3  # planning ran nothing
    assert len(db.list_runs()) == 1  # ...and stored nothing

    p = cli("recover", "run.jsonl", "--no-progress")
    assert p.returncode == 0, p.stderr
    new_id = started_run(p.stderr)
    assert new_id != run_id and f"recovering run {run_id}" in p.stderr
    assert len(calls(tmp_path)) == 3  # every job replayed, none invoked
    record = db.get_run(new_id)
    assert record.status == "completed" and record.parent_run == run_id
    assert {r["event"] for r in db.journal(new_id)} >= {"replayed"}
    assert re.search(rf"^recovered from\s+{run_id}\s*$", cli("show", new_id).stdout, re.M)


def test_recover_drops_a_torn_tail_and_refuses_damage_before_it(
        cli: Jobweave, cli_each, target, store: str, tmp_path: Path, db: SqlStore) -> None:
    run_id = completed_nightly(target, tmp_path, store)
    lines = export(db, run_id, tmp_path / "run.jsonl")
    assert len(lines) > 4
    # a crash while the last line was being written
    (tmp_path / "torn.jsonl").write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    # one character changed in line 3
    damaged = list(lines)
    damaged[2] = damaged[2].replace('"seq":3', '"seq":8', 1)
    assert damaged[2] != lines[2]
    (tmp_path / "damaged.jsonl").write_text("".join(damaged))

    plan_p, bad_p = cli_each(["recover", "torn.jsonl", "--plan"],
                             ["recover", "damaged.jsonl"])
    assert plan_p.returncode == 0, plan_p.stderr
    assert "jobweave: warning: " in plan_p.stderr and "dropped the last line" in plan_p.stderr
    assert bad_p.returncode == 2
    error = one_error_line(bad_p.stderr)
    assert "damaged.jsonl:3:" in error and "checksum" in error

    p = cli("recover", "torn.jsonl", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "dropped the last line" in p.stderr
    assert len(calls(tmp_path)) == 3
    assert db.get_run(started_run(p.stderr)).status == "completed"


def test_recover_refuses_a_journal_of_another_definition(cli_proc: Jobweave, target, store: str,
                                                         tmp_path: Path, db: SqlStore) -> None:
    cli = cli_proc  # the file changes: each command must load it afresh
    run_id = completed_nightly(target, tmp_path, store)
    export(db, run_id, tmp_path / "run.jsonl")
    target(NIGHTLY.replace('label="transform"', 'label="transform2"'))

    refused = cli("recover", "run.jsonl")
    assert refused.returncode == 2
    assert "--changed" in one_error_line(refused.stderr)

    p = cli("recover", "run.jsonl", "--changed", "tag=transform", "--no-progress")
    assert p.returncode == 0, p.stderr
    assert calls(tmp_path)[3:] == ["transform2"]  # only the changed job ran


def test_bad_requests_exit_2_with_one_line(cli_each, target, store: str, tmp_path: Path,
                                           db: SqlStore) -> None:
    run_id = completed_nightly(target, tmp_path, store)
    unknown, completed, paused, selector, no_file = cli_each(
        ["resume", "20200101-000000-abcdef"], ["resume", run_id], ["pause", run_id],
        ["recover", run_id, "--changed", "foo=bar"], ["recover", "missing.jsonl"])
    assert "no run '20200101-000000-abcdef'" in one_error_line(unknown.stderr)
    assert "already completed" in one_error_line(completed.stderr)
    assert "already completed" in one_error_line(paused.stderr)
    assert "foo=bar" in one_error_line(selector.stderr)
    assert "no such journal file: missing.jsonl" in one_error_line(no_file.stderr)
    assert {p.returncode for p in (unknown, completed, paused, selector, no_file)} == {2}
    assert len(calls(tmp_path)) == 3
    assert db.get_run(run_id).status == "completed" and len(db.list_runs()) == 1


MIXED = """
def local() -> int:
    return 1

flow = jw.batch(jw.job(local, name="local"), jw.job("tests.jobs:echo", name="remote", value=3))
"""


def test_recover_on_a_machine_without_the_source_file_uses_the_stored_definition(
        cli_proc: Jobweave, target, tmp_path: Path, db: SqlStore) -> None:
    cli = cli_proc  # as on another machine: no process that ever loaded the file
    target(MIXED)
    assert cli("run", "flow.py:flow", "--quiet").returncode == 0
    (tmp_path / "run.jsonl").write_text(cli("journal", "last").stdout)
    (tmp_path / "flow.py").unlink()  # as on another machine

    p = cli("recover", "run.jsonl", "--changed", "name=remote", "--json")
    assert p.returncode == 0, p.stderr
    warning = [line for line in p.stderr.splitlines() if "warning" in line]
    assert warning == [f"jobweave: warning: {tmp_path / 'flow.py'} is gone: using the stored "
                       "definition (jobs whose code was in it cannot start)"]
    ran = json.loads(p.stdout)
    assert [(j["name"], j["status"], j["output"]) for j in ran["jobs"]] == [
        ("local", "completed", 1), ("remote", "completed", 3)]
    # a job whose code was in the file cannot run again: it faults and says why
    p = cli("recover", "run.jsonl", "--changed", "name=local", "--json")
    assert p.returncode == 1
    (local,) = [j for j in json.loads(p.stdout)["jobs"] if j["name"] == "local"]
    assert local["status"] == "faulted" and "no such Python file" in local["error"]
