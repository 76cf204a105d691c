"""jobweave validate, run, submit and show on graph files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.helpers import Jobweave, one_error_line

STEPS = '''
def fetch(msg):
    return {"page": msg["page"], "items": [msg["page"] * 10], "source": msg["source"]}


def broken(msg):
    raise ValueError("the page is torn")
'''

GRAPH = """
kind: graph
name: pages
input: {source: crm}
nodes:
  start: {component: modify}
  fetch:
    component: python
    settings: {target: steps.py:fetch}
  log: {component: log}
edges:
  - {from: start, to: fetch, data: {page: 1, source: "{{ input.source }}"}}
  - {from: fetch, to: log}
"""


def _write(tmp_path: Path, graph_file: Callable[..., str], body: str = GRAPH) -> str:
    (tmp_path / "steps.py").write_text(STEPS)
    return graph_file(body)


def _firings(cli: Jobweave, node: str) -> list[dict[str, object]]:
    p = cli("show", "last", "--node", node, "--json")
    assert p.returncode == 0, p.stderr
    records: list[dict[str, object]] = json.loads(p.stdout)
    return records


def test_validate_counts_the_nodes(cli: Jobweave, tmp_path: Path,
                                   graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    p = cli("validate", path, with_store=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "ok: 3 nodes (graph 'pages')\n"


def test_validate_reports_a_bad_file_in_one_line(cli: Jobweave, tmp_path: Path,
                                                 graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file, GRAPH.replace("to: log}", "to: logg}"))
    p = cli("validate", path, with_store=False)
    assert p.returncode == 2
    line = one_error_line(p.stderr)
    assert f"{path}:12: edges[1].to: no node named 'logg'" in line
    assert "did you mean 'log'?" in line


def test_run_uses_the_file_input_and_show_lists_nodes(cli: Jobweave, tmp_path: Path,
                                                      graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    p = cli("run", path, "--no-progress")
    assert p.returncode == 0, p.stderr
    assert "3/3 completed" in p.stdout
    header = p.stdout.splitlines()[1].split()
    assert header == ["node", "status", "firings", "duration"]
    (start,) = _firings(cli, "start")
    assert start["in"] == {"source": "crm"}
    (fetch,) = _firings(cli, "fetch")
    assert fetch["in"] == {"page": 1, "source": "crm"}
    assert fetch["out"] == [["out", {"page": 1, "items": [10], "source": "crm"}]]
    shown = cli("show", "last")
    assert shown.returncode == 0
    rows = {ln.split()[0]: ln.split() for ln in shown.stdout.splitlines() if ln.strip()}
    assert rows["node"][:4] == ["node", "component", "status", "firings"]
    assert rows["nodes"][1] == "3/3"
    assert rows["fetch"][1:4] == ["python", "completed", "1"]
    assert rows["start"][1] == "modify"
    one = cli("show", "last", "--job", "fetch")  # a node in full counts its firings
    fields = [ln.split()[:2] for ln in one.stdout.splitlines()[:3]]
    assert fields == [["node", "fetch"], ["status", "completed"], ["firings", "1"]]


def test_input_overrides_the_file_input(cli: Jobweave, tmp_path: Path,
                                        graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    assert cli("run", path, "--input", '{"source": "erp"}', "-q").returncode == 0
    assert _firings(cli, "fetch")[0]["in"] == {"page": 1, "source": "erp"}
    (tmp_path / "in.json").write_text('{"source": "files"}')
    assert cli("run", path, "--input", "@in.json", "-q").returncode == 0
    assert _firings(cli, "fetch")[0]["in"] == {"page": 1, "source": "files"}


def test_recover_keeps_the_input_the_run_was_given(cli: Jobweave, tmp_path: Path,
                                                  graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    assert cli("run", path, "--input", '{"source": "erp"}', "-q").returncode == 0
    plan = cli("recover", "last", "--plan", "--json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["digest_matches"] is True
    again = cli("recover", "last", "--changed", "name=fetch", "-q")
    assert again.returncode == 0, again.stderr
    assert _firings(cli, "fetch")[0]["in"] == {"page": 1, "source": "erp"}


def test_submit_with_input_runs_in_the_worker(cli: Jobweave, tmp_path: Path,
                                              graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    p = cli("submit", path, "--input", '{"source": "bg"}')
    assert p.returncode == 0, p.stderr
    run_id = p.stdout.strip()
    waited = cli("wait", run_id, "--timeout", "60", "-q")
    assert waited.returncode == 0, waited.stderr
    assert _firings(cli, "fetch")[0]["in"] == {"page": 1, "source": "bg"}


def test_bad_input_is_one_line_and_exit_2(cli: Jobweave, tmp_path: Path,
                                          graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    p = cli("run", path, "--input", "{source: 1}")
    assert p.returncode == 2
    assert "--input: not JSON: Expecting property name" in one_error_line(p.stderr)
    p = cli("submit", path, "--input", "@missing.json")
    assert p.returncode == 2
    assert "--input: cannot read missing.json" in one_error_line(p.stderr)
    (tmp_path / "batch.yaml").write_text("jobs: [{sleep: 0}]\n")
    p = cli("run", "batch.yaml", "--input", "{}")
    assert p.returncode == 2
    assert "this definition is not a graph" in one_error_line(p.stderr)
    assert cli("list", "--json").stdout.strip() in ("[]", "")


def test_show_node_lists_firings_with_errors(cli: Jobweave, tmp_path: Path,
                                            graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file, GRAPH.replace("steps.py:fetch", "steps.py:broken"))
    p = cli("run", path, "-q")
    assert p.returncode == 1
    shown = cli("show", "last", "--node", "fetch")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:5] == ["id", "time", "input", "outputs", "error"]
    assert '{"page": 1, "source": "crm"}' in lines[2]
    assert "ValueError: the page is torn" in lines[2]
    assert lines[-1] == "1 firing of node 'fetch'"
    (record,) = _firings(cli, "fetch")
    assert "the page is torn" in str(record["error"])
    assert "out" not in record
    quiet = cli("show", "last", "--node", "log")
    assert quiet.stdout.strip().endswith("has not fired")


def test_show_node_refuses_unknown_nodes_and_other_runs(cli: Jobweave, tmp_path: Path,
                                                       graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    assert cli("run", path, "-q").returncode == 0
    p = cli("show", "last", "--node", "fetc")
    assert p.returncode == 2
    assert "has no node named 'fetc' (it has: start, fetch, log)" in one_error_line(p.stderr)
    (tmp_path / "batch.yaml").write_text("jobs: [{sleep: 0, name: nap}]\n")
    assert cli("run", "batch.yaml", "-q").returncode == 0
    p = cli("show", "last", "--node", "nap")
    assert p.returncode == 2
    assert "not a graph" in one_error_line(p.stderr)


def test_recover_plan_and_show_problems_speak_of_nodes(cli: Jobweave, tmp_path: Path,
                                                       graph_file: Callable[..., str]) -> None:
    path = _write(tmp_path, graph_file)
    assert cli("run", path, "-q").returncode == 0
    plan = cli("recover", "last", "--plan")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[0].split() == ["node", "action", "reason"]
    assert [ln.split()[:2] for ln in lines[2:5]] == [["start", "replay"], ["fetch", "replay"],
                                                     ["log", "replay"]]
    problems = cli("show", "last", "--problems")
    assert problems.returncode == 0, problems.stderr
    shown = [ln for ln in problems.stdout.splitlines() if ln.strip()]
    assert shown[-1] == "every node completed"
    assert not any(ln.split()[0] in ("node", "start", "fetch", "log") for ln in shown)
