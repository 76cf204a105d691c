"""Shell jobs: real subprocesses, status and stderr in the error, bounded output."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.components import groups, shell
from jobweave.components.shell import OUTPUT_LIMIT
from jobweave.context import Context
from tests import jobs


def test_a_non_zero_exit_faults_with_the_status_and_the_stderr_tail(store_url: str) -> None:
    cmd = "echo out; for i in 1 2 3 4 5; do echo line$i >&2; done; exit 3"
    result = jw.run([jw.shell(cmd, name="sh"), jw.job(jobs.noop, name="other")],
                    store=store_url)
    sh = result.job("sh")
    assert sh.status == "faulted"
    assert sh.error is not None
    summary, *rest = sh.error.splitlines()
    assert summary == "command exited with status 3: line3 | line4 | line5"
    # then all it wrote (bounded), so a faulted job's output is not lost
    assert rest == ["--- stderr ---", *(f"line{i}" for i in range(1, 6)), "--- stdout ---",
                    "out"]
    assert result.job("other").status == "completed"


def test_a_command_that_is_not_found_faults(store_url: str) -> None:
    result = jw.run(jw.shell("definitely-not-a-command-jw", name="sh"), store=store_url)
    assert result.job("sh").status == "faulted"
    assert "status 127" in (result.job("sh").error or "")


def test_a_chatty_command_keeps_only_the_tail_of_its_output(store_url: str) -> None:
    # ~10 MiB of stdout followed by a marker: the run must not keep it all
    cmd = "yes 0123456789abcdef | head -c 10000000; echo THE-END"
    result = jw.run(jw.shell(cmd, name="chatty"), store=store_url)
    out = result.job("chatty").output
    assert result.ok
    stdout = out["stdout"]
    assert stdout.endswith("THE-END\n")
    assert len(stdout.encode()) <= OUTPUT_LIMIT + 64
    assert stdout.startswith("[") and "bytes dropped]" in stdout.splitlines()[0]


def test_cwd_and_env_reach_the_command(store_url: str, tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    result = jw.run(jw.shell('pwd; echo "$JW_TEST_VALUE"', cwd=str(tmp_path / "here"),
                             env={"JW_TEST_VALUE": "forty-two"}, name="sh"), store=store_url)
    assert result.job("sh").output["stdout"].splitlines() == [str(tmp_path / "here"),
                                                              "forty-two"]


def test_a_command_starts_only_once_its_group_is_registered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a command that ran before its group was registered to die with this process would
    # outlive it if it died in that moment: the command waits for the registration
    marker = tmp_path / "ran"
    order: list[str] = []
    real = groups.started

    def slow_register(run_id: str, pgid: int) -> None:
        time.sleep(0.3)  # a command that did not wait would have written by now
        order.append("too late" if marker.exists() else "registered first")
        real(run_id, pgid)

    monkeypatch.setattr(groups, "started", slow_register)
    done = shell.run(f"echo $$ > {marker}; echo $0 $#", Context("r1", "sh", 1))
    assert order == ["registered first"]
    assert done["returncode"] == 0 and done["stdout"] == "/bin/sh 0\n"  # as sh -c runs it
    assert marker.read_text().strip().isdigit()


def test_a_command_whose_group_cannot_be_registered_never_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(run_id: str, pgid: int) -> None:
        raise OSError("no keeper")

    never = tmp_path / "never"
    monkeypatch.setattr(groups, "started", refuse)
    with pytest.raises(OSError, match="no keeper"):
        shell.run(f"touch {never}", Context("r2", "sh", 1))
    time.sleep(0.3)
    assert not never.exists()


def test_a_gate_that_died_before_its_release_leaves_no_registered_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the group is registered, then its gate dies before it is told to go on: the job
    # fails, and the group is not left registered to this run (nor on disk for a resume)
    never = tmp_path / "never"
    real = groups.started
    leaders: list[int] = []

    def register_then_kill(run_id: str, pgid: int) -> None:
        real(run_id, pgid)
        leaders.append(pgid)
        os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while groups.alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.01)

    monkeypatch.setattr(groups, "started", register_then_kill)
    with pytest.raises(BrokenPipeError):
        shell.run(f"touch {never}", Context("r3", "sh", 1))
    assert not never.exists()
    folder = groups.leftovers_dir("r3")
    left = os.listdir(folder) if os.path.isdir(folder) else []
    assert str(leaders[0]) not in left
