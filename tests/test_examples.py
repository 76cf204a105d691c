"""The examples the README walks through still load and run as it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobweave.store import open_store
from tests.cli.helpers import wait_for

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


@pytest.mark.parametrize("target", ["drill.yaml", "orders.py:nightly", "nightly.py:nightly"])
def test_example_definitions_validate(target: str) -> None:
    p = jobweave(EXAMPLES, "validate", target)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("ok: ")


def test_the_drill_resumes_after_a_kill(tmp_path: Path) -> None:
    # the README's walk-through, with the restore shortened to keep the test quick
    drill = (EXAMPLES / "drill.yaml").read_text().replace("sleep: 5", "sleep: 3")
    (tmp_path / "drill.yaml").write_text(drill)
    url = str(tmp_path / "drill.db")
    db = open_store(url)
    first = subprocess.Popen([sys.executable, "-m", "jobweave", "run", "drill.yaml",
                              "--store", url, "--no-progress"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # killed once both fetches and the start of `restore` are committed
        runs = wait_for(lambda: [r for r in db.list_runs(limit=1)
                                 if r.counts.get("completed") == 2
                                 and r.counts.get("running") == 1],
                        what="the fetches to complete and the restore to start")
    finally:
        first.kill()
        first.communicate()
    run_id = runs[0].run_id
    listed = jobweave(tmp_path, "list", "--store", url)
    assert run_id in listed.stdout and "crashed" in listed.stdout, listed.stdout
    resumed = jobweave(tmp_path, "resume", "last", "--store", url, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    attempts = {j.name: j.attempts for j in db.get_jobs(run_id)}
    assert attempts == {"fetch[users]": 1, "fetch[orders]": 1, "restore": 2, "verify": 1}
