"""What `show` and the closing summary say of a graph run that replayed a journal: a
recovery (`recover --changed`) and a resume after a fix. Only firings a recovery took over
are called replayed, firing counts agree with `show --node`, a node's duration leaves out
the time the run was stopped, and a node that completed shows no error it since got over."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.helpers import Jobweave

STEPS = '''
import os


def fetch(msg):
    if msg["page"] == 2 and os.path.exists(os.path.join(msg["dir"], "broken")):
        raise RuntimeError("page 2 broken")
    return {"dir": msg["dir"], "page": msg["page"], "has_more": msg["page"] < 3}
'''

GRAPH = """
kind: graph
name: pages
nodes:
  start: {component: modify}
  side: {component: log}
  fetch: {component: python, settings: {target: steps.py:fetch}}
  more:
    component: router
    settings:
      rules: [{field: has_more, operator: equals, value: true, port: next}]
      default: done
  done: {component: log}
edges:
  - {from: start, to: side}
  - {from: start, to: fetch, data: {dir: "{{ input.dir }}", page: 1}}
  - {from: fetch, to: more}
  - {from: more:next, to: fetch, data: {dir: "{{ msg.dir }}", page: "{{ msg.page + 1 }}"}}
  - {from: more:done, to: done}
"""

STOPPED = 1.0
"""Seconds between a run and its recovery or resume: no node's duration may hold them."""


def _start(cli: Jobweave, tmp_path: Path, graph_file: Callable[..., str]) -> dict[str, Any]:
    (tmp_path / "steps.py").write_text(STEPS)
    run = cli("run", graph_file(GRAPH), "--input", json.dumps({"dir": str(tmp_path)}),
              "--json")
    assert run.returncode in (0, 1), run.stderr
    first: dict[str, Any] = json.loads(run.stdout)
    return first


def _shown(cli: Jobweave, run_id: str) -> dict[str, dict[str, Any]]:
    p = cli("show", run_id, "--json")
    assert p.returncode == 0, p.stderr
    return {j["name"]: j for j in json.loads(p.stdout)["jobs"]}


def _firings(cli: Jobweave, run_id: str, node: str) -> list[dict[str, Any]]:
    p = cli("show", run_id, "--node", node, "--json")
    assert p.returncode == 0, p.stderr
    records: list[dict[str, Any]] = json.loads(p.stdout)
    return records


def test_recover_changed_calls_replayed_only_the_nodes_whose_firings_it_took_over(
        cli: Jobweave, tmp_path: Path, graph_file: Callable[..., str]) -> None:
    first = _start(cli, tmp_path, graph_file)
    assert first["status"] == "completed"
    time.sleep(STOPPED)
    rec = cli("recover", first["run_id"], "--changed", "name=more", "--json")
    assert rec.returncode == 0, rec.stderr
    run_id = json.loads(rec.stdout)["run_id"]

    shown = _shown(cli, run_id)
    # start and side were taken over; fetch's pages 2 and 3 fired again after `more`
    assert {n: j["replayed"] for n, j in shown.items()} == {
        "start": True, "side": True, "fetch": False, "more": False, "done": False}
    fetch = _firings(cli, run_id, "fetch")
    assert [r.get("replayed_from") for r in fetch] == [first["run_id"], None, None]
    assert shown["fetch"]["attempts"] == len(fetch) == 3
    # fetch's duration covers its own firings, not the time since the first run's
    assert shown["fetch"]["duration"] < STOPPED / 2
    # a node taken over whole keeps its original times, as a replayed job does
    original = {j["name"]: j for j in first["jobs"]}
    assert shown["start"]["started_at"] == original["start"]["started_at"]

    text = cli("show", run_id).stdout
    assert "2 nodes: outputs taken over from that run, not invoked" in text
    assert "3 of 9 firings taken over" in text
    rows = {ln.split()[0]: ln for ln in text.splitlines() if ln.split()[:1] and
            ln.split()[0] in shown}
    assert "(replayed)" in rows["start"] and "(replayed)" not in rows["fetch"]
    assert "not invoked" not in cli("show", run_id, "--job", "fetch").stdout
    assert "replayed from" in cli("show", run_id, "--job", "start").stdout
    assert "(1 taken over from" in cli("show", run_id, "--node", "fetch").stdout


def test_resume_after_a_fix_shows_no_stale_error_nor_the_stopped_time(
        cli: Jobweave, tmp_path: Path, graph_file: Callable[..., str]) -> None:
    (tmp_path / "broken").write_text("")
    first = _start(cli, tmp_path, graph_file)
    assert first["status"] == "failed"
    failed = {j["name"]: j for j in first["jobs"]}
    # the failed firing counts, as `show --node` lists it
    assert failed["fetch"]["attempts"] == len(_firings(cli, first["run_id"], "fetch")) == 2
    time.sleep(STOPPED)
    (tmp_path / "broken").unlink()  # the fix

    resumed = cli("resume", first["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed: 3 of 5 nodes had completed" in resumed.stderr
    summary = {j["name"]: j for j in json.loads(resumed.stdout)["jobs"]}
    shown = _shown(cli, first["run_id"])
    records = _firings(cli, first["run_id"], "fetch")
    # the failure stays in the node's history, not on the node that completed
    assert ["error" in r for r in records] == [False, True, False, False]
    for fetch in (summary["fetch"], shown["fetch"]):
        assert (fetch["status"], fetch["error"]) == ("completed", None)
        assert fetch["attempts"] == len(records) == 4
    # fetch fired in both executions: its duration is not the time between them
    for node in ("fetch", "more"):
        assert summary[node]["duration"] < STOPPED / 2, summary[node]
        assert shown[node]["duration"] < STOPPED / 2, shown[node]
    assert "page 2 broken" not in cli("show", first["run_id"]).stdout


SLOW_STEPS = '''
import os
import time


def slow(msg):
    time.sleep(0.3)
    return msg


def check(msg):
    if os.path.exists(os.path.join(msg["dir"], "broken")):
        raise RuntimeError("check broken")
    return msg
'''

SLOW_GRAPH = """
kind: graph
name: slow
nodes:
  start: {component: modify}
  slow: {component: python, settings: {target: steps.py:slow}}
  check: {component: python, settings: {target: steps.py:check}}
edges:
  - {from: start, to: slow, data: {dir: "{{ input.dir }}"}}
  - {from: slow, to: check}
"""


def test_a_node_fired_only_before_a_resume_keeps_its_firing_s_whole_duration(
        cli: Jobweave, tmp_path: Path, graph_file: Callable[..., str]) -> None:
    (tmp_path / "steps.py").write_text(SLOW_STEPS)
    (tmp_path / "broken").write_text("")
    run = cli("run", graph_file(SLOW_GRAPH), "--input", json.dumps({"dir": str(tmp_path)}),
              "--json")
    first = json.loads(run.stdout)
    assert first["status"] == "failed", run.stderr
    before = {j["name"]: j for j in first["jobs"]}["slow"]
    assert before["duration"] >= 0.3
    (tmp_path / "broken").unlink()

    resumed = cli("resume", first["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = {j["name"]: j for j in json.loads(resumed.stdout)["jobs"]}
    shown = _shown(cli, first["run_id"])
    # slow fired in the first execution only: its times are that firing's, start to end
    for slow in (summary["slow"], shown["slow"]):
        assert slow["attempts"] == 1
        assert slow["duration"] >= 0.3, slow
        assert slow["started_at"] == before["started_at"]
    record, = _firings(cli, first["run_id"], "slow")
    assert record["ts"] - record["started"] >= 0.3
    assert "started" not in _firings(cli, first["run_id"], "start")[0]  # fired inline
