"""A graph file becomes a Graph: nodes with their options, edges with their ports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jobweave as jw
from jobweave.loader import load_file
from jobweave.model import Graph
from jobweave.model.graph import Edge

STEPS = "def fetch(msg):\n    return msg\n"


def test_yaml_graph_file(tmp_path: Path, graph_file: Callable[..., str]) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "steps.py").write_text(STEPS)
    g = load_file(graph_file("""
        kind: graph
        name: pages
        max_firings: 50
        continue_on_error: true
        concurrency: 3
        input: {source: crm}
        triggers: [{every: 1h}]
        nodes:
          start: {component: modify}
          fetch:
            component: python
            settings: {target: lib/steps.py:fetch}
            retries: 2
            retry_delay: 0.5
            backoff: 2
            timeout: 30
            max_firings: 10
            execute_when_recovering: true
            tags: [io]
          log: {component: log, settings: {level: debug}}
        edges:
          - {from: start, to: fetch, data: {page: 1}}
          - {from: "fetch:error", to: log}
          - {from: fetch, to: "log:in"}
    """))
    assert isinstance(g, Graph)
    assert (g.name, g.max_firings, g.continue_on_error, g.concurrency, g.input) == (
        "pages", 50, True, 3, {"source": "crm"})
    assert len(g.triggers) == 1
    fetch = g.nodes["fetch"]
    assert fetch.settings == {"target": f"{tmp_path}/lib/steps.py:fetch"}
    assert (fetch.retries, fetch.retry_delay, fetch.backoff, fetch.timeout,
            fetch.max_firings, fetch.execute_when_recovering, fetch.tags) == (
        2, 0.5, 2.0, 30.0, 10, True, ("io",))
    assert g.nodes["log"].settings == {"level": "debug"}
    assert g.edges == [Edge("start", "fetch", data={"page": 1}),
                       Edge("fetch", "log", from_port="error"),
                       Edge("fetch", "log")]


def test_json_graph_file_runs_with_its_input(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    path = tmp_path / "graph.json"
    path.write_text(json.dumps({
        "kind": "graph", "name": "echo", "input": {"n": 1},
        "nodes": {"start": {"component": "modify"},
                  "echo": {"component": "python", "settings": {"target": "steps.py:fetch"}}},
        "edges": [{"from": "start", "to": "echo", "data": {"n": "{{ input.n + 1 }}"}}],
    }, indent=1))
    g = load_file(str(path))
    result = jw.run(g, store=str(tmp_path / "s.db"))
    assert result.status == "completed"
    assert result.job("echo").output == {"n": 2}
