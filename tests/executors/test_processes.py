"""The process executor, through the public API: real worker processes, real kills."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobweave as jw
from jobweave import refs
from tests import jobs

pytestmark = pytest.mark.skipif(not hasattr(os, "setpgrp"), reason="POSIX process groups")
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc"),
                                reason="killing a job's own sessions uses /proc (Linux)")


def run(tmp_path: Path, *defn: object, workers: int = 2, **options: Any) -> jw.RunResult:
    return jw.run(jw.batch(*defn), executor="processes", workers=workers,
                  store=str(tmp_path / "s.db"), **options)


def gone(pid: int) -> bool:
    """True once ``pid`` is no longer a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # it exited between the two looks
        # with /proc, it ended a moment ago; without, kill(pid, 0) found it alive
        return os.path.isdir("/proc")
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def eventually(predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def read_pid(path: Path) -> int:
    eventually(path.exists, f"a pid in {path}")
    return int(path.read_text())


def test_cpu_jobs_run_in_other_processes(tmp_path: Path) -> None:
    result = run(tmp_path, [jw.job(jobs.burn, n=20_000 + i, name=f"burn{i}") for i in range(4)])
    assert result.ok, result.jobs
    pids = set()
    for i in range(4):
        value, pid = result.job(f"burn{i}").output
        assert value == sum(k * k for k in range(20_000 + i))
        pids.add(pid)
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2  # two long-lived workers, not a process per job
    assert all(gone(pid) for pid in pids), "shutdown left worker processes behind"


def test_references_load_in_the_worker(tmp_path: Path) -> None:
    first = jw.job("tests.jobs:add", a=2, b=3, name="first")
    result = run(tmp_path, first, jw.job("os:getpid", name="pid"),
                 jw.job(jobs.add, a=jw.output(first), b=10, name="second"))
    assert result.ok, result.jobs
    assert result.job("first").output == 5
    assert result.job("second").output == 15
    assert result.job("pid").output != os.getpid()


def test_context_is_rebuilt_in_the_worker(tmp_path: Path) -> None:
    result = run(tmp_path, jw.job(jobs.where, name="here", tags=["cpu", "nightly"]))
    out = result.job("here").output
    assert out["run_id"] == result.run_id
    assert (out["job"], out["attempt"], out["tags"]) == ("here", 1, ["cpu", "nightly"])
    assert out["pid"] != os.getpid()


@needs_proc
def test_timeout_kills_the_worker_and_what_its_job_started(tmp_path: Path) -> None:
    spin_file, sh_file = tmp_path / "spin.pid", tmp_path / "sh.pid"
    # generous: a timeout must not fire before the job wrote its pid on a busy machine
    stuck = jw.job(jobs.spin, pid_file=str(spin_file), timeout=2, name="stuck")
    sh = jw.shell(f"echo $$ > {sh_file}; exec sleep 60", timeout=2, name="sh")
    after = jw.job(jobs.pid, after=[stuck, sh], run_anyway=True, name="after")
    result = run(tmp_path, stuck, sh, after)
    for name in ("stuck", "sh"):
        assert result.job(name).status == "faulted"
        assert "timed out after 2s" in (result.job(name).error or "")
    worker = int(spin_file.read_text())
    assert gone(worker)
    # the command ran in a session of its own, out of reach of the worker's group
    command = int(sh_file.read_text())
    eventually(lambda: gone(command), f"the shell command (pid {command}) to be killed")
    # fresh workers took the killed ones' places
    assert result.job("after").status == "completed"
    assert result.job("after").output not in (worker, os.getpid())


def test_a_worker_that_dies_faults_its_job_and_later_jobs_run(tmp_path: Path) -> None:
    result = run(tmp_path, jw.job(jobs.exit_now, code=3, name="exit3"),
                 jw.job(jobs.kill_self, name="oom"),
                 [jw.job(jobs.burn, n=10, name=f"later{i}") for i in range(3)], workers=1)
    assert result.job("exit3").status == "faulted"
    assert result.job("exit3").error == "worker process died (exit code 3)"
    assert result.job("oom").status == "faulted"
    assert result.job("oom").error == "worker process died (exit code -9, killed by SIGKILL)"
    for i in range(3):
        assert result.job(f"later{i}").status == "completed"
    assert result.exit_code == 1


def test_sys_exit_in_a_job_faults_it_but_keeps_the_worker(tmp_path: Path) -> None:
    result = run(tmp_path, jw.job(jobs.call_sys_exit, code=4, name="exits"),
                 jw.job(jobs.pid, name="a"), jw.job(jobs.pid, name="b"), workers=1)
    assert result.job("exits").status == "faulted"
    assert "SystemExit: 4" in (result.job("exits").error or "")
    assert result.job("a").output == result.job("b").output  # the same, surviving worker


@needs_proc
def test_cancel_kills_running_and_queued_jobs_at_once(tmp_path: Path) -> None:
    engine = jw.Engine(jw.Settings(store=str(tmp_path / "s.db"), executor="processes",
                                   workers=2))
    spin_file, sh_file, queued_file = (tmp_path / n for n in ("spin.pid", "sh.pid", "q.pid"))
    # concurrency 3 on 2 workers: the third attempt waits inside the executor
    handle = engine.submit(jw.batch(
        jw.job(jobs.spin, pid_file=str(spin_file), name="spin"),
        jw.shell(f"echo $$ > {sh_file}; exec sleep 60", name="sh"),
        jw.job(jobs.spin, pid_file=str(queued_file), name="queued"),
    ), concurrency=3)
    worker, command = read_pid(spin_file), read_pid(sh_file)
    handle.cancel()
    result = handle.wait(timeout=60)
    assert result.status == "cancelled"
    assert [j.status for j in result.jobs] == ["cancelled"] * 3
    for j in result.jobs:
        # killed and reported by the executor, not left to the engine's cancel grace period
        assert "grace period" not in (j.error or ""), j.error
    assert not queued_file.exists()
    assert gone(worker)
    eventually(lambda: gone(command), f"the shell command (pid {command}) to be killed")


def test_retries_run_again_in_a_worker(tmp_path: Path) -> None:
    result = run(tmp_path, jw.job(jobs.flaky, key="k", fails=2, retries=2, name="flaky"),
                 jw.job(jobs.flaky, key="k2", fails=5, retries=1, name="hopeless"))
    flaky = result.job("flaky")
    assert (flaky.status, flaky.output, flaky.attempts) == ("completed", 3, 3)
    hopeless = result.job("hopeless")
    assert (hopeless.status, hopeless.attempts) == ("faulted", 2)
    assert "attempt 2 of k2 failed on purpose" in (hopeless.error or "")
    assert "Traceback" in (hopeless.error or "")  # formatted as the threads executor does


def test_a_file_target_is_loaded_in_the_worker(tmp_path: Path) -> None:
    source = tmp_path / "userjobs.py"
    source.write_text("import os\n\ndef triple(x):\n    return [3 * x, os.getpid()]\n")
    by_string = jw.job(f"{source}:triple", x=5, name="by_string")
    by_object = jw.job(refs.resolve_callable(f"{source}:triple"), x=7, name="by_object")
    result = run(tmp_path, by_string, by_object)
    assert result.ok, result.jobs
    assert result.job("by_string").output[0] == 15
    assert result.job("by_object").output[0] == 21
    assert os.getpid() not in {result.job("by_string").output[1],
                               result.job("by_object").output[1]}


def test_a_callable_without_reference_fails_clearly(tmp_path: Path) -> None:
    result = run(tmp_path, jw.job(lambda: 1, name="lam"), jw.job(jobs.noop, name="fine"))
    lam = result.job("lam")
    assert lam.status == "faulted"
    assert "cannot be sent to a worker process" in (lam.error or "")
    assert "lambda" in (lam.error or "")
    assert result.job("fine").status == "completed"


def test_a_return_value_that_cannot_come_back_faults_clearly(tmp_path: Path) -> None:
    result = run(tmp_path, jw.job(jobs.unpicklable, name="lock"))
    lock = result.job("lock")
    assert lock.status == "faulted"
    assert "return value cannot be sent back from the worker process" in (lock.error or "")


ENGINE_SCRIPT = """
import sys
import jobweave as jw
from tests import jobs

if __name__ == "__main__":
    spin_file, sh_file, store = sys.argv[1:]
    jw.run(jw.batch(jw.job(jobs.spin, pid_file=spin_file),
                    jw.shell(f"echo $$ > {sh_file}; exec sleep 60")),
           executor="processes", workers=2, store=store)
"""


UNGUARDED = """
import sys
import jobweave as jw
from tests import jobs

store = sys.argv[1]
jw.run(jw.job(jobs.add, a=1, b=2), executor="processes", store=store)
"""
GUARDED = """
import sys
import jobweave as jw
from tests import jobs

if __name__ == "__main__":
    result = jw.run(jw.job(jobs.add, a=1, b=2), executor="processes", store=sys.argv[1])
    sys.exit(result.exit_code)
"""


def test_a_run_started_at_a_script_s_top_level_is_refused_before_any_worker(
        tmp_path: Path) -> None:
    # every worker would run the script again, and start the run again: refused in one
    # error naming the line, before the run is stored (workers used to die, each with a
    # long traceback, and the run was stored failed)
    script = tmp_path / "flow.py"
    script.write_text(UNGUARDED)
    store = tmp_path / "s.db"
    done = subprocess.run([sys.executable, str(script), str(store)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("Traceback") == 1
    assert (f"DefinitionError: executor: {script}:7: a run with executor='processes' is "
            "started at the script's top level") in done.stderr
    assert not store.exists() or jw.runs(store=str(store)) == []
    script.write_text(GUARDED)  # the same run under the guard runs
    done = subprocess.run([sys.executable, str(script), str(store)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@needs_proc
def test_workers_and_their_commands_go_when_the_engine_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "engine.py"
    script.write_text(ENGINE_SCRIPT)
    spin_file, sh_file = tmp_path / "spin.pid", tmp_path / "sh.pid"
    engine = subprocess.Popen([sys.executable, str(script), str(spin_file), str(sh_file),
                               str(tmp_path / "s.db")])
    try:
        worker, command = read_pid(spin_file), read_pid(sh_file)
        assert not gone(worker) and not gone(command)
    finally:
        engine.kill()
        engine.wait()
    eventually(lambda: gone(worker), f"the worker (pid {worker}) to exit")
    eventually(lambda: gone(command), f"the shell command (pid {command}) to be killed")


@needs_proc
def test_recover_runs_jobs_on_the_executor_the_journal_used(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    first = run(tmp_path, jw.job(jobs.pid, name="where"), workers=1)
    assert first.job("where").output != os.getpid()  # it ran in a worker process

    again = jw.recover(first.run_id, store=store, changed=["name=where"])
    assert again.ok and again.job("where").output not in (os.getpid(), None)
    record = jw.Engine(jw.Settings(store=store)).store.get_run(again.run_id)
    assert record.options["executor"] == "processes"
    # ... unless told otherwise
    here = jw.recover(first.run_id, store=store, changed=["name=where"], executor="threads")
    assert here.job("where").output == os.getpid()
