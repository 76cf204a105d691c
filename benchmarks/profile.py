"""Profile one workload under cProfile: where the time inside ``jw.run`` goes.

    python -m benchmarks.profile W1 --n 10000
    python -m benchmarks.profile W2 --n 10000 --threads all --clock cpu --save w2.prof

The engine runs a run on its own thread and jobs on worker threads, and cProfile only
sees the thread that enabled it, so this installs a profiler in every thread started
during the run (``threading.setprofile``) and merges them with the caller's. Prints the
top functions by cumulative and by own (total) time. Job construction is not profiled.
"""

from __future__ import annotations

import sys

if not __package__:
    # run as a file, this module would shadow the standard library's ``profile``
    sys.exit("run it as a module from the repository root: python -m benchmarks.profile ...")

import argparse
import cProfile
import os
import pstats
import shutil
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import jobweave as jw
from benchmarks.workloads import WORKLOADS, Workload, select

DEFAULT_N = 10_000
DEFAULT_LIMIT = 30
WORKER_THREAD = "jobweave-worker"
"""Name of the thread executor's workers (left out unless ``--threads all``)."""
_ROOT = Path(__file__).resolve().parent.parent
_PACKAGES = Path(jw.__file__).resolve().parent.parent
"""The folder holding the jobweave being measured (``src/`` of a checkout)."""
_STDLIB = sysconfig.get_paths()["stdlib"]


class ThreadProfiles:
    """A cProfile profiler for the calling thread and for each thread started meanwhile."""

    def __init__(self, *, workers: bool, clock: str) -> None:
        self.workers = workers
        self._timer = time.thread_time if clock == "cpu" else None
        self.main = self._new()
        self.profiles: list[cProfile.Profile] = [self.main]
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _new(self) -> cProfile.Profile:
        return cProfile.Profile(self._timer) if self._timer else cProfile.Profile()

    def _hook(self, frame: FrameType, event: str, arg: Any) -> None:
        # first event in a new thread: swap this hook for a real profiler
        sys.setprofile(None)
        thread = threading.current_thread()
        if not self.workers and thread.name.startswith(WORKER_THREAD):
            return
        profiler = self._new()
        with self._lock:
            self.profiles.append(profiler)
            self.threads.append(thread)
        profiler.enable()

    def __enter__(self) -> ThreadProfiles:
        threading.setprofile(self._hook)
        self.main.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.main.disable()
        threading.setprofile(None)
        for thread in self.threads:
            # workers exit just after jw.run returns; read their profiles once they stop
            thread.join(5.0)

    def stats(self) -> pstats.Stats:
        merged = pstats.Stats(self.main)
        for profiler in self.profiles[1:]:
            merged.add(profiler)
        return merged


def short_path(path: str) -> str:
    """A file name readable in a table: relative to site-packages, the repo or stdlib."""
    if "site-packages" + os.sep in path:
        return path.split("site-packages" + os.sep, 1)[1]
    for base, label in ((str(_PACKAGES), ""), (str(_ROOT), ""), (_STDLIB, "stdlib/")):
        if path.startswith(base + os.sep):
            return label + os.path.relpath(path, base)
    return path


def shorten(stats: pstats.Stats) -> pstats.Stats:
    """Rewrite the file names in ``stats`` with :func:`short_path` (like ``strip_dirs``)."""
    def key(func: tuple[str, int, str]) -> tuple[str, int, str]:
        return (short_path(func[0]), func[1], func[2])

    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    renamed: dict[Any, Any] = {}
    for func, (cc, nc, tt, ct, callers) in table.items():
        entry = (cc, nc, tt, ct, {key(c): v for c, v in callers.items()})
        new = key(func)
        renamed[new] = (pstats.add_func_stats(renamed[new], entry)  # type: ignore[attr-defined]
                        if new in renamed else entry)
    stats.stats = renamed  # type: ignore[attr-defined]
    stats.top_level = {key(f) for f in stats.top_level}  # type: ignore[attr-defined]
    stats.fcn_list = None  # type: ignore[attr-defined]
    stats.all_callees = None  # type: ignore[attr-defined]
    return stats


