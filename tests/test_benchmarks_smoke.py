"""Smoke test of the benchmark suite: a quick run exits 0 and writes its JSON.

Speed is never asserted here (timings are the suite's business, not the tests').
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEED = {"W1", "W1+sum", "W2", "W3", "W4"}
DURABLE = {"W5", "W6"}
WORKLOADS = SPEED | DURABLE
TINY_N = 20
FIGURES = ("build_s", "run_s", "jobs_per_s", "peak_mib", "bare_s", "ratio")
DURABLE_FIGURES = {
    "W5": ("startup_s", "import_s", "first_job_s", "resume_s", "peak_mib"),
    "W6": ("startup_s", "import_s", "recover_s", "plan_s", "peak_mib"),
}


def test_quick_suite_runs_every_workload_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--n", str(TINY_N), "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())

    assert set(data["workloads"]) == WORKLOADS
    assert data["failures"] == []
    assert data["options"]["repeat"] == 1
    for key, workload in data["workloads"].items():
        (case,) = workload["cases"]
        assert case["workload"] == key
        if key in DURABLE:
            assert case["n"] == case["jobs"] == TINY_N
            for figure in DURABLE_FIGURES[key]:
                assert case[figure] > 0, (key, figure)
            continue
        assert case["n"] == (200 if key == "W4" else TINY_N)  # W4's size is fixed
        assert case["jobs"] == case["n"] + (1 if key == "W1+sum" else 0)
        assert len(case["runs_s"]) == len(case["bare_runs_s"]) == 1
        for figure in FIGURES:
            assert case[figure] > 0, (key, figure)
    assert {t["status"] for t in data["targets"]} <= {"PASS", "MISS", "not run"}
    # W5 killed its victim part way: some jobs were done, and only the rest ran again
    (w5,) = data["workloads"]["W5"]["cases"]
    (killed_at,), (rerun,) = w5["done_before"], w5["rerun"]
    assert 0 < killed_at < TINY_N and killed_at + rerun == TINY_N
    if Path(sys.executable).with_name("jobweave").exists():  # W5 also times the CLI's resume
        assert w5["cli_s"] > 0
    assert data["machine"]["sqlite"] and data["machine"]["cpu_count"]
    # the printed table names every workload
    for key in WORKLOADS:
        assert key in done.stdout
