"""The graph runtime: loops, fan-out, the error port, limits, and what is journaled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests.graph_engine import shapes


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "s.db")


def firings(store: str, run_id: str) -> list[tuple[str, dict]]:
    s = open_store(store)
    try:
        return [(node, json.loads(data)) for _, node, data in s.firings(run_id)]
    finally:
        s.close()


def by_name(result: jw.RunResult) -> dict[str, jw.JobResult]:
    return {j.name: j for j in result.jobs}


def test_a_paging_loop_fires_fetch_once_per_page(store: str) -> None:
    result = jw.run(shapes.pages(last=7), input={"source": "crm"}, store=store)
    assert result.status == "completed"
    jobs = by_name(result)
    assert jobs["fetch"].attempts == 7 and jobs["more"].attempts == 7
    assert jobs["done"].attempts == 1
    assert jobs["done"].output["page"] == 7
    recs = firings(store, result.run_id)
    fetched = [d["in"]["page"] for node, d in recs if node == "fetch"]
    assert fetched == list(range(1, 8))
    assert len({d["id"] for _, d in recs}) == len(recs), "firing ids are unique"


def test_sources_fire_once_with_the_run_input(store: str) -> None:
    g = jw.graph("one")
    a = g.node("a", "modify")
    g.edge(a, g.node("b", "modify"), data={"seen": "{{ input.who }}", "was": "{{ msg }}"})
    result = jw.run(g, input={"who": "ops"}, store=store)
    assert by_name(result)["b"].output == {"seen": "ops", "was": {"who": "ops"}}


def test_firing_ids_are_the_same_in_two_runs(store: str) -> None:
    first = jw.run(shapes.pages(last=3), input={}, store=store)
    second = jw.run(shapes.pages(last=3), input={}, store=store)
    ids = [[d["id"] for _, d in firings(store, r.run_id)] for r in (first, second)]
    assert ids[0] == ids[1]


def test_the_error_port_collects_failures_and_the_run_goes_on(store: str) -> None:
    result = jw.run(shapes.fan(6, error_edge=True), input={"n": 6}, store=store)
    assert result.status == "completed"
    recs = firings(store, result.run_id)
    errors = [d["in"] for node, d in recs if node == "errors"]
    assert sorted(e["msg"]["i"] for e in errors) == [1, 3, 5]
    assert all(e["node"] == "boom" and "odd" in e["error"] for e in errors)
    assert by_name(result)["sink"].attempts == 3


def test_without_an_error_port_a_fault_fails_the_run(store: str) -> None:
    result = jw.run(shapes.fan(4), input={"n": 4}, store=store, concurrency=1)
    assert result.status == "failed" and result.exit_code == 1
    assert by_name(result)["boom"].status == "faulted"
    assert "odd 1" in (by_name(result)["boom"].error or "")


def test_continue_on_error_records_the_fault_and_keeps_going(store: str) -> None:
    result = jw.run(shapes.fan(6, continue_on_error=True), input={"n": 6}, store=store)
    assert result.status == "completed"
    assert by_name(result)["sink"].attempts == 3
    faults = [d for node, d in firings(store, result.run_id) if node == "boom" and "error" in d]
    assert len(faults) == 3


def test_a_loop_past_max_firings_faults(store: str) -> None:
    g = jw.graph("forever", max_firings=20)
    start = g.node("start", "modify")
    step = g.node("step", "modify")
    g.edge(start, step, data={"n": 0})
    g.edge(step, step, data={"n": "{{ msg.n + 1 }}"})
    result = jw.run(g, input={}, store=store)
    assert result.status == "failed"
    assert "max_firings" in (by_name(result)["step"].error or "")
    # 20 firings, and the 21st, refused and journaled with its error, as --node lists it
    assert by_name(result)["step"].attempts == 21
    assert len([d for node, d in firings(store, result.run_id) if node == "step"]) == 21


def test_a_loop_that_does_not_advance_is_stopped(store: str) -> None:
    g = jw.graph("stuck")
    start = g.node("start", "modify")
    step = g.node("step", "modify")
    g.edge(start, step, data={"page": 1})
    g.edge(step, step, data={"page": "{{ msg.page }}"})
    result = jw.run(g, input={}, store=store)
    assert result.status == "failed"
    assert "same message twice" in (by_name(result)["step"].error or "")


def test_an_edge_template_that_fails_faults_the_target(store: str) -> None:
    g = jw.graph("bad-data")
    a = g.node("a", "modify")
    g.edge(a, g.node("b", "modify"), data={"x": "{{ msg.missing.deeper }}"})
    result = jw.run(g, input={"k": 1}, store=store)
    assert result.status == "failed"
    assert "missing" in (by_name(result)["b"].error or "")


def test_python_nodes_retry_then_succeed(store: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(shapes.COUNTS_ENV, str(tmp_path))
    g = jw.graph("flaky")
    a = g.node("a", "modify")
    g.edge(a, g.node("f", "python", target=flaky, retries=2))
    result = jw.run(g, input={"marker": str(tmp_path / "m")}, store=store)
    assert result.status == "completed"
    assert by_name(result)["f"].output == {"ok": 3}


def flaky(msg: dict) -> dict:
    path = Path(msg["marker"])
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    if n < 3:
        raise RuntimeError(f"attempt {n}")
    return {"ok": n}


def test_an_unknown_component_or_port_is_refused_before_storing(store: str) -> None:
    g = jw.graph("bad")
    a = g.node("a", "modify")
    g.edge(a, g.node("b", "nope"))
    with pytest.raises(jw.DefinitionError, match="unknown component 'nope'"):
        jw.run(g, input={}, store=store)
    g = jw.graph("bad-port")
    a = g.node("a", "modify")
    g.edge(a, g.node("b", "modify"), from_port="elsewhere")
    with pytest.raises(jw.DefinitionError, match="no output port 'elsewhere'"):
        jw.run(g, input={}, store=store)
    assert not Path(store).exists() or jw.runs(store=store) == []


def test_shell_and_sleep_nodes(store: str) -> None:
    g = jw.graph("sh")
    a = g.node("a", "modify")
    sh = g.node("sh", "shell", command="echo {{ msg.word }}")
    nap = g.node("nap", "sleep", seconds=0.01)
    g.edge(a, sh)
    g.edge(sh, nap)
    result = jw.run(g, input={"word": "hello"}, store=store)
    assert result.status == "completed", by_name(result)
    out = by_name(result)["nap"].output
    assert out["returncode"] == 0 and out["stdout"].strip() == "hello"


def test_an_executed_node_s_duration_counts_its_firing_from_its_start(store: str) -> None:
    g = jw.graph("nap")
    nap = g.node("nap", "sleep", seconds=0.3)
    g.edge(g.node("a", "modify"), nap)
    result = jw.run(g, store=store)
    got = by_name(result)["nap"]
    assert got.duration is not None and 0.3 <= got.duration < result.duration + 0.01
    s = open_store(store)  # as `show` reads it
    try:
        (stored,) = [j for j in s.get_jobs(result.run_id) if j.name == "nap"]
    finally:
        s.close()
    assert stored.duration is not None and stored.duration >= 0.3


def test_a_failed_graph_resumes_without_refiring_what_finished(
        store: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(shapes.COUNTS_ENV, str(tmp_path))
    first = jw.run(shapes.fan(4), input={"n": 4}, store=store, concurrency=1)
    assert first.status == "failed"
    ran_before = sorted(p.name for p in tmp_path.glob("boom-*"))
    monkeypatch.setattr(shapes, "boom", shapes.square)  # the fix; resume loads by ref
    result = jw.resume(first.run_id, store=store)
    assert result.status == "completed", result.jobs
    assert by_name(result)["sink"].attempts == 4
    square_runs = sorted(p.name for p in tmp_path.glob("square-*"))
    # boom[0] completed before the fault: it is not fired again
    assert "boom-0" in ran_before and "square-0" not in square_runs


def test_recover_changed_inside_a_loop_refires_from_that_firing_on(
        store: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(shapes.COUNTS_ENV, str(tmp_path))
    first = jw.run(shapes.pages(last=4), input={}, store=store)
    assert first.status == "completed"
    before = {p.name: len(p.read_text()) for p in tmp_path.glob("page-*")}
    assert before == {f"page-{k}": 1 for k in range(1, 5)}
    result = jw.recover(first.run_id, changed=["name=more"], store=store)
    assert result.status == "completed"
    after = {p.name: len(p.read_text()) for p in tmp_path.glob("page-*")}
    # the first fetch precedes every firing of 'more': it is replayed; the pages after
    # it follow a firing of 'more' and are fetched again
    assert after == {"page-1": 1, "page-2": 2, "page-3": 2, "page-4": 2}
    recs = firings(store, result.run_id)
    assert [d["in"]["page"] for node, d in recs if node == "fetch"] == [1, 2, 3, 4]
    assert by_name(result)["done"].output["page"] == 4


def test_recover_without_changes_fires_nothing_again(
        store: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(shapes.COUNTS_ENV, str(tmp_path))
    first = jw.run(shapes.pages(last=3), input={}, store=store)
    result = jw.recover(first.run_id, store=store)
    assert result.status == "completed"
    assert {p.name: len(p.read_text()) for p in tmp_path.glob("page-*")} == {
        f"page-{k}": 1 for k in range(1, 4)}
    # the new run's journal stands alone: every firing is in it
    assert len(firings(store, result.run_id)) == len(firings(store, first.run_id))


def remember(msg: dict, context: jw.Context) -> dict:
    return {"i": msg.get("i", 0), "recovered": context.recovered,
            "previous": context.previous_outputs}


def test_execute_when_recovering_fires_again_with_the_previous_outputs(store: str) -> None:
    g = jw.graph("again")
    a = g.node("a", "modify")
    g.edge(a, g.node("r", "python", target=remember, execute_when_recovering=True))
    first = jw.run(g, input={"i": 7}, store=store)
    assert by_name(first)["r"].output["recovered"] is False
    result = jw.recover(first.run_id, store=store)
    out = by_name(result)["r"].output
    assert out["recovered"] is True
    assert out["previous"] == [["out", {"i": 7, "recovered": False, "previous": None}]]


def test_a_graph_carries_a_default_input(store: str) -> None:
    g = jw.graph("defaults", input={"who": "default"})
    g.node("a", "modify")
    assert by_name(jw.run(g, store=store))["a"].output == {"who": "default"}
    assert by_name(jw.run(g, input={"who": "given"}, store=store))["a"].output == {
        "who": "given"}


def test_listeners_hear_the_firings_per_node(store: str) -> None:
    heard: list[object] = []
    result = jw.run(shapes.pages(last=3), input={}, store=store, listeners=[heard.append])
    fired = [e for e in heard if isinstance(e, jw.NodesFired)]
    assert fired, heard
    assert fired[-1].firings == {j.name: j.attempts for j in result.jobs}
    assert isinstance(heard[-1], jw.RunFinished)


def test_the_progress_line_names_the_busiest_nodes() -> None:
    from jobweave.cli.progress import per_node

    assert per_node({"a": 1, "b": 5, "c": 0}) == "b 5 · a 1"


def test_a_failing_edge_into_a_python_node_faults_it_without_hanging(store: str) -> None:
    g = jw.graph("bad-edge")
    a = g.node("a", "modify")
    g.edge(a, g.node("f", "python", target=shapes.square), data={"i": "{{ msg.nope.x }}"})
    result = jw.run(g, input={"k": 1}, store=store)
    assert result.status == "failed"
    assert "nope" in (by_name(result)["f"].error or "")


def test_a_barrier_node_is_a_node_of_the_run(store: str) -> None:
    g = jw.graph("b", input={"n": 2})
    src = g.node("src", "t_spread")
    wait = g.node("wait", "barrier", grouping="all", evaluate="true")
    g.edge(src, wait, to_port="0")
    result = jw.run(g, store=store)
    assert by_name(result)["wait"].attempts == 1
    s = open_store(store)
    try:
        assert {j.name for j in s.get_jobs(result.run_id)} == {"src", "wait"}
    finally:
        s.close()


def test_a_graph_definition_diff_names_the_node_whose_edge_changed() -> None:
    from jobweave.engine.resume import diff_definitions
    from jobweave.plan import compile_plan

    def build(data: str) -> dict:
        g = jw.graph("d")
        a = g.node("a", "modify")
        g.edge(a, g.node("b", "modify"), data={"x": data})
        g.edge(a, g.node("c", "barrier"), to_port="0")
        return compile_plan(g).definition

    diff = diff_definitions(build("1"), build("2"))
    assert diff.changed == ["a"] and diff.unchanged == ["b", "c"]