def profile(key: str, n: int, *, workers: bool, clock: str) -> tuple[pstats.Stats, float, int]:
    """Run one workload once under the profilers: (stats, seconds in jw.run, jobs)."""
    workload = WORKLOADS[key]
    assert isinstance(workload, Workload)
    if workload.fixed_size:
        n = workload.sizes[0]
    folder = tempfile.mkdtemp(prefix="jobweave-profile-")
    try:
        definition, check = workload.build(n)
        with ThreadProfiles(workers=workers, clock=clock) as profiles:
            t0 = time.perf_counter()
            result = jw.run(definition, store=os.path.join(folder, "bench.db"),
                            concurrency=workload.concurrency)
            elapsed = time.perf_counter() - t0
        check(result)
        return shorten(profiles.stats()), elapsed, workload.jobs(n)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile",
                                description=__doc__.split("\n")[0])
    p.add_argument("workload", help="W1, W1+sum (W1S), W2, W3, W4, W7-W9, W5 or W6 (W5, W6 "
                   "profile the resume or recover call in its own fresh process)")
    p.add_argument("--n", type=int, default=DEFAULT_N, help=f"size (default {DEFAULT_N:,})")
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                   help=f"functions per listing (default {DEFAULT_LIMIT})")
    p.add_argument("--threads", choices=("engine", "all"), default="engine",
                   help="engine: the caller and the run loop (default); all: also the "
                        "executor's worker threads")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall time (default; includes waiting) or per-thread CPU time")
    p.add_argument("--save", type=Path, metavar="FILE",
                   help="also write the merged profile (pstats format) to FILE")
    args = p.parse_args(argv)
    try:
        (workload,) = select(args.workload)
    except ValueError as exc:
        p.error(str(exc))
    if not isinstance(workload, Workload):
        return _profile_durable(workload.key, args)

    stats, elapsed, jobs = profile(workload.key, args.n, workers=args.threads == "all",
                                   clock=args.clock)
    print(f"{workload.key} ({workload.title}), {jobs:,} jobs: jw.run took {elapsed:.3f} s "
          f"under the profiler ({jobs / elapsed:,.0f} jobs/s); threads: {args.threads}, "
          f"clock: {args.clock}")
    print("Times add up across threads; with --clock wall, time in queue get and lock "
          "acquire is a thread waiting, not working.")
    if args.save:
        stats.dump_stats(args.save)
        print(f"profile written to {args.save}")
    for order, title in (("cumulative", "by cumulative time"), ("tottime", "by own time")):
        print(f"\n=== top {args.limit} {title} ===")
        stats.sort_stats(order).print_stats(args.limit)
    return 0


def _profile_durable(key: str, args: argparse.Namespace) -> int:
    """W5/W6: profile the timed call (resume or recover) in the fresh process it runs in."""
    from benchmarks.durable import profile_step

    with tempfile.TemporaryDirectory(prefix="jobweave-profile-") as folder:
        path = args.save or Path(folder) / "step.prof"
        figures = profile_step(key, args.n, str(path))
        stats = pstats.Stats(str(path))
    if key == "W5":
        what = (f"jw.resume of {args.n:,} jobs ({figures['invoked']:,} left to run): first job "
                f"after {figures['first_job_s']:.3f} s, done after {figures['resume_s']:.3f} s")
    else:
        what = f"jw.recover of {args.n:,} completed jobs took {figures['recover_s']:.3f} s"
    print(f"{key}: {what} under the profiler; threads: the caller and the run loop, "
          "clock: wall")
    if args.save:
        print(f"profile written to {args.save}")
    for order, title in (("cumulative", "by cumulative time"), ("tottime", "by own time")):
        print(f"\n=== top {args.limit} {title} ===")
        stats.sort_stats(order).print_stats(args.limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
