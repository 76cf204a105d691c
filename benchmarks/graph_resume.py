"""G4: resume a graph run killed half-way, with ``jobweave resume RUN`` in a new process.

Per repetition, in a new SQLite store:

1. A victim process (``python -m benchmarks.graph_resume victim STORE N``) submits G1's
   chain with its first node a ``python`` node (:func:`benchmarks.graphs.relay`), so the
   messages reach the chain one executor firing at a time, and runs it. (So that a tiny run
   is still alive at the kill, ``relay`` blocks for good from call HOLD_AT * N on.)
2. This process counts the run's ``fired`` rows in ``jobweave_journal`` every 20 ms and
   SIGKILLs the victim once half of the run's 10N + 1 firings are committed.
3. It spawns ``jobweave resume RUN --store STORE --quiet`` and polls the journal every
   2 ms for a ``fired`` row beyond the last one before the kill: **first firing s** is
   from the spawn (interpreter start and imports included) to that row, committed;
   **CLI s** from the spawn to the command's exit, the run completed, and ``cli_cpu_s``
   the CPU time of that process (steadier than wall time on a busy machine).

The case fails unless the run completed with every firing journaled exactly once: 10N + 1
``fired`` rows with distinct firing ids, N for each node of the chain.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks import graphs
from benchmarks.durable import CLI, ROOT, STEP_TIMEOUT_S, DurableWorkload, _env, kill_half_way

KILL_AT = 0.5
"""The victim is killed once this share of the run's firings is committed."""
HOLD_AT = 0.6
"""The victim's ``relay`` blocks from this share of the messages on."""
POLL_S = 0.02
FIRST_POLL_S = 0.002
"""How often the journal is read for the resumed run's first firing."""


def firings(n: int) -> int:
    """Firings of a complete run: the iterator's one, then CHAIN per message."""
    return graphs.CHAIN * n + 1


def _fired(db: sqlite3.Connection, run_id: str) -> tuple[int, int]:
    """(``fired`` rows of the run, its last journal seq)."""
    count, = db.execute("SELECT count(*) FROM jobweave_journal WHERE run_id = ? AND "
                        "event = 'fired'", (run_id,)).fetchone()
    last, = db.execute("SELECT max(seq) FROM jobweave_journal WHERE run_id = ?",
                       (run_id,)).fetchone()
    return count, last or 0


