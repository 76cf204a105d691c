"""Parameters are checked against the target's signature; option names can be parameters."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import jobweave as jw
from jobweave.errors import DefinitionError
from jobweave.loader import load_file
from jobweave.plan import compile_plan
from tests.cli.helpers import run_in_process
from tests.jobs import add

HELPERS = textwrap.dedent("""\
    def options(name, timeout, tags=(), after=None, retries=0, params=None):
        return {"name": name, "timeout": timeout, "tags": list(tags), "after": after,
                "retries": retries, "params": params}


    def loose(a, **rest):
        return [a, sorted(rest)]


    def with_context(a, context):
        return [a, context.job]
    """)


def _file(tmp_path: Path, jobs: str, name: str = "flow.yaml") -> str:
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / name).write_text("jobs:\n" + textwrap.indent(textwrap.dedent(jobs), "  "))
    return str(tmp_path / name)


@pytest.mark.parametrize(("jobs", "line", "field", "words"), [
    ("- {shell: echo}\n- target: tests.jobs:add\n  params:\n    a: 1\n",
     4, "jobs[1].params", "missing parameter 'b' of add(a, b)"),
    ("- target: tests.jobs:add\n  retries: 1\n", 2, "jobs[0].params",
     "missing parameters 'a', 'b' of add(a, b)"),
    ("- target: tests.jobs:add\n  params:\n    a: 1\n    b: 2\n    bb: 3\n",
     6, "jobs[0].params.bb", "unknown parameter 'bb': add(a, b) has no such parameter; "
                              "did you mean 'b'?"),
    ("- target: helpers.py:loose\n  params: {b: 1}\n", 3, "jobs[0].params",
     "missing parameter 'a' of loose(a, **rest)"),
])
def test_file_parameters_are_checked_with_their_line(tmp_path: Path, jobs: str, line: int,
                                                     field: str, words: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_file(_file(tmp_path, jobs))
    err = caught.value
    assert (err.line, err.field) == (line, field), str(err)
    assert words in err.message


def test_kwargs_and_context_are_not_parameters_to_give(tmp_path: Path) -> None:
    path = _file(tmp_path, """\
        - {name: any, target: helpers.py:loose, params: {a: 1, zz: 2, yy: 3}}
        - {name: ctx, target: helpers.py:with_context, params: {a: 1}}
        """)
    result = jw.run(load_file(path), store=str(tmp_path / "s.db"))
    assert result.outputs == {"any": [1, ["yy", "zz"]], "ctx": [1, "ctx"]}


def test_option_names_are_parameters_in_a_file(tmp_path: Path) -> None:
    path = _file(tmp_path, """\
        - name: job-name
          target: helpers.py:options
          timeout: 30
          params: {name: param-name, timeout: 5, tags: [t], after: a, retries: 2,
                   params: p}
        """)
    (loaded,) = load_file(path)
    assert (loaded.name, loaded.timeout, loaded.tags) == ("job-name", 30, ())
    result = jw.run([loaded], store=str(tmp_path / "s.db"))
    assert result.outputs["job-name"] == {"name": "param-name", "timeout": 5, "tags": ["t"],
                                          "after": "a", "retries": 2, "params": "p"}


def test_option_names_are_parameters_in_python(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text(HELPERS)
    sys.path.insert(0, str(tmp_path))
    try:
        from helpers import options  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    made = jw.job(options, name="the-job", timeout=9,
                  params={"name": "x", "timeout": 1, "params": {"deep": True}})
    assert (made.name, made.timeout) == ("the-job", 9)
    assert made.params == {"name": "x", "timeout": 1, "params": {"deep": True}}
    result = jw.run([made], store=str(tmp_path / "s.db"))
    assert result.outputs["the-job"]["name"] == "x"
    assert result.outputs["the-job"]["params"] == {"deep": True}


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(DefinitionError, match="'a' is given twice"):
        jw.job(add, a=1, params={"a": 2, "b": 3})
    with pytest.raises(DefinitionError, match="mapping"):
        jw.job(add, params=[("a", 1)])  # type: ignore[arg-type]


@pytest.mark.parametrize(("make", "words"), [
    (lambda: jw.job(add, a=1), "missing parameter 'b' of add(a, b)"),
    (lambda: jw.job(add, a=1, b=2, c=3), "unknown parameter 'c'"),
    (lambda: jw.job("tests.jobs:add", b=1, name="by-ref"), "by-ref.params: missing parameter"),
])
def test_python_definitions_are_checked_when_compiled(make: Any, words: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        compile_plan([make()])
    assert words in str(caught.value)


def test_validate_and_run_refuse_a_missing_parameter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, "- {shell: echo}\n- {target: tests.jobs:add, params: {a: 1}}\n")
    store = tmp_path / "s.db"
    for command in ("validate", "run"):
        proc = run_in_process([command, path, "--store", str(store)], capsys)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == (f"jobweave: error: {path}:3: jobs[1].params: "
                                       "missing parameter 'b' of add(a, b)")
    assert not store.exists()
