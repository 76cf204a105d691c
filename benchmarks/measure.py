"""Measure one workload at one size, in the fresh process the suite starts for it.

W5 and W6 measure themselves, in processes of their own (see ``benchmarks.durable``);
for the speed workloads:

``python -m benchmarks.measure W1 10000 --repeat 3`` runs the jobweave version
``repeat`` times (each with its own SQLite store in a new temporary folder), reads the
process's peak RSS, then runs the bare thread-pool version ``repeat`` times, and writes
one JSON object on stdout. The jobweave runs go first so the peak is theirs alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jobweave as jw
from benchmarks.durable import DurableWorkload
from benchmarks.workloads import WORKLOADS, Workload
from jobweave.engine.bulk import gc_paused
from jobweave.plan import compile_plan
from jobweave.store import close_all, open_store


def rss_mib(field: str = "VmRSS") -> float | None:
    """A memory figure of this process from /proc (Linux), in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_mib() -> float:
    """The RSS high-water mark of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def compile_once(workload: Workload, n: int) -> float:
    """CPU seconds compiling the workload's definition into a plan, as ``jw.run`` does
    first (also part of ``run s``; timed alone here). CPU time of this thread, not wall
    time: compiling uses one thread, and on a busy machine the wall clock mostly measures
    the other processes."""
    definition, _check = workload.build(n)
    gc.collect()
    with gc_paused():
        t0 = time.thread_time()
        compile_plan(definition)
        return time.thread_time() - t0


PG_SERVER = os.environ.get("JOBWEAVE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
"""A database on the server the PostgreSQL workloads use (each run gets a new database)."""


@contextmanager
def fresh_store(workload: Workload) -> Iterator[str]:
    """A new, empty store for one run: an SQLite file in a new folder, or a new database
    on ``PG_SERVER``; removed afterwards."""
    if workload.store == "postgresql":
        import psycopg

        name = f"jobweave_bench_{os.getpid()}_{time.monotonic_ns()}"
        try:
            admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
        except psycopg.Error as exc:
            raise SystemExit(f"{workload.key} needs PostgreSQL at {PG_SERVER} "
                             f"(JOBWEAVE_BENCH_PG): {exc}") from None
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_SERVER.rsplit("/", 1)[0] + "/" + name
        finally:
            close_all()
            with psycopg.connect(PG_SERVER, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    folder = tempfile.mkdtemp(prefix="jobweave-bench-")
    try:
        yield os.path.join(folder, "bench.db")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_jobweave(workload: Workload, n: int) -> tuple[float, float, float]:
    """One timed jobweave run: (seconds building the jobs, seconds inside ``jw.run``, CPU
    seconds of the whole process inside ``jw.run``)."""
    with fresh_store(workload) as store:
        # A user's store already exists: creating its tables is not part of a run.
        open_store(store)
        gc.collect()
        t0 = time.perf_counter()
        definition, check = workload.build(n)
        t1 = time.perf_counter()
        c1 = time.process_time()
        result = jw.run(definition, store=store, concurrency=workload.concurrency)
        c2 = time.process_time()
        t2 = time.perf_counter()
        check(result)
        del result, definition
        gc.collect()  # lets the run's SQLite connections close before the folder goes
        return t1 - t0, t2 - t1, c2 - c1


def run_bare(workload: Workload, n: int) -> float:
    """One timed run of the same work on a bare ``ThreadPoolExecutor``."""
    if workload.prepare_bare is not None:
        go, check = workload.prepare_bare(n)
        gc.collect()
        t0 = time.perf_counter()
        got = go()
        elapsed = time.perf_counter() - t0
        check(got)
        return elapsed
    assert workload.bare is not None
    gc.collect()
    t0 = time.perf_counter()
    workload.bare(n)
    return time.perf_counter() - t0


def measure(workload: Workload, n: int, repeat: int) -> dict[str, Any]:
    """Every figure of one case, as a JSON-ready dict."""
    baseline = rss_mib()
    builds, runs, cpus = [], [], []
    for _ in range(repeat):
        build_s, run_s, cpu_s = run_jobweave(workload, n)
        builds.append(build_s)
        runs.append(run_s)
        cpus.append(cpu_s)
    peak = peak_mib()
    bare = [run_bare(workload, n) for _ in range(repeat)]
    compiles = [compile_once(workload, n) for _ in range(repeat)]
    run_s = statistics.median(runs)
    bare_s = statistics.median(bare)
    jobs = workload.jobs(n)
    return {
        "workload": workload.key,
        "n": n,
        "jobs": jobs,
        "repeat": repeat,
        "build_s": statistics.median(builds),
        "compile_s": statistics.median(compiles),
        "compile_us_per_job": statistics.median(compiles) / jobs * 1e6,
        "run_s": run_s,
        "runs_s": runs,
        "cpu_s": statistics.median(cpus),
        "cpu_us_per_job": statistics.median(cpus) / jobs * 1e6,
        "jobs_per_s": jobs / run_s if run_s > 0 else None,
        "peak_mib": peak,
        "baseline_mib": baseline,
        "bare_s": bare_s,
        "bare_runs_s": bare,
        "bare_jobs_per_s": jobs / bare_s if bare_s > 0 else None,
        "ratio": run_s / bare_s if bare_s > 0 else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("n", type=int)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    workload = WORKLOADS[args.workload]
    repeat = max(1, args.repeat)
    if isinstance(workload, DurableWorkload):
        figures = workload.measure(args.n, repeat)
    else:
        figures = measure(workload, args.n, repeat)
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
