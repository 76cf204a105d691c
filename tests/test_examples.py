"""The examples the README walks through still load and run as it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import run_in_process

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def jobweave(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobweave", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_demo_runs_and_every_job_completes(tmp_path: Path) -> None:
    store = str(tmp_path / "demo.db")
    p = jobweave(EXAMPLES, "run", "nightly.py:nightly", "--store", store, "--no-progress")
    assert p.returncode == 0, p.stderr
    shown = jobweave(EXAMPLES, "show", "last", "--store", store, "--json")
    assert '"status": "completed"' in shown.stdout


@pytest.mark.parametrize("target", ["drill.yaml", "orders.py:nightly", "nightly.py:nightly",
                                    "user_sync/sync.yaml", "user_sync/drain.yaml"])
def test_example_definitions_validate(target: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(EXAMPLES)
    p = run_in_process(["validate", target], capsys)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("ok: ")


# The drill's kill-and-resume walk-through is the README tour's: tests/cli/test_docs.py::
# test_the_readme_tour_runs_top_to_bottom runs it as written (kill during `restore`, then
# `resume last`) and checks each job's state and attempts against the README's tables.
