"""The durability workloads: resume after a kill (W5), recover a journal (W6).

Each repetition runs its steps as fresh processes (``benchmarks.durable_child``), so
the timed process starts cold, as it would after a crash: W5 starts a victim, SIGKILLs it
about half way and times ``jobweave.resume`` in a new process (and counts the jobs the
victim had finished that ran again: their completions were not committed yet); W6 runs a batch to
completion once per case, exports its journal, then times ``jobweave.recover`` of the
file into a new store, and ``jobweave.recovery_plan`` alone, each in a new process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.targets import RERUN_BOUND
from jobweave.store import close_all, open_store

ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_S = 900.0
KILL_AT = 0.5
"""The victim is killed once this share of its jobs is committed as completed."""
POLL_S = 0.02
CLI = Path(sys.executable).with_name("jobweave")
"""The ``jobweave`` command of this interpreter's environment; W5 times ``jobweave resume``."""


@dataclass(frozen=True)
class DurableWorkload:
    """A durability benchmark: it measures itself, in processes it starts."""

    key: str
    title: str
    description: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    measure: Callable[[int, int], dict[str, Any]]
    """Measure size n with this many repetitions; figures as a JSON-ready dict."""
    fixed_size: bool = False
    size_step: int = 1


def kill_half_way(victim: subprocess.Popen[str], reached: Callable[[], bool],
                  deadline: float) -> None:
    """SIGKILL ``victim`` once ``reached()``; fail if it exits first or time runs out."""
    while not reached():
        if victim.poll() is not None:
            raise RuntimeError("the victim exited on its own: "
                               + (victim.communicate()[1] or "")[-2000:])
        if time.monotonic() > deadline:
            raise RuntimeError("the victim did not get half way")
        time.sleep(POLL_S)
    victim.send_signal(signal.SIGKILL)
    victim.wait()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.durable_child", *args]


def _step(*args: str) -> dict[str, Any]:
    """Run one step in a fresh process; its figures plus ``spawned_at`` (wall clock)."""
    spawned_at = time.time()
    done = subprocess.run(_command(*args), cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=STEP_TIMEOUT_S)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{args[0]} step: exit status {done.returncode}\n{tail}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # process start and imports: from just before the spawn to the child's first timed line
    figures["startup_s"] = figures["ready_at"] - spawned_at
    return figures


def _kill_half_way(store: str, n: int) -> tuple[str, int]:
    """Start the victim, SIGKILL it once half its jobs are completed: (run id, done).

    The jobs the victim finished are listed in ``STORE.finished`` (see :func:`_finished`).
    """
    victim = subprocess.Popen(_command("start", store, str(n), store + ".finished"),
                              cwd=ROOT, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert victim.stdout is not None
        line = victim.stdout.readline()
        if not line:
            raise RuntimeError("the victim exited before submitting: "
                               + (victim.communicate()[1] or "")[-2000:])
        run_id = json.loads(line)["run_id"]
        deadline = time.monotonic() + STEP_TIMEOUT_S
        reader = open_store(store)
        kill_half_way(victim, lambda: reader.get_run(run_id).counts.get("completed", 0)
                      >= n * KILL_AT, deadline)
        record = reader.get_run(run_id)
        if record.status != "crashed":
            raise RuntimeError(f"killed run shows as {record.status}, not crashed")
        return run_id, record.counts.get("completed", 0)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        for pipe in (victim.stdout, victim.stderr):
            if pipe is not None:
                pipe.close()


def _finished(store: str) -> set[int]:
    """The jobs whose function had returned in the victim when it was killed."""
    with open(store + ".finished", encoding="ascii") as f:
        return {int(line) for line in f if line.strip().isdigit()}


def _check_journal(store: str, run_id: str, n: int) -> None:
    """No job ran again once completed: one ``completed`` record each, no later start."""
    completed: set[str] = set()
    for record in open_store(store).journal(run_id):
        node, event = record["node"], record["event"]
        if event == "completed":
            if node in completed:
                raise RuntimeError(f"{node} completed twice")
            completed.add(node)
        elif event == "started" and node in completed:
            raise RuntimeError(f"{node} started again after it completed")
    if len(completed) != n:
        raise RuntimeError(f"the journal holds {len(completed)} completions, not {n}")


def _resume_once(n: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="jobweave-bench-w5-")
    store = os.path.join(folder, "bench.db")
    try:
        run_id, done_before = _kill_half_way(store, n)
        figures = _step("resume", store, run_id)
        if figures["status"] != "completed" or figures["jobs"] != n:
            raise RuntimeError(f"resume ended {figures['status']} with {figures['jobs']} jobs")
        if figures["invoked"] != n - done_before:
            raise RuntimeError(f"{figures['invoked']} jobs ran after the kill, expected "
                               f"{n - done_before} ({done_before} were completed before it)")
        _check_journal(store, run_id, n)
        figures["done_before"] = done_before
        # finished in the victim, yet run again: completions the kill lost
        figures["ran_again"] = len(_finished(store) & set(figures.pop("invoked_ids")))
        if figures["ran_again"] > RERUN_BOUND:
            raise RuntimeError(f"{figures['ran_again']} jobs finished before the kill ran "
                               f"again, more than {RERUN_BOUND}")
        return figures
    finally:
        close_all()
        shutil.rmtree(folder, ignore_errors=True)


def _cli_resume_once(n: int) -> float:
    """Kill another victim half way, then time ``jobweave resume RUN`` from spawn to exit."""
    folder = tempfile.mkdtemp(prefix="jobweave-bench-w5-cli-")
    store = os.path.join(folder, "bench.db")
    try:
        run_id, _ = _kill_half_way(store, n)
        t0 = time.perf_counter()
        done = subprocess.run([str(CLI), "resume", run_id, "--store", store, "--quiet"],
                              cwd=ROOT, env=_env(), capture_output=True, text=True,
                              timeout=STEP_TIMEOUT_S)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"jobweave resume: exit status {done.returncode}\n"
                               + done.stderr[-2000:])
        _check_journal(store, run_id, n)
        return elapsed
    finally:
        close_all()
        shutil.rmtree(folder, ignore_errors=True)


