"""The built-in components inside real graph runs: barrier joins, tickers, iterators."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests.graph_engine import shapes


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "s.db")


def outs(store: str, run_id: str, node: str) -> list:
    s = open_store(store)
    try:
        return [json.loads(d) for _, _, d in s.firings(run_id, node)]
    finally:
        s.close()


def join3(n: int, *, fail_branch: int | None = None, grouping: str = "tuple") -> jw.Graph:
    """spread(n) → three branches → barrier(0, 1, 2) → ok / bad."""
    g = jw.graph("join", input={"n": n})
    src = g.node("src", "t_spread")
    wait = g.node("wait", "barrier", grouping=grouping)
    for k in range(3):
        b = g.node(f"b{k}", "modify")
        status = "failed" if k == fail_branch else "completed"
        g.edge(src, b, data={"i": "{{ msg.i }}", "status": status, f"from{k}": True})
        g.edge(b, wait, to_port=str(k))
    g.edge(wait, g.node("ok", "modify"), from_port="0")
    g.edge(wait, g.node("bad", "modify"), from_port="1")
    return g


def test_a_tuple_barrier_joins_the_kth_token_of_each_branch(store: str) -> None:
    result = jw.run(join3(50), store=store)
    assert result.status == "completed"
    merged = [d["in"] for d in outs(store, result.run_id, "ok")]
    assert len(merged) == 50
    assert all(m["from0"] and m["from1"] and m["from2"] for m in merged)
    assert sorted(m["i"] for m in merged) == list(range(50))
    assert outs(store, result.run_id, "bad") == []


def test_failed_groups_go_to_port_1_naming_the_failed_tokens(store: str) -> None:
    result = jw.run(join3(5, fail_branch=1), store=store)
    bad = [d["in"] for d in outs(store, result.run_id, "bad")]
    assert len(bad) == 5 and outs(store, result.run_id, "ok") == []
    assert all([f["port"] for f in m["failed"]] == ["1"] for m in bad)


def test_a_branch_that_faults_does_not_leave_an_all_barrier_waiting(store: str) -> None:
    g = jw.graph("partial", input={"n": 3}, continue_on_error=True)
    src = g.node("src", "t_spread")
    wait = g.node("wait", "barrier", grouping="all", criteria={"at_least": 3})
    good = g.node("good", "modify")
    flaky = g.node("flaky", "python", target=shapes.boom)  # faults on odd numbers
    g.edge(src, good, data={"i": "{{ msg.i }}", "status": "completed"})
    g.edge(src, flaky)
    g.edge(good, wait, to_port="0")
    g.edge(flaky, wait, to_port="1", data={"i": "{{ msg.i }}", "status": "completed"})
    g.edge(wait, g.node("ok", "modify"), from_port="0")
    g.edge(wait, g.node("bad", "modify"), from_port="1")
    result = jw.run(g, store=store)
    assert result.status == "completed"
    closed = outs(store, result.run_id, "wait")
    assert len(closed) == 1 and closed[0]["live"] == []
    (group,) = [d["in"] for d in outs(store, result.run_id, "ok")]
    assert group["status"] == "completed"  # 3 good + 2 even flaky tokens: at least 3


def test_a_ticker_emits_max_emissions_times_then_the_run_ends(store: str) -> None:
    g = jw.graph("ticks")
    t = g.node("t", "ticker", interval=0.02, max_emissions=3, payload={"kind": "sync"})
    g.edge(t, g.node("seen", "modify"))
    started = time.monotonic()
    result = jw.run(g, store=store)
    assert result.status == "completed"
    ticks = [d["in"] for d in outs(store, result.run_id, "seen")]
    assert [m["tick"] for m in ticks] == [1, 2, 3]
    assert all(m["payload"] == {"kind": "sync"} for m in ticks)
    assert time.monotonic() - started >= 0.04


def test_an_unbounded_ticker_runs_until_cancelled(store: str) -> None:
    g = jw.graph("forever")
    t = g.node("t", "ticker", interval=0.01)
    g.edge(t, g.node("seen", "modify"))
    handle = jw.submit(g, store=store)
    time.sleep(0.3)
    assert not handle.done
    handle.cancel()
    result = handle.wait(timeout=10)
    assert result.status == "cancelled"
    assert len(outs(store, result.run_id, "seen")) >= 3


def test_an_iterator_splits_and_reports_progress(store: str) -> None:
    g = jw.graph("batches", input={"array": list(range(25)), "context": {"job": "x"}})
    it = g.node("it", "iterator", batch_size=10, emit_progress=True)
    g.edge(it, g.node("batch", "modify"))
    g.edge(it, g.node("progress", "modify"), from_port="progress")
    result = jw.run(g, store=store)
    batches = [d["in"] for d in outs(store, result.run_id, "batch")]
    assert [len(b["batch"]) for b in batches] == [10, 10, 5]
    assert all(b["context"] == {"job": "x"} for b in batches)
    progress = [d["in"] for d in outs(store, result.run_id, "progress")]
    assert [p["is_last_batch"] for p in progress] == [False, False, True]
    assert progress[-1]["progress"] == 100


def test_a_router_with_rules_routes_a_paging_loop(store: str) -> None:
    g = jw.graph("pages")
    start = g.node("start", "modify")
    fetch = g.node("fetch", "python", target=shapes.fetch_page)
    more = g.node("more", "router", default="done",
                  rules=[{"field": "has_more", "operator": "equals", "value": True,
                          "port": "next"}])
    g.edge(start, fetch, data={"page": 1, "last": 4})
    g.edge(fetch, more)
    g.edge(more, fetch, from_port="next", data={"page": "{{ msg.page + 1 }}", "last": 4})
    g.edge(more, g.node("done", "log"), from_port="done")
    result = jw.run(g, input={}, store=store)
    assert [d["in"]["page"] for d in outs(store, result.run_id, "fetch")] == [1, 2, 3, 4]


def test_cancel_stops_a_graph_with_firings_in_flight(store: str) -> None:
    g = jw.graph("slow", input={"n": 20})
    src = g.node("src", "t_spread")
    g.edge(src, g.node("nap", "sleep", seconds=5))
    handle = jw.submit(g, store=store, concurrency=2)
    time.sleep(0.3)
    t0 = time.monotonic()
    handle.cancel()
    result = handle.wait(timeout=20)
    assert result.status == "cancelled" and time.monotonic() - t0 < 5
