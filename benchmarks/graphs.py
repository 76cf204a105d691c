"""The graph workloads (G1-G3): dataflow graphs, and the same message flow in plain Python.

Each builder returns a ``jw.Graph`` (and the check of its run); each ``*_bare`` function
moves the same messages through the same steps with no journal, no store and no engine:
a deque of (node, message) for the inline components, a ``ThreadPoolExecutor`` for the
``python`` node. It is a lower bound, not a competitor: what routing messages costs before
anything is made durable.

Everything a graph names (the ``python`` nodes' targets) is module-level, so a run stored
by one process can be resumed by another (G4, :mod:`benchmarks.graph_resume`).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jobweave as jw
from jobweave.settings import DEFAULT_THREADS

CHAIN = 10
"""G1: modify nodes in the chain (N messages make CHAIN * N firings, plus the iterator's)."""
BRANCHES = 3
"""G3: branches joined by the barrier."""
HOLD_ENV = "JOBWEAVE_BENCH_HOLD_AT"
"""G4's victim sets this: ``relay`` blocks for good once it has been called this often,
so even a tiny run is still alive when the kill comes."""

Check = Callable[[Any], None]


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def _firings(result: Any) -> dict[str, int]:
    """Firings per node of a finished graph run (a node's ``attempts``)."""
    _expect(result.ok, f"run ended {result.status}: {result.counts()}")
    return {j.name: j.attempts for j in result.jobs}


def _items(n: int) -> dict[str, Any]:
    return {"array": list(range(n))}


# -- G1 chain -------------------------------------------------------------------------
def chain(n: int, first: str = "modify") -> jw.Graph:
    """iterator (batch_size 1 over ``input.array``) → CHAIN nodes in a row; the first is
    ``first`` (G4 makes it a ``python`` node running :func:`relay`), the rest ``modify``."""
    g = jw.graph("graph-chain", input=_items(n))
    prev = g.node("items", "iterator", batch_size=1)
    for k in range(CHAIN):
        if k == 0 and first == "python":
            node = g.node("n0", "python", target=relay)
        else:
            node = g.node(f"n{k}", "modify")
        g.edge(prev, node)
        prev = node
    return g


def chain_check(n: int) -> Check:
    def check(result: Any) -> None:
        fired = _firings(result)
        _expect(fired["items"] == 1, f"the iterator fired {fired['items']} times")
        for k in range(CHAIN):
            _expect(fired[f"n{k}"] == n, f"n{k} fired {fired[f'n{k}']} times, expected {n}")
        last = result.jobs[-1].output
        _expect(last == {"batch": [n - 1], "batch_num": n, "total_batches": n},
                f"the last message was {last!r}")
    return check


def g1(n: int) -> tuple[jw.Graph, Check]:
    return chain(n), chain_check(n)


def _iterate(msg: dict[str, Any]) -> list[dict[str, Any]]:
    items = msg["array"]
    total = len(items)
    return [{"batch": [x], "batch_num": k + 1, "total_batches": total}
            for k, x in enumerate(items)]


def g1_bare(n: int) -> None:
    """The iterator's messages handed from node to node through a queue."""
    queue: deque[tuple[int, Any]] = deque((0, m) for m in _iterate(_items(n)))
    fired = [0] * CHAIN
    last = None
    while queue:
        k, msg = queue.popleft()
        fired[k] += 1  # modify: the message passes on unchanged
        if k + 1 < CHAIN:
            queue.append((k + 1, msg))
        else:
            last = msg
    _expect(fired == [n] * CHAIN and last is not None and last["batch"] == [n - 1],
            "the bare chain lost a message")


# -- G2 pagination loop -------------------------------------------------------------------
def fetch_page(msg: dict[str, Any]) -> dict[str, Any]:
    """A stubbed API call: the page asked for, and whether another follows it."""
    page = msg["page"]
    return {"page": page, "has_more": page < msg["last"]}


_MORE = [{"field": "has_more", "operator": "equals", "value": True, "port": "next"}]


def pages(n: int) -> jw.Graph:
    """start → fetch (python) → more (router): ``next`` loops back to fetch with the
    next page number, ``done`` ends at a modify node."""
    g = jw.graph("pagination", input={"pages": n})
    start = g.node("start", "modify")
    fetch = g.node("fetch", "python", target=fetch_page)
    more = g.node("more", "router", rules=_MORE, default="done")
    g.edge(start, fetch, data={"page": 1, "last": "{{ input.pages }}"})
    g.edge(fetch, more)
    g.edge(more, fetch, from_port="next",
           data={"page": "{{ msg.page + 1 }}", "last": "{{ input.pages }}"})
    g.edge(more, g.node("done", "modify"), from_port="done")
    return g


def g2(n: int) -> tuple[jw.Graph, Check]:
    def check(result: Any) -> None:
        fired = _firings(result)
        _expect(fired["fetch"] == fired["more"] == n and fired["done"] == 1,
                f"firings {fired}, expected {n} pages")
        _expect(result.jobs[-1].output == {"page": n, "has_more": False},
                f"the loop ended at {result.jobs[-1].output!r}")
    return pages(n), check


def g2_bare(n: int) -> None:
    """The same loop: each fetch on a thread pool, the router and the edge in Python."""
    inputs = {"pages": n}
    with ThreadPoolExecutor(max_workers=DEFAULT_THREADS) as pool:
        msg: dict[str, Any] = {"page": 1, "last": inputs["pages"]}
        fetched = 0
        while True:
            out = pool.submit(fetch_page, msg).result()
            fetched += 1
            if out.get("has_more") is not True:
                break
            msg = {"page": out["page"] + 1, "last": inputs["pages"]}
    _expect(fetched == n and out["page"] == n, f"the bare loop fetched {fetched} pages")


# -- G3 barrier join ----------------------------------------------------------------------
def join(n: int) -> jw.Graph:
    """iterator → BRANCHES modify nodes (each adds ``status: completed``) → a tuple
    barrier on ports 0, 1, 2 → sink."""
    g = jw.graph("barrier-join", input=_items(n))
    items = g.node("items", "iterator", batch_size=1)
    wait = g.node("wait", "barrier", grouping="tuple")
    for k in range(BRANCHES):
        branch = g.node(f"b{k}", "modify")
        g.edge(items, branch, data={"i": "{{ msg.batch[0] }}", "status": "completed",
                                    f"b{k}": True})
        g.edge(branch, wait, to_port=str(k))
    g.edge(wait, g.node("sink", "modify"), from_port="0")
    return g


def _joined(n: int) -> dict[str, Any]:
    return {"i": n - 1, "status": "completed", **{f"b{k}": True for k in range(BRANCHES)}}


def g3(n: int) -> tuple[jw.Graph, Check]:
    def check(result: Any) -> None:
        # (the barrier node itself is missing from result.jobs: its component name is
        # also the plan's kind of batch boundary, which results leave out)
        fired = _firings(result)
        _expect(fired["sink"] == n, f"firings {fired}, expected {n} groups")
        _expect(result.jobs[-1].output == _joined(n),
                f"the last group was {result.jobs[-1].output!r}")
    return join(n), check


def g3_bare(n: int) -> None:
    """The same tokens through queues, grouped k-th with k-th as the tuple barrier does."""
    ports: list[deque[dict[str, Any]]] = [deque() for _ in range(BRANCHES)]
    sunk: list[dict[str, Any]] = []
    for batch in _iterate(_items(n)):
        for k in range(BRANCHES):
            ports[k].append({"i": batch["batch"][0], "status": "completed", f"b{k}": True})
        while all(ports):
            group = [p.popleft() for p in ports]
            if all(t.get("status") == "completed" for t in group):
                merged: dict[str, Any] = {}
                for token in group:
                    merged.update(token)
                sunk.append(merged)
    _expect(len(sunk) == n and sunk[-1] == _joined(n), "the bare join lost a group")


# -- G4's python node ----------------------------------------------------------------------
_calls = 0
_calls_lock = threading.Lock()
_parked = threading.Event()


def relay(msg: Any) -> Any:
    """Emits its input; in G4's victim (``HOLD_ENV`` set) it blocks for good from the
    given call on, so the run stops short of its end until the kill."""
    hold = os.environ.get(HOLD_ENV)
    if hold:
        global _calls
        with _calls_lock:
            _calls += 1
            held = _calls >= int(hold)
        if held:
            _parked.wait()  # never set: the victim is killed while waiting here
    return msg
