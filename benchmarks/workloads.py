"""The workloads: each one built for jobweave and run again on a bare thread pool.

A workload knows how to build its jobweave definition for a size ``n`` (with a check of
the run's result), and how to do the same work on ``concurrent.futures`` alone, so the
suite can print the ratio jobweave/bare beside every figure.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import jobweave as jw
from benchmarks import graphs, shapes
from benchmarks.durable import DURABLE, DurableWorkload
from benchmarks.graph_resume import GRAPH_RESUME
from benchmarks.jobs import layer_job, nap, noop, step, total
from jobweave.settings import DEFAULT_THREADS

LAYERS = 10
"""W3 has this many layers of n / LAYERS jobs."""
SLEEP_JOBS = 200
SLEEP_CONCURRENCY = 50

Check = Callable[[Any], None]
"""Raises ``AssertionError`` when a run's result is not what the workload expects."""


@dataclass(frozen=True)
class Workload:
    """One benchmark shape, runnable at several sizes."""

    key: str
    """Short id used by ``--only`` and as the JSON key."""
    title: str
    description: str
    sizes: tuple[int, ...]
    """Sizes of a full run."""
    quick_sizes: tuple[int, ...]
    """Sizes of a ``--quick`` run."""
    build: Callable[[int], tuple[Any, Check]]
    """Build the jobweave definition for size n, and the check of its result."""
    bare: Callable[[int], None] | None
    """Do the same work on a bare ThreadPoolExecutor (raises if the result is wrong)."""
    prepare_bare: Callable[[int], shapes.BareRun] | None = None
    """Instead of ``bare``: make the bare run's work for size n untimed, and return the
    timed call and the check of what it returns."""
    jobs: Callable[[int], int] = lambda n: n
    """How many jobs size n makes."""
    concurrency: int | None = None
    """Passed to ``jw.run``; None keeps the default."""
    fixed_size: bool = False
    """The size is part of the workload's definition (``--n`` does not change it)."""
    size_step: int = 1
    """Sizes must be multiples of this."""
    store: str = "sqlite"
    """``sqlite`` (a new file per run) or ``postgresql`` (a new database per run on the
    server ``JOBWEAVE_BENCH_PG`` names, the local one by default)."""


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def _check_ok(result: Any) -> None:
    _expect(result.ok, f"run ended {result.status}: {result.counts()}")


# -- W1 fan-out ----------------------------------------------------------------------
def _fanout(n: int) -> tuple[Any, Check]:
    return jw.batch(jw.job(noop, i=i) for i in range(n)), _check_ok


def _fanout_bare(n: int) -> None:
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        futures = [pool.submit(noop, i) for i in range(n)]
        wait(futures)
    _expect(all(f.exception() is None for f in futures), "a bare fan-out job failed")


# -- W1+sum fan-out plus a final job fed every output --------------------------------
def _expected_sum(n: int) -> int:
    return sum(noop(i) for i in range(n))


def _fanout_sum(n: int) -> tuple[Any, Check]:
    parts = [jw.job(noop, i=i) for i in range(n)]
    final = jw.job(total, parts=jw.output(parts))

    def check(result: Any) -> None:
        _check_ok(result)
        got = result.jobs[-1].output
        _expect(got == _expected_sum(n), f"sum job returned {got!r}")

    return jw.batch(parts, final), check


def _fanout_sum_bare(n: int) -> None:
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        futures = [pool.submit(noop, i) for i in range(n)]
        parts = [f.result() for f in futures]
        got = pool.submit(total, parts).result()
    _expect(got == _expected_sum(n), f"bare sum returned {got!r}")


# -- W2 chain ----------------------------------------------------------------------
def _chain(n: int) -> tuple[Any, Check]:
    links = [jw.job(step)]
    for _ in range(n - 1):
        links.append(jw.job(step, prev=jw.output(links[-1])))

    def check(result: Any) -> None:
        _check_ok(result)
        got = result.jobs[-1].output
        _expect(got == n, f"last link returned {got!r}, expected {n}")

    return jw.batch(links), check


