"""A workload's run with parts of its cost taken away: what is left of its ratio to the
bare runner without the plan's compile, without the store's writes, or without both.

The floor (``benchmarks.floor``) adds up the parts a durable run cannot skip; this module
removes them from a real run instead, so what remains is the engine's own work: starting
jobs, handing them to worker threads, taking their outcomes back, settling them and
releasing their dependents.

- ``all``: the run as the suite times it;
- ``no compile``: the plan compiled before the clock starts, and handed to the run;
- ``no writes``: the run's commits skipped (the writer's transaction does nothing; the
  run's creation is still written, so its rows exist for the end of the run);
- ``neither``: both.

The figures are not a durable run's: a run without its commits would lose its jobs to a
crash. They say where the time goes, not what a run may skip.

``python -m benchmarks.without W7 W8 W9 --n 10000 --repeat 5``
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import jobweave as jw
from benchmarks.floor import arguments
from benchmarks.measure import fresh_store, run_bare
from benchmarks.workloads import Workload
from jobweave.engine.engine import Engine
from jobweave.plan import compile_plan
from jobweave.store import close_all, open_store
from jobweave.store.writer import Writer

CASES = ("all", "no compile", "no writes", "neither")


@contextmanager
def _without_writes(skip: bool) -> Iterator[None]:
    """The writer's commits do nothing while this lasts (when ``skip``)."""
    if not skip:
        yield
        return
    kept = Writer._once
    Writer._once = lambda self, journal_rows, job_updates: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Writer._once = kept  # type: ignore[method-assign]


@contextmanager
def _compiled_before(plan: Any) -> Iterator[None]:
    """The engine takes ``plan`` instead of compiling the definition (when one is given)."""
    if plan is None:
        yield
        return
    kept = Engine.plan
    Engine.plan = lambda self, definition, **options: plan  # type: ignore[method-assign]
    try:
        yield
    finally:
        Engine.plan = kept  # type: ignore[method-assign]


def run_once(workload: Workload, n: int, case: str) -> float:
    """Seconds inside ``jw.run`` for one run of the workload, with ``case``'s parts taken
    away; the run's result is checked as the suite checks it."""
    with fresh_store(workload) as url:
        open_store(url)  # a user's store exists before the run
        definition, check = workload.build(n)
        plan = compile_plan(definition) if case in ("no compile", "neither") else None
        gc.collect()
        with _compiled_before(plan), _without_writes(case in ("no writes", "neither")):
            t0 = time.perf_counter()
            result = jw.run(definition, store=url, concurrency=workload.concurrency)
            elapsed = time.perf_counter() - t0
        check(result)
        del result, definition, plan
        close_all()
        return elapsed


def breakdown(workload: Workload, n: int, repeat: int) -> dict[str, Any]:
    """Medians of ``repeat`` runs of each case, in turns, and of the bare runner."""
    times: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(repeat):
        for case in CASES:
            times[case].append(run_once(workload, n, case))
    bare = statistics.median(run_bare(workload, n) for _ in range(repeat))
    return {"workload": workload.key, "n": n, "bare_s": bare,
            **{case: statistics.median(times[case]) for case in CASES}}


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Each case's seconds and its ratio to the bare runner."""
    head = f"{'workload':8}  {'N':>7}  {'bare s':>6}" + "".join(
        f"  {case + ' s (x bare)':>22}" for case in CASES)
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = "".join(f"  {r[case]:13.3f} ({r[case] / r['bare_s']:4.2f})" for case in CASES)
        lines.append(f"{r['workload']:8}  {r['n']:>7,}  {r['bare_s']:6.3f}{cells}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    workloads, n, repeat = arguments("python -m benchmarks.without", __doc__, argv)
    sys.stdout.write(table([breakdown(w, n, repeat) for w in workloads]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
