"""A shell job's processes die with the process that runs it and with its run, and a
resume never runs a shell job beside its previous attempt."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave, wait_for

pytestmark = pytest.mark.timeout(120)

# The command backgrounds its sleep (a member of the job's process group, not its
# leader) and writes that pid and its own parent's (the process running the job).
SLEEPER = """
sleeper = jw.batch([jw.shell(
    'echo $PPID > runner; sleep 30 & echo $! > pid; wait', name="sleeper")], name="sleeper")
"""
# A Python job that holds the GIL in one long call into C: its worker's own watchdog
# thread cannot run until the call returns.
SPINNER = """
import os


def spin() -> int:
    with open("runner", "w") as f:
        f.write(str(os.getpid()))
    return sum(range(10**12))


spinner = jw.batch([jw.job(spin, name="spin")], name="spinner")
"""
STUBBORN = """
stubborn = jw.batch([jw.shell(
    "trap '' TERM; sleep 30 & echo $! > pid; wait; wait", name="stubborn", timeout=0.5)],
    name="stubborn")
"""
# The first attempt beats (a line with the time in ns, every 20 ms) until it is killed;
# a second attempt writes the time it started and ends.
AGAIN = """
again = jw.batch([jw.shell(
    'if [ -f pid ]; then date +%s%N > second; exit 0; fi; '
    '(while :; do date +%s%N >> beats; sleep 0.02; done) & echo $! > pid; wait',
    name="again")], name="again")
"""


def alive(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def read_pid(path: Path) -> int:
    return int(wait_for(lambda: path.exists() and path.read_text().strip(),
                        what=f"{path.name} to be written"))


def keepers_of(pid: int) -> list[int]:
    """The process-group keepers that process ``pid`` started."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rpartition(b")")[2].split()[1])
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError):
            continue
        if ppid == pid and b"process-group keeper" in cmdline:
            found.append(int(name))
    return found


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_killing_the_owner_kills_its_running_shell_jobs(
        executor: str, spawn: Callable[..., object], target: Callable[..., str],
        tmp_path: Path) -> None:
    target(SLEEPER)
    owner = spawn("run", "flow.py:sleeper", "--no-progress", "--executor", executor)
    sleep = read_pid(tmp_path / "pid")
    runner = read_pid(tmp_path / "runner")
    assert alive(sleep)
    os.kill(owner.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    owner.wait()  # type: ignore[attr-defined]
    assert gone_within(sleep, 2.0), f"the job's sleep {sleep} outlived its owner"
    # under processes the job ran in a worker process: that dies with its owner too
    assert gone_within(runner, 2.0), f"the process that ran the job ({runner}) lives on"


def test_killing_the_owner_kills_a_worker_whose_job_holds_the_gil(
        spawn: Callable[..., object], target: Callable[..., str], tmp_path: Path) -> None:
    target(SPINNER)
    owner = spawn("run", "flow.py:spinner", "--no-progress", "--executor", "processes")
    worker = read_pid(tmp_path / "runner")
    time.sleep(0.2)
    assert alive(worker)
    os.kill(owner.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    owner.wait()  # type: ignore[attr-defined]
    try:
        assert gone_within(worker, 3.0), f"the worker {worker} outlived its owner"
    finally:
        if alive(worker):  # it would spin on after a failed test
            os.kill(worker, signal.SIGKILL)


def test_a_timed_out_command_that_ignores_sigterm_is_gone_when_the_run_ends(
        cli: Jobweave, target: Callable[..., str], tmp_path: Path) -> None:
    target(STUBBORN)
    p = cli("run", "flow.py:stubborn", "--no-progress")
    assert p.returncode == 1, p.stderr
    sleep = read_pid(tmp_path / "pid")
    # the run ended within the command's SIGTERM grace: its group is killed all the same
    assert gone_within(sleep, 0.5), f"the stubborn sleep {sleep} outlived its run"


def test_a_quick_resume_never_runs_a_shell_job_beside_its_previous_attempt(
        cli: Jobweave, spawn: Callable[..., object], target: Callable[..., str],
        db: SqlStore, tmp_path: Path) -> None:
    target(AGAIN)
    owner = spawn("run", "flow.py:again", "--no-progress")
    sleep = read_pid(tmp_path / "pid")
    # a start is journaled once the job has run 10 ms (START_AFTER); killed before that,
    # the resume would count the first attempt again (docs/durability.md)
    [run] = wait_for(db.list_runs, what="the run to be stored")
    wait_for(lambda: db.get_jobs(run.run_id)[0].attempts == 1, what="the start's record")
    owner_pid: int = owner.pid  # type: ignore[attr-defined]
    # the owner dies together with its keeper (as when a whole session is killed), so
    # its job's sleep is left running: only the resume can stop it
    for keeper in keepers_of(owner_pid):
        os.kill(keeper, signal.SIGKILL)
    os.kill(owner_pid, signal.SIGKILL)
    owner.wait()  # type: ignore[attr-defined]
    assert alive(sleep)
    p = cli("resume", run.run_id, "--no-progress")
    assert p.returncode == 0, p.stderr
    assert not alive(sleep)
    time.sleep(0.2)  # a first attempt still alive would beat meanwhile
    second = int((tmp_path / "second").read_text())
    beats = [int(b) for b in (tmp_path / "beats").read_text().split()]
    late = [b for b in beats if b >= second]
    assert not late, f"the first attempt beat {len(late)} times after the second started"
    assert db.get_jobs(run.run_id)[0].attempts == 2
