"""load_target: the four forms of a run target, and targets that cannot be used."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.errors import DefinitionError
from jobweave.loader import load_target
from jobweave.model import Batch, Job
from tests.loader import targets

PY_FILE = textwrap.dedent("""\
    import jobweave as jw

    def tripled(x):
        return 3 * x

    def nightly():
        first = jw.job(tripled, x=2, name="first")
        return [first, [jw.shell("echo later", name="later", after=first)]]

    ready = jw.batch(jw.sleep(0.01, name="nap"))
    number = 42
    """)


def _py_file(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    path = folder / "defs.py"
    path.write_text(PY_FILE)
    return path


def test_python_file_function(tmp_path: Path) -> None:
    path = _py_file(tmp_path)
    definition, source = load_target("flows/defs.py:nightly")
    assert source == f"{path}:nightly"
    assert os.path.isabs(source)
    assert isinstance(definition, Batch)
    assert [j.name for j in definition] == ["first", "later"]
    result = jw.run(definition, store=str(tmp_path / "s.db"))
    assert result.ok
    assert result.outputs["first"] == 6
    # the source loads the same definition again, from anywhere
    again, same = load_target(source, cwd="/")
    assert same == source
    assert isinstance(again, Batch) and [j.name for j in again] == ["first", "later"]


def test_python_file_object_and_cwd(tmp_path: Path) -> None:
    _py_file(tmp_path)
    definition, source = load_target("defs.py:ready", cwd=str(tmp_path / "flows"))
    assert source == f"{tmp_path}/flows/defs.py:ready"
    assert isinstance(definition, Batch) and [j.name for j in definition] == ["nap"]


def test_module_objects() -> None:
    definition, source = load_target("tests.loader.targets:nightly")
    assert source == "tests.loader.targets:nightly"
    assert definition is targets.nightly
    job, _ = load_target("tests.loader.targets:single")
    assert job is targets.single and isinstance(job, Job)
    flat, _ = load_target("tests.loader.targets:nested")
    assert isinstance(flat, Batch) and len(flat) == 3
    stages, _ = load_target("tests.loader.targets:stages")
    assert stages is targets.stages


def test_module_function_runs(tmp_path: Path) -> None:
    definition, source = load_target("tests.loader.targets:make")
    assert source == "tests.loader.targets:make"
    result = jw.run(definition, store=str(tmp_path / "s.db"))
    assert result.outputs == {"made": "made"}


def test_definition_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "run.yaml"
    path.write_text("name: from-yaml\njobs:\n  - {target: 'tests.jobs:add', params: {a: 2, b: 3},"
                    " name: add}\n")
    definition, source = load_target("run.yaml", cwd=str(tmp_path / "sub"))
    assert source == str(path)
    assert isinstance(definition, Batch) and definition.name == "from-yaml"
    result = jw.run(definition, store=str(tmp_path / "s.db"))
    assert result.outputs == {"add": 5}
    again, _ = load_target(source)
    assert isinstance(again, Batch) and [j.name for j in again] == ["add"]


@pytest.mark.parametrize(("spec", "words"), [
    ("tests.loader.targets:number",
     "is an int (42), not a Batch, a Schedule, a Flow, a Graph, a Job"),
    ("tests.loader.targets:needs_arguments", "needs arguments"),
    ("tests.loader.targets:broken",
     "calling tests.loader.targets:broken() raised RuntimeError: no database configured"),
    ("tests.loader.targets:gives_text", "returned a str ('echo hi'), not a Batch"),
    ("tests.loader.targets:job_function",
     "returned an int (1), not a Batch, a Schedule, a Flow, a Graph, a Job, a list of jobs, "
     "or a function with no arguments returning one: a target function is called to make "
     "the definition; to run a function as a job, name a jw.job(...) of it"),
    ("tests.loader.targets:nosuch", "has no 'nosuch'"),
    ("tests.loader.targets:nightyl", "has no 'nightyl'; did you mean 'nightly'?"),
    ("nosuch.module:x", "cannot import 'nosuch.module'"),
    ("defs.py", "name the object to run: 'defs.py:NAME'"),
    ("absent.py:x", "no such Python file"),
    ("absent.yaml", "no such file"),
    ("justaword", "must be a definition file (.yaml, .yml, .json)"),
    ("", "a target must be a file or 'module:name'"),
], ids=["int", "arguments", "raises", "returns-text", "a-job-function", "no-attribute",
        "misspelt-attribute", "no-module", "no-name", "no-py-file", "no-yaml-file",
        "unknown-form", "empty"])
def test_unusable_targets(spec: str, words: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_target(spec)
    shown = str(caught.value)
    assert words in shown
    assert "\n" not in shown


def test_bad_definition_file_keeps_its_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("jobs:\n  - shell: x\n    retries: -2\n")
    with pytest.raises(DefinitionError) as caught:
        load_target("bad.yaml")
    assert (caught.value.line, caught.value.field) == (3, "jobs[0].retries")


def test_file_object_that_is_not_a_definition(tmp_path: Path) -> None:
    _py_file(tmp_path)
    with pytest.raises(DefinitionError, match=r"defs\.py:number is an int \(42\)"):
        load_target("flows/defs.py:number")
