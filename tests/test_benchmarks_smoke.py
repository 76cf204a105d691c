"""Smoke test of the benchmark suite: a quick run exits 0 and writes its JSON.

Speed is never asserted here (timings are the suite's business, not the tests').
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEED = {"W1", "W1pg", "W1+sum", "W2", "W3", "W4", "W7", "W8", "W9", "W10", "W11"}
GRAPHS = {"G1": 10 * 20 + 1, "G2": 2 * 20 + 2, "G3": 5 * 20 + 1}
"""Firings of each graph workload at TINY_N (its ``jobs``)."""
DURABLE = {"W5", "W6", "G4"}
WORKLOADS = SPEED | set(GRAPHS) | DURABLE
TINY_N = 20
FRESH = {"W1"} | DURABLE
"""Cases measured in a fresh interpreter, as the suite does; the durable ones always are."""
FIGURES = ("build_s", "compile_s", "compile_us_per_job", "run_s", "cpu_s", "jobs_per_s", "peak_mib",
           "bare_s", "ratio")
DURABLE_FIGURES = {
    "W5": ("startup_s", "import_s", "first_job_s", "resume_s", "peak_mib"),
    "W6": ("startup_s", "import_s", "recover_s", "plan_s", "peak_mib"),
    "G4": ("first_firing_s", "cli_s"),
}


def _postgres() -> bool:
    """Whether the PostgreSQL the W1pg workload uses answers."""
    try:
        import psycopg
        from benchmarks.measure import PG_SERVER

        with psycopg.connect(PG_SERVER, connect_timeout=3):
            return True
    except Exception:
        return False


def test_quick_suite_runs_every_workload_and_writes_json(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import measure, suite
    from benchmarks.workloads import WORKLOADS as BY_KEY
    from benchmarks.workloads import Workload

    fresh = suite.run_case

    def run_case(key: str, n: int, repeat: int) -> dict[str, object]:
        # the suite measures each case in a fresh interpreter: FRESH go that way, the
        # others run the same measurement here (an interpreter start each costs more than
        # the case)
        workload = BY_KEY[key]
        if key in FRESH or not isinstance(workload, Workload):
            return fresh(key, n, repeat)
        return measure.measure(workload, n, repeat)

    monkeypatch.setattr(suite, "run_case", run_case)
    out = tmp_path / "results.json"
    expected = WORKLOADS if _postgres() else WORKLOADS - {"W1pg"}  # W1pg needs the server
    only = ["--only", ",".join(sorted(expected))] if expected != WORKLOADS else []
    # the measurement collects garbage before each timing: freezing what this worker
    # already holds keeps those collections to what the cases themselves made
    gc.freeze()
    try:
        code = suite.main(["--quick", "--n", str(TINY_N), "--output", str(out), *only])
    finally:
        gc.unfreeze()
    printed = capsys.readouterr()
    done = subprocess.CompletedProcess(["benchmarks"], code, printed.out, printed.err)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())

    assert set(data["workloads"]) == expected
    assert data["failures"] == []
    assert data["options"]["repeat"] == 1
    for key, workload in data["workloads"].items():
        (case,) = workload["cases"]
        assert case["workload"] == key
        if key in DURABLE:
            assert case["n"] == TINY_N
            assert case["jobs"] == TINY_N or key == "G4"
            for figure in DURABLE_FIGURES[key]:
                assert case[figure] > 0, (key, figure)
            continue
        assert case["n"] == (200 if key == "W4" else TINY_N)  # W4's size is fixed
        per = 3 if key in ("W10", "W11") else 1  # a flow runs each of its 3 steps per element
        if key in GRAPHS:  # a graph's jobs are its firings
            assert case["jobs"] == GRAPHS[key]
        else:
            assert case["jobs"] == case["n"] * per + (1 if key == "W1+sum" else 0)
        assert len(case["runs_s"]) == len(case["bare_runs_s"]) == 1
        for figure in FIGURES:
            assert case[figure] > 0, (key, figure)
    assert {t["status"] for t in data["targets"]} <= {"PASS", "MISS", "not run"}
    # W5 killed its victim part way: some jobs were done, and only the rest ran again
    (w5,) = data["workloads"]["W5"]["cases"]
    (killed_at,), (rerun,) = w5["done_before"], w5["rerun"]
    assert 0 < killed_at < TINY_N and killed_at + rerun == TINY_N
    # and of the jobs the victim had finished, few ran again (the group-commit bound)
    from benchmarks.targets import RERUN_BOUND

    assert w5["ran_again"][0] <= RERUN_BOUND and w5["ran_again_max"] == w5["ran_again"][0]
    if Path(sys.executable).with_name("jobweave").exists():  # W5 also times the CLI's resume
        assert w5["cli_s"] > 0
    # G4 killed its victim part way through the graph's firings, and the resume went on
    (g4,) = data["workloads"]["G4"]["cases"]
    (fired_at_kill,) = g4["done_before"]
    assert g4["firings"] == GRAPHS["G1"] and 0 < fired_at_kill < g4["firings"]
    assert g4["first_firing_s"] <= g4["cli_s"]
    assert data["machine"]["sqlite"] and data["machine"]["cpu_count"]
    # the yardsticks that tell machines of one name apart, saved and printed
    speed = data["machine"]["speed"]
    assert speed["python_loop_ns"] > 0 and speed["sqlite_commit_us"] > 0
    assert f"a SQLite commit {speed['sqlite_commit_us']} µs" in done.stdout
    # the printed table names every workload
    for key in WORKLOADS:
        assert key in done.stdout


def test_show_takes_the_median_over_saved_runs(tmp_path: Path) -> None:
    from benchmarks.merge import merge
    from benchmarks.report import machine_info

    def saved(run_s: float, runs: list[float]) -> dict[str, object]:
        case = {"workload": "W2", "n": 10_000, "jobs": 10_000, "repeat": 3,
                "build_s": 0.03, "run_s": run_s, "runs_s": runs, "jobs_per_s": 10_000 / run_s,
                "peak_mib": 80.0, "bare_s": 0.5, "bare_runs_s": [0.5], "ratio": run_s / 0.5}
        return {"machine": machine_info(), "options": {"repeat": 3},
                "workloads": {"W2": {"title": "chain", "cases": [case]}},
                "targets": [], "failures": []}

    paths = []
    for k, (run_s, runs) in enumerate([(1.0, [1.0]), (3.0, [3.0]), (1.5, [1.5, 2.5])]):
        path = tmp_path / f"run{k}.json"
        path.write_text(json.dumps(saved(run_s, runs)))
        paths.append(str(path))

    merged = merge([json.loads(Path(p).read_text()) for p in paths])
    (case,) = merged["workloads"]["W2"]["cases"]
    assert case["run_s"] == 1.5 and case["runs"] == 3
    assert sorted(case["runs_s"]) == [1.0, 1.5, 2.5, 3.0]
    (w2,) = [t for t in merged["targets"] if t["workload"] == "W2"]
    assert w2["value"] == 1.5 and w2["status"] == "PASS"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--show", *paths],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "medians over 3 runs" in done.stdout and "1.500" in done.stdout
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--show", str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot read saved results" in done.stderr


def test_the_floor_replays_what_a_run_wrote_and_names_its_parts() -> None:
    from benchmarks import floor
    from benchmarks.workloads import WORKLOADS as BY_KEY

    n = 200
    row = floor.floor(BY_KEY["W7"], n, repeat=1)
    # every job's completion, the run's definition, its start and its end; on a loaded
    # machine, also a `started` record for each job that ran long enough to need one
    assert row["records"] - row["started"] == n + 3
    assert 0 <= row["started"] <= n
    assert row["commits"] == -(-(row["records"] - 1) // floor.GROUP_ROWS)
    for key in ("bare_s", "run_s", "compile_s", "create_s", "commits_s"):
        assert row[key] > 0, key
    assert row["floor_s"] == pytest.approx(row["compile_s"] + row["create_s"] + row["commits_s"])
    text = floor.table([row])
    assert text.splitlines()[2].split()[:2] == ["W7", "200"]
    with pytest.raises(SystemExit):  # a workload it cannot replay is refused by name
        floor.main(["W5"])


def test_the_breakdown_takes_parts_away_and_puts_them_back(tmp_path: Path) -> None:
    from benchmarks import without
    from benchmarks.workloads import WORKLOADS as BY_KEY

    import jobweave as jw
    from jobweave.engine.engine import Engine
    from jobweave.store import open_store
    from jobweave.store.writer import Writer

    kept_once, kept_plan = Writer._once, Engine.plan
    definition, check = BY_KEY["W7"].build(30)
    store = str(tmp_path / "s.db")
    with without._without_writes(True):
        skipped = jw.run(definition, store=store)
    check(skipped)  # the run itself is whole: only its commits were left out
    assert (Writer._once, Engine.plan) == (kept_once, kept_plan)
    written = jw.run(BY_KEY["W7"].build(30)[0], store=store)
    events = [[r["event"] for r in open_store(store).journal(run_id)]
              for run_id in (skipped.run_id, written.run_id)]
    assert events[0].count("completed") == 0
    assert events[1].count("completed") == 30

    row = without.breakdown(BY_KEY["W7"], 100, repeat=1)
    assert all(row[case] > 0 for case in without.CASES) and row["bare_s"] > 0
    assert (Writer._once, Engine.plan) == (kept_once, kept_plan)
    assert without.table([row]).splitlines()[2].split()[:2] == ["W7", "100"]
    with pytest.raises(SystemExit):
        without.main(["G1"])
