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
                                    "user_sync/sync.yaml", "user_sync/drain.yaml",
                                    "flows.py:refresh", "flows.py:poll", "served.yaml"])
def test_example_definitions_validate(target: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(EXAMPLES)
    p = run_in_process(["validate", target], capsys)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("ok: ")


# The drill's kill-and-resume walk-through is the README tour's: tests/cli/test_docs.py::
# test_the_readme_tour_runs_top_to_bottom runs it as written (kill during `restore`, then
# `resume last`) and checks each job's state and attempts against the README's tables.


def test_the_triggers_page_s_commands_list_what_it_shows(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(EXAMPLES)
    listed = run_in_process(["triggers", "flows.py:nightly", "flows.py:all_triggers",
                             "--from", "2026-10-24T00:00:00Z", "--count", "3"], capsys)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[:4] == [
        "nightly: at 02:30 every day in Europe/Warsaw (missed=skip overlap=skip)",
        "  2026-10-24 Sat 02:30:00+0200  2026-10-24T00:30:00Z",
        "  2026-10-25 Sun 02:30:00+0200  2026-10-25T00:30:00Z",
        "  2026-10-26 Mon 02:30:00+0100  2026-10-26T01:30:00Z"]
    polled = run_in_process(["triggers", "flows.py:poll", "--from", "2026-12-02T00:00:00Z",
                             "--count", "3"], capsys)
    assert polled.stdout.splitlines() == [
        "poll[0]: every 2s (missed=skip overlap=skip max_fires=2)",
        "  2026-12-02 Wed 00:00:00+0000  2026-12-02T00:00:00Z",
        "  2026-12-02 Wed 00:00:02+0000  2026-12-02T00:00:02Z",
        "  (max_fires 2: no more fires after this)"]
    served = run_in_process(["triggers", "served.yaml", "flows.py:refresh", "--count", "1"],
                            capsys)
    assert served.returncode == 0, served.stderr
    assert [ln.split(":")[0] for ln in served.stdout.splitlines()
            if ln and not ln.startswith(" ")] == [
        "nightly-report[0]", "nightly-report[1]", "refresh[0]"]
