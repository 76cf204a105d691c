"""run_job / run_flow: child runs inside a graph run, judged by a barrier."""

from __future__ import annotations

import json
from pathlib import Path

import jobweave as jw
from jobweave.store import open_store


def test_run_job_nodes_run_children_and_a_barrier_judges_their_tokens(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    g = jw.graph("parent", input={"n": 3})
    src = g.node("src", "t_spread")
    job = g.node("job", "run_job", target="tests.graph_engine.shapes:child_batch")
    wait = g.node("wait", "barrier", grouping="all")
    g.edge(src, job)
    g.edge(job, wait, to_port="0")
    g.edge(wait, g.node("ok", "modify"), from_port="0")
    result = jw.run(g, store=store)
    assert result.status == "completed"
    s = open_store(store)
    try:
        tokens = [json.loads(d)["out"][0][1] for _, _, d in s.firings(result.run_id, "job")]
        (ok,) = [json.loads(d)["in"] for _, _, d in s.firings(result.run_id, "ok")]
        children = {r.run_id: r for r in s.list_runs(limit=50)}
    finally:
        s.close()
    assert len(tokens) == 3
    assert all(t["status"] == "completed" and t["outputs"] == {"sum": 3, "more": 7}
               for t in tokens)
    assert all(t["run"].startswith(result.run_id + ".") and t["run"] in children
               for t in tokens)
    assert len({t["run"] for t in tokens}) == 3
    assert ok["status"] == "completed"
    # the children were stored after their parent: `last` still names the run just made
    from jobweave.cli.app import resolve_run

    s = open_store(store)
    try:
        assert s.list_runs(limit=1)[0].run_id in {t["run"] for t in tokens}
        assert resolve_run(s, "last") == result.run_id
    finally:
        s.close()
    assert jw.get_run("last", store=store).run_id == result.run_id


def test_run_flow_runs_a_child_graph_with_an_input(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    g = jw.graph("parent", input={"n": 21})
    a = g.node("a", "modify")
    child = g.node("child", "run_flow", target="tests.graph_engine.shapes:child_graph",
                   input={"n": "{{ msg.n }}"})
    g.edge(a, child)
    result = jw.run(g, store=store)
    token = {j.name: j for j in result.jobs}["child"].output
    assert token["status"] == "completed"
    assert token["outputs"]["b"] == {"got": 42}


def test_a_firing_that_runs_again_takes_its_finished_child_as_it_is(tmp_path: Path) -> None:
    from jobweave.api import run_child
    from jobweave.context import Context

    store = str(tmp_path / "s.db")
    ctx = Context("parent-run", "job", 1)
    first = run_child("tests.graph_engine.shapes:child_batch", "abcdef123456789", store, ctx)
    again = run_child("tests.graph_engine.shapes:child_batch", "abcdef123456789", store, ctx)
    assert first == again
    assert len(jw.runs(store=store)) == 1