def _median(reps: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in reps if r.get(key) is not None]
    return statistics.median(values) if values else None


def measure_resume(n: int, repeat: int) -> dict[str, Any]:
    """W5: resume after SIGKILL half way, timed in a fresh process."""
    reps = [_resume_once(n) for _ in range(repeat)]
    # the CLI, when this environment has it: the same resume, as a user types it
    cli = [_cli_resume_once(n) for _ in range(repeat)] if CLI.exists() else []
    return {
        "workload": "W5", "kind": "durable", "n": n, "jobs": n, "repeat": repeat,
        "startup_s": _median(reps, "startup_s"), "import_s": _median(reps, "import_s"),
        "first_job_s": _median(reps, "first_job_s"), "resume_s": _median(reps, "resume_s"),
        "first_jobs_s": [r["first_job_s"] for r in reps],
        "resumes_s": [r["resume_s"] for r in reps],
        "done_before": [r["done_before"] for r in reps],
        "rerun": [r["invoked"] for r in reps],
        "ran_again": [r["ran_again"] for r in reps],
        "ran_again_max": max(r["ran_again"] for r in reps),
        "cli_s": statistics.median(cli) if cli else None, "clis_s": cli,
        "peak_mib": max(r["peak_mib"] for r in reps),
    }


def measure_recover(n: int, repeat: int) -> dict[str, Any]:
    """W6: recover an exported journal of n completed jobs; nothing may be invoked."""
    folder = tempfile.mkdtemp(prefix="jobweave-bench-w6-")
    journal = os.path.join(folder, "journal.jsonl")
    try:
        made = _step("prepare", os.path.join(folder, "source.db"), str(n), journal)
        recovers, plans = [], []
        for k in range(repeat):
            got = _step("recover", journal, os.path.join(folder, f"recovered-{k}.db"), str(n))
            if got["invoked"]:
                raise RuntimeError(f"recovery invoked {got['invoked']} jobs, expected none")
            recovers.append(got)
            plans.append(_step("plan", journal, str(n)))
        return {
            "workload": "W6", "kind": "durable", "n": n, "jobs": n, "repeat": repeat,
            "records": made["records"], "journal_mib": made["journal_mib"],
            "startup_s": _median(recovers, "startup_s"), "import_s": _median(recovers, "import_s"),
            "recover_s": _median(recovers, "recover_s"), "plan_s": _median(plans, "plan_s"),
            "recovers_s": [r["recover_s"] for r in recovers],
            "plans_s": [r["plan_s"] for r in plans],
            "peak_mib": max(r["peak_mib"] for r in recovers),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def profile_step(key: str, n: int, path: str) -> dict[str, Any]:
    """Set W5 or W6 up at size n, then run its timed step under cProfile into ``path``."""
    folder = tempfile.mkdtemp(prefix=f"jobweave-profile-{key.lower()}-")
    try:
        if key == "W5":
            store = os.path.join(folder, "bench.db")
            run_id, _ = _kill_half_way(store, n)
            return _step("resume", store, run_id, "--profile", path)
        journal = os.path.join(folder, "journal.jsonl")
        _step("prepare", os.path.join(folder, "source.db"), str(n), journal)
        return _step("recover", journal, os.path.join(folder, "recovered.db"), str(n),
                     "--profile", path)
    finally:
        close_all()
        shutil.rmtree(folder, ignore_errors=True)


DURABLE: tuple[DurableWorkload, ...] = (
    DurableWorkload("W5", "resume after kill",
                    "schedule of 4 batches of N/4 no-op jobs, SIGKILLed half way, resumed "
                    "in a new process", (10_000, 100_000), (2_000,), measure_resume,
                    size_step=4),
    DurableWorkload("W6", "recover journal",
                    "exported journal of an N-job batch, all completed, recovered into a "
                    "new store in a new process", (10_000, 100_000), (2_000,), measure_recover),
)
