"""Loading a Python file never starts a run, and a file loaded from itself never deadlocks.

Every test runs real scripts in real subprocesses, each with a timeout: a hang fails.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A script without a __main__ guard: its top level runs the flow. `late` is defined after
# the run call, so a target naming it proves the rest of the file still loads.
SCRIPT = """\
import os
import sys

import jobweave as jw


def step(i: int) -> int:
    return i


def flaky() -> int:
    if not os.path.exists(os.path.join(os.path.dirname(__file__), "fixed")):
        raise ValueError("not yet")
    return 1


def flow():
    return [jw.job(step, i=1, name="one"), jw.job(flaky, name="flaky")]


result = jw.run(flow(), store=os.environ["FLOW_STORE"], name="flow")
print("top level:", result.status, flush=True)


def late():
    return [jw.job(step, i=2, name="late")]


sys.exit(result.exit_code)
"""


def _py(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, env=_env(tmp_path))


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "FLOW_STORE": str(tmp_path / "s.db")}


def _runs(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "s.db") as conn:
        return conn.execute("SELECT run_id, status FROM jobweave_runs ORDER BY run_id").fetchall()


@pytest.fixture
def failed_run(tmp_path: Path) -> str:
    """The script run once as a script: its run fails (flaky), then `flaky` is fixed."""
    (tmp_path / "flow.py").write_text(SCRIPT)
    proc = _py(tmp_path, "flow.py")
    assert proc.returncode == 1 and "top level: failed" in proc.stdout, proc.stderr
    ((run_id, status),) = _runs(tmp_path)
    assert status == "failed"
    (tmp_path / "fixed").write_text("")
    return str(run_id)


def test_cli_resume_of_an_unguarded_script_starts_no_other_run(tmp_path: Path,
                                                               failed_run: str) -> None:
    proc = _py(tmp_path, "-m", "jobweave", "resume", failed_run, "--store",
               str(tmp_path / "s.db"))
    assert proc.returncode == 0, proc.stderr
    assert _runs(tmp_path) == [(failed_run, "completed")]
    # the top level ran (it had to, to define `flaky`) but its run was skipped
    assert "top level: skipped" in proc.stdout
    assert "nothing is run" in proc.stderr


def test_api_resume_of_an_unguarded_script_starts_no_other_run(tmp_path: Path,
                                                               failed_run: str) -> None:
    code = (f"import os, jobweave as jw\nr = jw.resume({failed_run!r}, "
            "store=os.environ['FLOW_STORE'])\nprint('resumed', r.status)\n")
    proc = _py(tmp_path, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert "resumed completed" in proc.stdout
    assert _runs(tmp_path) == [(failed_run, "completed")]


@pytest.mark.parametrize("command", ["validate", "run"])
def test_loading_a_target_runs_nothing_and_loads_the_rest(tmp_path: Path, command: str) -> None:
    (tmp_path / "flow.py").write_text(SCRIPT)
    proc = _py(tmp_path, "-m", "jobweave", command, "flow.py:late", "--store",
               str(tmp_path / "s.db"))
    assert proc.returncode == 0, proc.stderr
    runs = _runs(tmp_path) if (tmp_path / "s.db").exists() else []
    if command == "validate":
        assert runs == [] and "ok: 1 job" in proc.stdout
    else:  # the one run asked for on the command line, none from the top level
        assert [status for _, status in runs] == ["completed"]


def test_a_run_from_the_top_level_of_a_loading_file_does_not_deadlock(tmp_path: Path) -> None:
    # the top level names its own file: running that would load the file again
    (tmp_path / "selfref.py").write_text(textwrap.dedent("""\
        import os
        import jobweave as jw

        def step() -> int:
            return 7

        jw.run([jw.job(f"{__file__}:step", name="s")], store=os.environ["FLOW_STORE"])

        def flow():
            return [jw.job(f"{__file__}:step", name="s")]
        """))
    proc = _py(tmp_path, "-m", "jobweave", "run", "selfref.py:flow", "--store",
               str(tmp_path / "s.db"), timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert [status for _, status in _runs(tmp_path)] == ["completed"]


def test_a_file_loading_itself_gets_the_module_so_far(tmp_path: Path) -> None:
    (tmp_path / "again.py").write_text(textwrap.dedent("""\
        from jobweave import refs

        def helper() -> int:
            return 5

        # loads this very file again, from its own top level, in the same thread
        FOUND = refs.resolve(f"{__file__}:helper")()
        """))
    code = ("from jobweave import refs\n"
            "print('found', refs.resolve('again.py:FOUND'))\n")
    proc = _py(tmp_path, "-c", code, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "found 5" in proc.stdout