def _chain_bare(n: int) -> None:
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        prev: int | None = None
        for _ in range(n):
            prev = pool.submit(step, prev).result()
    _expect(prev == n, f"bare chain ended at {prev!r}")


# -- W3 layered --------------------------------------------------------------------
def _width(n: int) -> int:
    if n % LAYERS or n < LAYERS:
        raise ValueError(f"W3 needs a size that is a multiple of {LAYERS}, got {n}")
    return n // LAYERS


def _layered(n: int) -> tuple[Any, Check]:
    width = _width(n)
    layers = [[jw.job(layer_job, layer=0, i=i) for i in range(width)]]
    for layer in range(1, LAYERS):
        before = layers[-1]
        # each job waits for two neighbours of the layer before (wrapping around)
        layers.append([jw.job(layer_job, layer=layer, i=i,
                              after=[before[i], before[(i + 1) % width]])
                       for i in range(width)])
    return jw.batch(layers), _check_ok


def _layered_bare(n: int) -> None:
    width = _width(n)
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        for layer in range(LAYERS):
            futures = [pool.submit(layer_job, layer, i) for i in range(width)]
            wait(futures)
            _expect(all(f.exception() is None for f in futures), "a bare layer job failed")


# -- W4 sleep fan-out ----------------------------------------------------------------
def _sleeps(n: int) -> tuple[Any, Check]:
    return jw.batch(jw.job(nap) for _ in range(n)), _check_ok


def _sleeps_bare(n: int) -> None:
    with ThreadPoolExecutor(max_workers=SLEEP_CONCURRENCY) as pool:
        futures = [pool.submit(nap) for _ in range(n)]
        wait(futures)
    _expect(all(f.exception() is None for f in futures), "a bare sleep job failed")


# -- W10/W11 element flows -----------------------------------------------------------
FLOW_STEPS = 3
"""Steps of the flow workloads: each runs for every element."""


def _flow(mode: str) -> Callable[[int], tuple[Any, Check]]:
    def build(n: int) -> tuple[Any, Check]:
        steps = [jw.job(noop, name=f"s{k}", i=k) for k in range(FLOW_STEPS)]
        return jw.flow(steps, elements=[f"e{i}" for i in range(n)], mode=mode,
                       name=f"{mode}-flow"), _check_ok
    return build


def _parallel_flow_bare(n: int) -> None:
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        for k in range(FLOW_STEPS):  # a step for every element, then the next step
            results = list(pool.map(noop, [k] * n))
    _expect(len(results) == n, "a bare flow step lost a job")


def _serial_flow_bare(n: int) -> None:
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        done = 0
        for _ in range(n):  # every step of an element, then the next element
            for k in range(FLOW_STEPS):
                pool.submit(noop, k).result()
                done += 1
    _expect(done == n * FLOW_STEPS, "a bare serial flow lost a job")


