"""A graph run that failed, fixed and resumed: finished firings are not fired again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.helpers import Jobweave

STEPS = '''
import json
import os


def _count(name, msg):
    with open(os.path.join(msg["dir"], name + ".calls"), "a") as f:
        f.write(json.dumps(msg) + "\\n")


def fetch(msg):
    _count("fetch", msg)
    return {"dir": msg["dir"], "page": msg["page"], "items": [msg["page"]]}


def save(msg):
    _count("save", msg)
    if os.path.exists(os.path.join(msg["dir"], "broken")):
        raise RuntimeError("the target is read-only")
    return {"dir": msg["dir"], "saved": msg["items"]}
'''

GRAPH = """
kind: graph
name: copy
nodes:
  start: {component: modify}
  fetch: {component: python, settings: {target: steps.py:fetch}}
  save: {component: python, settings: {target: steps.py:save}}
  done: {component: log}
edges:
  - {from: start, to: fetch, data: {dir: "{{ input.dir }}", page: 1}}
  - {from: fetch, to: save}
  - {from: save, to: done}
"""


def _calls(tmp_path: Path, node: str) -> int:
    path = tmp_path / f"{node}.calls"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_resume_after_a_fix_fires_only_what_did_not_finish(
        cli: Jobweave, tmp_path: Path, graph_file: Callable[..., str]) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    path = graph_file(GRAPH)
    (tmp_path / "broken").write_text("")
    run = cli("run", path, "--input", json.dumps({"dir": str(tmp_path)}), "--json")
    assert run.returncode == 1, run.stderr
    first = json.loads(run.stdout)
    assert first["status"] == "failed"
    states = {j["name"]: j["status"] for j in first["jobs"]}
    assert states["save"] == "faulted" and states["fetch"] == "completed"
    assert (_calls(tmp_path, "fetch"), _calls(tmp_path, "save")) == (1, 1)

    (tmp_path / "broken").unlink()  # the fix
    resumed = cli("resume", first["run_id"], "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "completed"
    # fetch's firing was journaled: it is not fired again; save's failed one is
    assert (_calls(tmp_path, "fetch"), _calls(tmp_path, "save")) == (1, 2)
    # the resumed run kept the input it was started with (--input, not the file's)
    shown = cli("show", first["run_id"], "--node", "save", "--json")
    records = json.loads(shown.stdout)
    assert [("error" in r, r["in"]["dir"]) for r in records] == [
        (True, str(tmp_path)), (False, str(tmp_path))]
    assert records[1]["out"] == [["out", {"dir": str(tmp_path), "saved": [1]}]]
    (done,) = json.loads(cli("show", first["run_id"], "--node", "done", "--json").stdout)
    assert done["in"] == {"dir": str(tmp_path), "saved": [1]}
