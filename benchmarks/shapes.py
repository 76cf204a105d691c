"""Workflow shapes (W7-W9) and a bare thread-pool DAG runner to compare them with.

A shape is a list of nodes in topological order (every dependency has a smaller index):
each node names the job function, its own parameters, its dependencies, and whether it
is fed its dependencies' outputs (one, or a list). The same list becomes a jobweave
batch (``jw.output`` bindings, ``after=`` edges) and runs on :func:`run_bare`, a plain
``ThreadPoolExecutor`` with a dependency counter and no durability: what a user would
write without jobweave.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from queue import SimpleQueue
from typing import Any

import jobweave as jw
from benchmarks.jobs import gather, step
from jobweave.settings import DEFAULT_THREADS

LANE_LENGTH = 100
"""W7: jobs per lane (10,000 jobs make 100 lanes)."""
FANIN_LAYERS = 5
FANIN = 20
"""W8: each job after the first layer is fed the outputs of this many of the layer before."""
DIAMOND_LANES = 4
DIAMOND_WIDTH = 4
"""W9: lanes of diamonds; each diamond is WIDTH jobs fed by one job and feeding one."""

ONE, MANY = "one", "many"


@dataclass(frozen=True, slots=True)
class Node:
    fn: Callable[..., Any]
    params: dict[str, Any]
    deps: tuple[int, ...]
    feed: str | None
    """None (ordering only), ONE (the single dependency's output as ``prev``) or MANY
    (the list of the dependencies' outputs as ``parts``)."""


Shape = list[Node]
BareRun = tuple[Callable[[], Any], Callable[[Any], None]]
"""The timed call of a bare run, and the check of what it returned."""


def lanes(n: int) -> Shape:
    """Many long lanes: each job fed the output of the one before it in its lane."""
    count = max(1, n // LANE_LENGTH)
    nodes: Shape = []
    for k in range(count):
        length = n // count + (1 if k < n % count else 0)
        for j in range(length):
            deps = (len(nodes) - 1,) if j else ()
            nodes.append(Node(step, {}, deps, ONE if j else None))
    return nodes


def fan_in(n: int) -> Shape:
    """Layers; each job of a later layer is fed the outputs of FANIN jobs of the one before."""
    width = max(1, n // FANIN_LAYERS)
    first = n - width * (FANIN_LAYERS - 1) if n >= FANIN_LAYERS else n
    nodes: Shape = [Node(gather, {"i": i}, (), None) for i in range(first)]
    before = list(range(first))
    while len(nodes) < n:
        layer = []
        for i in range(width):
            deps = tuple(dict.fromkeys(before[(i + k) % len(before)]
                                       for k in range(min(FANIN, len(before)))))
            layer.append(len(nodes))
            nodes.append(Node(gather, {"i": i}, deps, MANY))
        before = layer
    return nodes


def diamonds(n: int) -> Shape:
    """Lanes of diamonds: one job fans out to WIDTH jobs, which fan back in to one."""
    nodes: Shape = []
    for k in range(DIAMOND_LANES):
        left = n // DIAMOND_LANES + (1 if k < n % DIAMOND_LANES else 0)
        if not left:
            continue
        nodes.append(Node(gather, {"i": 0}, (), None))
        top, left = len(nodes) - 1, left - 1
        while left:
            middle = []
            for i in range(min(DIAMOND_WIDTH, left)):
                middle.append(len(nodes))
                nodes.append(Node(gather, {"i": i}, (top,), MANY))
            left -= len(middle)
            if left:
                nodes.append(Node(gather, {"i": 0}, tuple(middle), MANY))
                top, left = len(nodes) - 1, left - 1
    return nodes


def expected(shape: Shape) -> list[Any]:
    """Every node's output, computed in order on this thread."""
    out: list[Any] = []
    for node in shape:
        out.append(node.fn(**node.params, **_inputs(node, out)))
    return out


def _inputs(node: Node, out: list[Any]) -> dict[str, Any]:
    if node.feed == ONE:
        return {"prev": out[node.deps[0]]}
    if node.feed == MANY:
        return {"parts": [out[d] for d in node.deps]}
    return {}


def build(shape: Shape) -> tuple[Any, Callable[[Any], None]]:
    """The shape as a jobweave batch, and the check of a run's result."""
    jobs: list[jw.Job] = []
    for node in shape:
        params = dict(node.params)
        after = []
        if node.feed == ONE:
            params["prev"] = jw.output(jobs[node.deps[0]])
        elif node.feed == MANY:
            params["parts"] = jw.output([jobs[d] for d in node.deps])
        else:
            after = [jobs[d] for d in node.deps]
        jobs.append(jw.job(node.fn, after=after, **params))
    want = expected(shape)

    def check(result: Any) -> None:
        if not result.ok:
            raise AssertionError(f"run ended {result.status}: {result.counts()}")
        got = [j.output for j in result.jobs]
        if got != want:
            bad = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
            raise AssertionError(f"job {bad} returned {got[bad]!r}, expected {want[bad]!r}")

    return jw.batch(jobs), check


def run_bare(shape: Shape) -> list[Any]:
    """Run the shape on a bare ThreadPoolExecutor: a dependency counter per node, and the
    calling thread submitting each node once its last dependency is done."""
    n = len(shape)
    waiting = [len(node.deps) for node in shape]
    down: list[list[int]] = [[] for _ in range(n)]
    for i, node in enumerate(shape):
        for d in node.deps:
            down[d].append(i)
    out: list[Any] = [None] * n
    done: SimpleQueue[tuple[int, Future[Any]]] = SimpleQueue()
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        def submit(i: int) -> None:
            node = shape[i]
            future = pool.submit(node.fn, **node.params, **_inputs(node, out))
            future.add_done_callback(lambda f, i=i: done.put((i, f)))

        for i in range(n):
            if not waiting[i]:
                submit(i)
        for _ in range(n):
            i, future = done.get()
            out[i] = future.result()
            for d in down[i]:
                waiting[d] -= 1
                if not waiting[d]:
                    submit(d)
    return out


def bare(make: Callable[[int], Shape]) -> Callable[[int], BareRun]:
    """The bare counterpart of a shape workload: the shape and its expected outputs are
    made before the clock starts (as the jobweave side's jobs are), then only
    :func:`run_bare` is timed; the check raises if an output is wrong."""
    def prepare(n: int) -> BareRun:
        shape = make(n)
        want = expected(shape)

        def check(got: Any) -> None:
            if got != want:
                raise AssertionError("the bare DAG runner computed other outputs")

        return (lambda: run_bare(shape)), check
    return prepare


def jobweave(make: Callable[[int], Shape]) -> Callable[[int], tuple[Any, Callable[[Any], None]]]:
    """The jobweave build of a shape workload."""
    return lambda n: build(make(n))