SPEED: dict[str, Workload] = {w.key: w for w in (
    Workload("W1", "fan-out", "N no-op jobs in one batch",
             (1_000, 10_000, 100_000), (1_000,), _fanout, _fanout_bare),
    Workload("W1pg", "fan-out on PostgreSQL", "W1 with the store on the local PostgreSQL "
             "(synchronous_commit on)", (10_000,), (1_000,), _fanout, _fanout_bare,
             store="postgresql"),
    Workload("W1+sum", "fan-out + sum", "W1 plus one job summing every output",
             (1_000, 10_000, 100_000), (1_000,), _fanout_sum, _fanout_sum_bare,
             jobs=lambda n: n + 1),
    Workload("W2", "chain", "N jobs, each fed the previous one's output",
             (1_000, 10_000), (1_000,), _chain, _chain_bare),
    Workload("W3", "layered", f"{LAYERS} layers of N/{LAYERS} jobs, each after 2 of the "
             "layer before", (1_000, 10_000), (1_000,), _layered, _layered_bare,
             size_step=LAYERS),
    Workload("W4", "sleep fan-out", f"{SLEEP_JOBS} jobs sleeping 0.05 s, concurrency "
             f"{SLEEP_CONCURRENCY}", (SLEEP_JOBS,), (SLEEP_JOBS,), _sleeps, _sleeps_bare,
             concurrency=SLEEP_CONCURRENCY, fixed_size=True),
    Workload("W7", "lanes", f"N/{shapes.LANE_LENGTH} lanes of {shapes.LANE_LENGTH} jobs, each "
             "fed the previous one's output", (1_000, 10_000), (1_000,),
             shapes.jobweave(shapes.lanes), None,
             prepare_bare=shapes.bare(shapes.lanes)),
    Workload("W8", "fan-in", f"{shapes.FANIN_LAYERS} layers; each job after the first fed "
             f"the outputs of {shapes.FANIN} of the layer before", (1_000, 10_000), (1_000,),
             shapes.jobweave(shapes.fan_in), None,
             prepare_bare=shapes.bare(shapes.fan_in)),
    Workload("W9", "diamonds", f"{shapes.DIAMOND_LANES} lanes of diamonds: one job fans out "
             f"to {shapes.DIAMOND_WIDTH}, which fan back in to one", (1_000, 10_000), (1_000,),
             shapes.jobweave(shapes.diamonds), None,
             prepare_bare=shapes.bare(shapes.diamonds)),
    Workload("W10", "parallel flow", f"{FLOW_STEPS} steps over N elements, step by step",
             (1_000, 10_000), (1_000,), _flow("parallel"), _parallel_flow_bare,
             jobs=lambda n: n * FLOW_STEPS),
    Workload("W11", "serial flow", f"{FLOW_STEPS} steps over N elements, element by element",
             (100, 1_000), (100,), _flow("serial"), _serial_flow_bare,
             jobs=lambda n: n * FLOW_STEPS),
)}

LOWER_BOUND = "bare: the same message flow in plain Python, no journal (a lower bound)"
GRAPHS: dict[str, Workload] = {w.key: w for w in (
    Workload("G1", "graph chain", f"iterator (batch_size 1) -> {graphs.CHAIN} modify nodes "
             f"in a row carrying N messages ({graphs.CHAIN}N + 1 firings); {LOWER_BOUND}",
             (1_000, 10_000), (1_000,), graphs.g1, graphs.g1_bare,
             jobs=lambda n: graphs.CHAIN * n + 1),
    Workload("G2", "pagination loop", "start -> python fetch stub -> router (has_more: back "
             f"to fetch with page + 1, else done), N pages; {LOWER_BOUND}",
             (1_000,), (100,), graphs.g2, graphs.g2_bare, jobs=lambda n: 2 * n + 2),
    Workload("G3", "barrier join", f"iterator -> {graphs.BRANCHES} modify branches -> tuple "
             f"barrier -> sink, N groups; {LOWER_BOUND}",
             (1_000,), (100,), graphs.g3, graphs.g3_bare,
             jobs=lambda n: (graphs.BRANCHES + 2) * n + 1),
)}

AnyWorkload = Workload | DurableWorkload
WORKLOADS: dict[str, AnyWorkload] = {**SPEED, **GRAPHS,
                                     **{w.key: w for w in (*DURABLE, GRAPH_RESUME)}}
"""Every workload by key: the speed ones (W1-W4, W7-W11), the graph ones (G1-G3), then
the durability ones (W5, W6, G4)."""

_ALIASES = {"W1S": "W1+sum", "W1+SUM": "W1+sum", "W1SUM": "W1+sum", "W1PG": "W1pg"}


def select(names: str | None) -> list[AnyWorkload]:
    """The workloads named in a comma-separated list (all of them for None)."""
    if not names:
        return list(WORKLOADS.values())
    chosen = []
    for raw in names.split(","):
        key = raw.strip().upper()
        key = _ALIASES.get(key, key)
        if key not in WORKLOADS:
            raise ValueError(f"unknown workload {raw.strip()!r}; "
                             f"choose from {', '.join(WORKLOADS)} (W1S = W1+sum)")
        if WORKLOADS[key] not in chosen:
            chosen.append(WORKLOADS[key])
    return chosen
