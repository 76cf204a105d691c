"""load_file: valid YAML and JSON files become batches that really run."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jobweave as jw
from jobweave.loader import load_file
from jobweave.model import Batch, JobKind, OutputRef
from jobweave.store import open_store

FULL = """\
# a nightly run: every kind of item, groups, dependencies and output bindings
name: nightly-check
concurrency: 4
jobs:
  - name: one
    target: tests.jobs:add
    params: {a: 1, b: 2}
    retries: 2
    retry_delay: 0.01
    backoff: 2
    timeout: 30
    tags: [setup]
  - name: two
    target: helpers/steps.py:double        # relative to this file's folder
    params: {x: {output: one}}
  - name: checks
    after: one
    tags: [check]
    batch:
      - name: greet
        shell: 'echo "$GREETING"'
        env: {GREETING: hello}
      - - name: where
          shell: pwd
          cwd: work
        - {sleep: 0.05, name: nap}
  - name: sum
    target: helpers/steps.py:total
    params:
      parts: {output: [one, two]}
      unused: {output: one, note: a mapping with more keys is plain data}
    after: [checks]
"""

HELPERS = ("def double(x, unused=None):\n    return 2 * x\n\n\n"
           "def total(parts, unused=None):\n    return sum(parts)\n")


def _write_defs(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "defs"
    (folder / "helpers").mkdir(parents=True, exist_ok=True)
    (folder / "work").mkdir(exist_ok=True)
    (folder / "helpers" / "steps.py").write_text(HELPERS)
    path = folder / name
    path.write_text(text)
    return path


def test_full_file_runs(tmp_path: Path) -> None:
    path = _write_defs(tmp_path, "nightly.yaml", FULL.replace(
        "      unused: {output: one, note: a mapping with more keys is plain data}\n", ""))
    loaded = load_file(str(path))
    assert isinstance(loaded, Batch) and loaded.concurrency == 4
    store = str(tmp_path / "s.db")
    result = jw.run(loaded, store=store)
    assert result.ok, result.jobs
    # the file's concurrency is the run's, since the caller gave none
    assert open_store(store).get_run(result.run_id).options["concurrency"] == 4
    assert result.name == "nightly-check"
    assert result.outputs["one"] == 3
    assert result.outputs["two"] == 6
    assert result.outputs["sum"] == 9
    assert result.outputs["greet"]["stdout"] == "hello\n"
    assert result.outputs["where"]["stdout"].strip() == str(tmp_path / "defs" / "work")
    assert result.job("nap").status == "completed"


def test_fields_reach_the_model(tmp_path: Path) -> None:
    path = _write_defs(tmp_path, "nightly.yaml", FULL)
    batch = load_file(str(path))
    jobs = {j.name: j for j in batch}
    assert list(jobs) == ["one", "two", "greet", "where", "nap", "sum"]
    one = jobs["one"]
    assert (one.retries, one.retry_delay, one.backoff, one.timeout, one.tags) == (
        2, 0.01, 2, 30, ("setup",))
    assert jobs["two"].target == f"{tmp_path}/defs/helpers/steps.py:double"
    binding = jobs["two"].params["x"]
    assert isinstance(binding, OutputRef) and binding.jobs == (one,) and not binding.many
    # the group's `after` and `tags` reach each of its jobs
    for name in ("greet", "where", "nap"):
        assert jobs[name].after == (one,)
        assert jobs[name].tags == ("check",)
    assert jobs["where"].kind is JobKind.SHELL
    assert jobs["where"].params["cwd"] == str(tmp_path / "defs" / "work")
    total = jobs["sum"]
    assert total.after == (jobs["greet"], jobs["where"], jobs["nap"])
    parts = total.params["parts"]
    assert isinstance(parts, OutputRef) and parts.many and parts.jobs == (one, jobs["two"])
    assert total.params["unused"] == {"output": "one",
                                      "note": "a mapping with more keys is plain data"}


def test_output_of_a_group_is_a_list(tmp_path: Path) -> None:
    path = tmp_path / "group.yaml"
    path.write_text(textwrap.dedent("""\
        jobs:
          - name: pair
            batch:
              - {target: 'tests.jobs:add', params: {a: 1, b: 1}}
              - {target: 'tests.jobs:add', params: {a: 2, b: 2}}
          - name: sum
            target: tests.jobs:total
            params: {parts: {output: pair}}
        """))
    result = jw.run(load_file(str(path)), store=str(tmp_path / "s.db"))
    assert result.ok
    assert result.outputs["sum"] == 6


def test_json_file_runs(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps({
        "$schema": "https://example.invalid/definition.schema.json",
        "name": "from-json",
        "jobs": [
            {"name": "a", "target": "tests.jobs:echo", "params": {"value": 1e2}},
            {"shell": "echo ok", "after": ["a"], "retries": 1},
        ],
    }, indent="\t"))
    batch = load_file(str(path))
    assert batch.name == "from-json"
    assert batch.jobs[0].params == {"value": 100.0}
    result = jw.run(batch, store=str(tmp_path / "s.db"))
    assert result.ok
    assert result.outputs["a"] == 100.0


def test_yaml_conveniences(tmp_path: Path) -> None:
    path = tmp_path / "defaults.yml"
    (tmp_path / "labels.py").write_text("def label(value, name):\n    return name, value\n")
    path.write_text(textwrap.dedent("""\
        jobs:
          - &retrying {shell: 'true', name: first, retries: 3, tags: [x]}
          - <<: *retrying
            name: second
          - target: labels.py:label
            params: {value: 2024-05-01, name: also-a-parameter}
        """))
    first, second, third = load_file(str(path))
    assert (second.name, second.retries, second.tags) == ("second", 3, ("x",))
    assert first.name == "first"
    # a date stays the text written; a parameter may be called `name`
    assert third.params == {"value": "2024-05-01", "name": "also-a-parameter"}
    assert third.name is None


def test_output_list_of_one_name_is_a_list(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(textwrap.dedent("""\
        jobs:
          - {name: a, target: 'tests.jobs:add', params: {a: 1, b: 2}}
          - {name: single, target: 'tests.jobs:echo', params: {value: {output: a}}}
          - {name: listed, target: 'tests.jobs:echo', params: {value: {output: [a]}}}
        """))
    result = jw.run(load_file(str(path)), store=str(tmp_path / "s.db"))
    assert result.outputs["single"] == 3
    assert result.outputs["listed"] == [3]
