"""``python -m benchmarks.serve``: how fast ``jobweave serve`` starts a run, and what it
costs while idle.

* **fire latency**: a real ``jobweave serve`` process serves one ``every("1s")`` trigger
  of a one-job batch; for each run, the time from its scheduled fire instant to the run
  stored (``created_at``) and to its first job running (``started_at``). p50/p95/max.
* **idle CPU**: a ``jobweave serve`` process with N triggers (default 1,000) that do not
  fire during the measurement; CPU time (user + system, from ``/proc/PID/stat``) over a
  window of wall time, as a percentage of one core.

Prints one JSON document. Speed is not asserted anywhere: this only measures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jobweave.store import close_all, open_store

_TICKS = os.sysconf("SC_CLK_TCK")


def _serve(folder: Path, target: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "serve", target, "--store",
                             str(folder / "s.db"), "--quiet"], cwd=folder, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def fire_latency(fires: int) -> dict[str, Any]:
    """Serve ``every("1s", max_fires=fires)`` and time each run from its fire instant."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "defs.py").write_text(
            "import jobweave as jw\n\n"
            "def tick():\n    return 1\n\n"
            f"ticks = jw.batch(jw.job(tick, name='tick'), name='ticks', "
            f"triggers=[jw.every('1s', max_fires={fires}, overlap='allow')])\n")
        proc = _serve(folder, "defs.py:ticks")
        proc.wait(timeout=fires + 120)
        store = open_store(str(folder / "s.db"))
        stored: list[float] = []
        running: list[float] = []
        for run in store.list_runs(limit=fires + 10):
            fire = math.floor(run.created_at)  # every("1s") fires on whole seconds
            stored.append((run.created_at - fire) * 1000)
            first = min(j.started_at for j in store.get_jobs(run.run_id) if j.started_at)
            running.append((first - fire) * 1000)
        close_all()
    return {"fires": len(stored),
            "stored_ms": {"p50": round(statistics.median(stored), 2),
                          "p95": round(_pct(stored, 0.95), 2), "max": round(max(stored), 2)},
            "first_job_ms": {"p50": round(statistics.median(running), 2),
                             "p95": round(_pct(running, 0.95), 2),
                             "max": round(max(running), 2)}}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def idle_cpu(triggers: int, window: float) -> dict[str, Any]:
    """CPU of a serve process with ``triggers`` triggers that do not fire in ``window``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "defs.py").write_text(
            "import jobweave as jw\n\n"
            "def tick():\n    return 1\n\n"
            "many = jw.batch(jw.job(tick), name='many', triggers=[\n"
            f"    jw.every('7d', name=f't{{i}}') for i in range({triggers})])\n")
        proc = _serve(folder, "defs.py:many")
        store = open_store(str(folder / "s.db"))
        began = time.monotonic()
        while True:  # started: every trigger has been served once (its last fire stored)
            with store.engine.connect() as conn:
                done = conn.exec_driver_sql("SELECT count(*) FROM jobweave_triggers "
                                            "WHERE last_fire IS NOT NULL").scalar()
            if done == triggers:
                break
            if time.monotonic() - began > 300 or proc.poll() is not None:
                raise RuntimeError("serve did not start")
            time.sleep(0.2)
        startup = time.monotonic() - began
        time.sleep(1.0)
        cpu0, wall0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(window)
        cpu1, wall1 = _cpu_seconds(proc.pid), time.monotonic()
        _stop(proc)
        close_all()
    return {"triggers": triggers, "startup_s": round(startup, 2), "window_s": window,
            "cpu_s": round(cpu1 - cpu0, 3),
            "cpu_pct_of_core": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fires", type=int, default=20, help="fires timed (1 a second)")
    parser.add_argument("--triggers", type=int, default=1000, help="triggers served idle")
    parser.add_argument("--window", type=float, default=10.0, help="idle seconds measured")
    args = parser.parse_args(argv)
    result = {"fire_latency": fire_latency(args.fires),
              "idle": idle_cpu(args.triggers, args.window)}
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