def _kill_half_way(store: str, n: int) -> tuple[str, int, int]:
    """Start the victim, SIGKILL it half-way: (run id, fired rows, last seq)."""
    env = _env()
    env[graphs.HOLD_ENV] = str(max(1, int(n * HOLD_AT)))
    victim = subprocess.Popen([sys.executable, "-m", "benchmarks.graph_resume", "victim",
                               store, str(n)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert victim.stdout is not None
        line = victim.stdout.readline()
        if not line:
            raise RuntimeError("the victim exited before submitting: "
                               + (victim.communicate()[1] or "")[-2000:])
        run_id = json.loads(line)["run_id"]
        db = sqlite3.connect(store, timeout=30)
        try:
            kill_half_way(victim, lambda: _fired(db, run_id)[0] >= firings(n) * KILL_AT,
                          time.monotonic() + STEP_TIMEOUT_S)
            fired, last = _fired(db, run_id)
        finally:
            db.close()
        return run_id, fired, last
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        for pipe in (victim.stdout, victim.stderr):
            if pipe is not None:
                pipe.close()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _resume(store: str, run_id: str, last: int) -> tuple[float | None, float, float]:
    """Time ``jobweave resume``: (spawn to its first committed firing, spawn to exit, CPU
    seconds of the command's process)."""
    db = sqlite3.connect(store, timeout=30)
    first: float | None = None
    cpu0 = _children_cpu()
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(CLI), "resume", run_id, "--store", store, "--quiet"],
                                cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        while proc.poll() is None and first is None:
            row = db.execute("SELECT 1 FROM jobweave_journal WHERE run_id = ? AND seq > ? "
                             "AND event = 'fired' LIMIT 1", (run_id, last)).fetchone()
            if row is not None:
                first = time.perf_counter() - t0
                break
            time.sleep(FIRST_POLL_S)
        _, err = proc.communicate(timeout=STEP_TIMEOUT_S)
        total = time.perf_counter() - t0
    finally:
        db.close()
    if proc.returncode != 0:
        raise RuntimeError(f"jobweave resume: exit status {proc.returncode}\n{err[-2000:]}")
    return first, total, _children_cpu() - cpu0


def _check_journal(store: str, run_id: str, n: int) -> None:
    """The run completed, each firing journaled once, N firings per chain node."""
    db = sqlite3.connect(store)
    try:
        status, = db.execute("SELECT status FROM jobweave_runs WHERE run_id = ?",
                             (run_id,)).fetchone()
        rows = db.execute("SELECT node, data FROM jobweave_journal WHERE run_id = ? AND "
                          "event = 'fired'", (run_id,)).fetchall()
    finally:
        db.close()
    if status != "completed":
        raise RuntimeError(f"the resumed run ended {status}")
    ids = {json.loads(data)["id"] for _, data in rows}
    if len(rows) != firings(n) or len(ids) != len(rows):
        raise RuntimeError(f"{len(rows)} fired rows with {len(ids)} distinct ids, "
                           f"expected {firings(n)} of each")
    per_node: dict[str, int] = {}
    for node, _ in rows:
        per_node[node] = per_node.get(node, 0) + 1
    if any(per_node.get(f"n{k}") != n for k in range(graphs.CHAIN)):
        raise RuntimeError(f"firings per node {per_node}, expected {n} each")


def _once(n: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="jobweave-bench-g4-")
    store = os.path.join(folder, "bench.db")
    try:
        run_id, fired, last = _kill_half_way(store, n)
        first, total, cpu = _resume(store, run_id, last)
        if first is None:
            raise RuntimeError("the resumed run journaled no new firing before it exited")
        _check_journal(store, run_id, n)
        return {"first_firing_s": first, "cli_s": total, "cli_cpu_s": cpu, "done_before": fired}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure(n: int, repeat: int) -> dict[str, Any]:
    """G4's figures: medians of ``repeat`` kills and resumes."""
    if not CLI.exists():
        raise RuntimeError(f"G4 times the jobweave command, and {CLI} does not exist")
    reps = [_once(n) for _ in range(repeat)]
    return {
        "workload": "G4", "kind": "durable", "n": n, "jobs": n, "firings": firings(n),
        "repeat": repeat,
        "first_firing_s": statistics.median(r["first_firing_s"] for r in reps),
        "cli_s": statistics.median(r["cli_s"] for r in reps),
        "cli_cpu_s": statistics.median(r["cli_cpu_s"] for r in reps),
        "first_firings_s": [r["first_firing_s"] for r in reps],
        "clis_s": [r["cli_s"] for r in reps],
        "done_before": [r["done_before"] for r in reps],
    }


def victim(store: str, n: int) -> None:
    """Run G4's chain until killed; print the run id first."""
    import jobweave as jw

    handle = jw.submit(graphs.chain(n, first="python"), store=store)
    sys.stdout.write(json.dumps({"run_id": handle.run_id}) + "\n")
    sys.stdout.flush()
    handle.wait()
    raise SystemExit("the victim finished; it should have been killed")


GRAPH_RESUME = DurableWorkload(
    "G4", "graph resume",
    f"G1's chain with a python first node, SIGKILLed half-way through its {graphs.CHAIN}N + 1 "
    "firings, then `jobweave resume RUN` in a new process", (10_000,), (1_000,), measure)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "victim":
        raise SystemExit("usage: python -m benchmarks.graph_resume victim STORE N")
    victim(sys.argv[2], int(sys.argv[3]))
