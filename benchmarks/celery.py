"""``python -m benchmarks.celery``: jobs on real Celery workers (Redis, PostgreSQL).

* **C-1 speed-up**: 200 jobs × 250 ms (``jw.sleep``) on N = 1, 2, 4, 8 worker processes
  (N ``jobweave worker -c 1``); wall time from the run's start to its end, and the
  speed-up against N = 1 (target: at least 0.8·N).
* **C-2 dispatch overhead**: 1,000 no-op jobs through one worker, one at a time (run
  concurrency 1, so no job waits behind another): each attempt's time from queued to
  completed in the store (the database's clock at both ends), p50 and p99 (target: p50 ≤
  15 ms), and the engine process's CPU time per job.

Needs Redis (``JOBWEAVE_BENCH_REDIS``, default redis://127.0.0.1:6379/0) and PostgreSQL
(``JOBWEAVE_BENCH_PG``, an admin URL: a database is made and dropped). Prints one JSON
document; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jobweave as jw
from jobweave.engine import Engine
from jobweave.executors.celery_app import make_app
from jobweave.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("JOBWEAVE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("JOBWEAVE_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def _workers(settings: Settings, n: int, concurrency: int = 1) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ, JOBWEAVE_STORE=settings.store, JOBWEAVE_BROKER=REDIS,
               JOBWEAVE_QUEUE=settings.queue,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    procs, names = [], []
    for k in range(n):
        name = f"b{k}-{settings.queue}@{socket.gethostname()}"
        names.append(name)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "jobweave", "worker", "-c", str(concurrency), "-n", name],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
    app = make_app(settings)
    deadline = time.monotonic() + 60
    waiting = set(names)
    while waiting and time.monotonic() < deadline:
        for reply in app.control.ping(destination=list(waiting), timeout=0.5):
            waiting -= set(reply)
    app.close()
    if waiting:
        _stop(procs)
        raise SystemExit(f"workers not ready: {sorted(waiting)}")
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def speedup(settings: Settings, jobs: int, seconds: float, ns: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n in ns:
        s = settings.with_(queue=f"{settings.queue}-n{n}")
        procs = _workers(s, n)
        try:
            batch = jw.batch([jw.sleep(seconds, name=f"s{k}") for k in range(jobs)])
            result = Engine(s).run(batch, concurrency=max(16, 4 * n))
        finally:
            _stop(procs)
        wall = result.finished_at - result.started_at
        rows.append({"workers": n, "wall_s": round(wall, 2),
                     "ideal_s": round(jobs * seconds / n, 2), "status": result.status})
    base = rows[0]["wall_s"] * rows[0]["workers"]
    for r in rows:
        r["speedup"] = round(base / r["wall_s"], 2)
        r["efficiency"] = round(r["speedup"] / r["workers"], 2)
    return rows


def overhead(settings: Settings, jobs: int) -> dict[str, Any]:
    s = settings.with_(queue=f"{settings.queue}-c2")
    procs = _workers(s, 1)
    try:
        engine = Engine(s)
        batch = jw.batch([jw.job("benchmarks.jobs:noop", i=k, name=f"n{k}")
                          for k in range(jobs)])
        cpu = time.process_time()
        result = engine.run(batch, concurrency=1)
        cpu = time.process_time() - cpu
    finally:
        _stop(procs)
    with engine.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.exec_driver_sql(
            "SELECT updated_at - (queued_until - %(w)s) FROM jobweave_attempts "
            "WHERE run_id = %(r)s AND state = 'done'",
            {"w": s.queued_timeout, "r": result.run_id}).fetchall()
    lat = sorted(r[0] * 1000 for r in rows)
    wall = result.finished_at - result.started_at
    return {"jobs": jobs, "status": result.status, "completed_in_store": len(lat),
            "p50_ms": round(statistics.median(lat), 2),
            "p99_ms": round(lat[int(0.99 * (len(lat) - 1))], 2),
            "jobs_per_s": round(jobs / wall, 1),
            "engine_cpu_ms_per_job": round(cpu * 1000 / jobs, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="C-1 jobs (default 200)")
    parser.add_argument("--seconds", type=float, default=0.25, help="C-1 job length")
    parser.add_argument("--workers", default="1,2,4,8", help="C-1 worker counts")
    parser.add_argument("--noops", type=int, default=1000, help="C-2 jobs (default 1000)")
    args = parser.parse_args(argv)
    import psycopg

    name = "jobweave_bench_" + secrets.token_hex(4)
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    store = PG.rsplit("/", 1)[0] + "/" + name
    settings = Settings(store=store, executor="celery", broker=REDIS,
                        queue="bench-" + secrets.token_hex(3))
    try:
        out = {"load_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
               "C-2 overhead": overhead(settings, args.noops),
               "C-1 speed-up": speedup(settings, args.jobs, args.seconds,
                                       [int(n) for n in args.workers.split(",")])}
    finally:
        from jobweave.store import close_all

        close_all()
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
