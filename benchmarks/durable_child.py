"""The processes of the durability workloads (W5, W6): each step is a fresh interpreter.

``benchmarks.durable`` starts these and reads the one JSON line each writes on stdout:

- ``start STORE N LOG``: the victim. Submits a schedule of N ``counted`` jobs, prints its
  run id, and runs until it is killed; each job notes its number in LOG as it returns.
  A listener parks the run loop once HOLD_AT of the jobs are committed, so that even a
  tiny run is still alive when the kill comes.
- ``resume STORE RUN``: times ``jobweave.resume`` from the call to the first newly
  started job and to the run's end; reports which jobs it ran (``invoked_ids``).
- ``prepare STORE N JOURNAL``: runs a batch of N ``counted`` jobs to completion and
  exports its journal to a JSONL file.
- ``recover JOURNAL STORE N``: times ``jobweave.recover`` of that file into a new store.
- ``plan JOURNAL N``: times ``jobweave.recovery_plan`` of that file alone.

Every step reports ``ready_at`` (wall clock once its imports are done) so the parent can
tell process start and imports apart from the timed call, and ``import_s`` (the imports
alone).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402  (after the clock: imports are part of what is measured)
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import jobweave as jw  # noqa: E402
from benchmarks.jobs import FINISHED_LOG, INVOKED, counted  # noqa: E402
from jobweave.store import open_store  # noqa: E402
from jobweave.store.export import export_lines  # noqa: E402

IMPORT_S = time.perf_counter() - _T0
READY_AT = time.time()
BATCHES = 4
"""W5's schedule has this many batches of N / BATCHES jobs."""
HOLD_AT = 0.6
"""The victim's loop parks once this share of the jobs is committed (the kill comes at 0.5)."""


def schedule(n: int) -> jw.Schedule:
    """W5's definition: BATCHES batches of ``counted`` jobs, numbered 0..n-1."""
    size = n // BATCHES
    return jw.schedule([[jw.job(counted, i=b * size + k) for k in range(size)]
                        for b in range(BATCHES)], name="w5-resume")


def _emit(figures: dict[str, Any]) -> None:
    figures.update(import_s=IMPORT_S, ready_at=READY_AT, peak_mib=_peak_mib())
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """Profile the timed call in every thread when ``--profile FILE`` is given."""
    if not path:
        yield
        return
    from benchmarks.profile import ThreadProfiles, shorten

    with ThreadProfiles(workers=False, clock="wall") as profiles:
        yield
    shorten(profiles.stats()).dump_stats(path)


def _check_outputs(result: jw.RunResult, n: int) -> None:
    """Every job completed with its own output (the i-th job returns i % 7)."""
    if not result.ok:
        raise SystemExit(f"run ended {result.status}: {result.counts()}")
    outputs = [j.output for j in result.jobs]
    if len(outputs) != n or any(out != i % 7 for i, out in enumerate(outputs)):
        raise SystemExit(f"wrong outputs: {len(outputs)} jobs, first {outputs[:5]!r}")


def start(store: str, n: int, log: str) -> None:
    FINISHED_LOG.append(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
    hold_at = max(1, int(n * HOLD_AT))
    done = 0
    park = threading.Event()

    def hold(event: Any) -> None:
        nonlocal done
        if isinstance(event, jw.JobFinished) and event.state == "completed":
            done += 1
            if done >= hold_at:
                park.wait()  # never set: the loop stops here until SIGKILL

    handle = jw.submit(schedule(n), store=store, listeners=[hold])
    _emit({"run_id": handle.run_id})
    handle.wait()
    raise SystemExit("the victim finished; it should have been killed")


def resume(store: str, run_id: str, profile: str | None) -> None:
    first: float | None = None
    started = 0

    def on_start(event: Any) -> None:
        nonlocal first, started
        if isinstance(event, jw.JobStarted):
            started += 1
            if first is None:
                first = time.perf_counter()

    with _profiled(profile):
        t0 = time.perf_counter()
        result = jw.resume(run_id, store=store, listeners=[on_start])
        t1 = time.perf_counter()
    _emit({"status": result.status, "first_job_s": None if first is None else first - t0,
           "resume_s": t1 - t0, "started": started, "invoked": len(INVOKED),
           "invoked_ids": INVOKED, "jobs": len(result.jobs)})


def prepare(store: str, n: int, journal: str) -> None:
    t0 = time.perf_counter()
    result = jw.run(jw.batch(jw.job(counted, i=i) for i in range(n)), store=store)
    run_s = time.perf_counter() - t0
    _check_outputs(result, n)
    records = 0
    with open(journal, "w", encoding="utf-8") as f:
        for line in export_lines(open_store(store).journal(result.run_id)):
            f.write(line)
            records += 1
    _emit({"run_id": result.run_id, "run_s": run_s, "records": records,
           "journal_mib": Path(journal).stat().st_size / 2**20})


def recover(journal: str, store: str, n: int, profile: str | None) -> None:
    with _profiled(profile):
        t0 = time.perf_counter()
        result = jw.recover(journal, store=store)
        t1 = time.perf_counter()
    _check_outputs(result, n)
    _emit({"recover_s": t1 - t0, "invoked": len(INVOKED), "run_id": result.run_id})


def plan(journal: str, n: int) -> None:
    t0 = time.perf_counter()
    decisions = jw.recovery_plan(journal)
    t1 = time.perf_counter()
    counts = decisions.as_dict()["counts"]
    if counts.get("replay") != n:
        raise SystemExit(f"expected {n} jobs to replay, got {counts}")
    _emit({"plan_s": t1 - t0, "counts": counts})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.durable_child",
                                description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="step", required=True)
    s = sub.add_parser("start")
    s.add_argument("store")
    s.add_argument("n", type=int)
    s.add_argument("log")
    s = sub.add_parser("resume")
    s.add_argument("store")
    s.add_argument("run_id")
    s.add_argument("--profile", metavar="FILE")
    s = sub.add_parser("prepare")
    s.add_argument("store")
    s.add_argument("n", type=int)
    s.add_argument("journal")
    s = sub.add_parser("recover")
    s.add_argument("journal")
    s.add_argument("store")
    s.add_argument("n", type=int)
    s.add_argument("--profile", metavar="FILE")
    s = sub.add_parser("plan")
    s.add_argument("journal")
    s.add_argument("n", type=int)
    args = p.parse_args(argv)
    steps: dict[str, Callable[[], None]] = {
        "start": lambda: start(args.store, args.n, args.log),
        "resume": lambda: resume(args.store, args.run_id, args.profile),
        "prepare": lambda: prepare(args.store, args.n, args.journal),
        "recover": lambda: recover(args.journal, args.store, args.n, args.profile),
        "plan": lambda: plan(args.journal, args.n),
    }
    steps[args.step]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
