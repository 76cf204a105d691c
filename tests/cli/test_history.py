"""Run history in one place: the default store is found as git finds its folder, and
commands that only read never create a store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.settings import DEFAULT_STORE, Settings, find_store
from tests.cli.conftest import run_in_process
from tests.cli.helpers import one_error_line

READERS = [["status", "last"], ["show", "last"], ["journal", "last"], ["wait", "last"],
           ["delete", "last"], ["cancel", "last"], ["pause", "last"], ["resume", "last"],
           ["recover", "last"], ["recover", "last", "--plan"]]


def _jobweave(capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    return run_in_process(list(args), capsys)


def test_reading_commands_never_create_a_store(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    listed = _jobweave(capsys, "list")
    assert listed.returncode == 0
    assert listed.stderr == "no runs yet: there is no store at .jobweave/jobweave.db\n"
    assert _jobweave(capsys, "list", "--json").stdout == "[]\n"
    for args in READERS:
        p = _jobweave(capsys, *args)
        assert p.returncode == 2, args
        assert one_error_line(p.stderr).endswith("no runs yet: there is no store at "
                                                 ".jobweave/jobweave.db"), args
    p = _jobweave(capsys, "prune", "--older-than", "1d")
    assert p.returncode == 2 and "no runs yet" in one_error_line(p.stderr)
    explicit = _jobweave(capsys, "status", "last", "--store", "elsewhere.db")
    assert "no store at elsewhere.db" in one_error_line(explicit.stderr)
    assert sorted(os.listdir(tmp_path)) == []  # no .jobweave, no elsewhere.db
    assert jw.runs() == [] and not (tmp_path / ".jobweave").exists()
    with pytest.raises(jw.RunNotFoundError):
        jw.get_run("last")


def test_the_nearest_store_upward_is_found_from_any_subfolder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    deep = project / "src" / "flows"
    deep.mkdir(parents=True)
    monkeypatch.chdir(project)
    done = jw.run(jw.job("tests.jobs:noop", name="here"))  # first write: ./.jobweave
    assert (project / ".jobweave" / "jobweave.db").is_file()

    monkeypatch.chdir(deep)
    assert find_store() == str(project / ".jobweave" / "jobweave.db")
    p = _jobweave(capsys, "status", "last", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["run_id"] == done.run_id
    again = jw.run(jw.job("tests.jobs:noop", name="from-below"))
    assert not (deep / ".jobweave").exists()  # written to the project's store
    assert [r.run_id for r in jw.runs()] == [again.run_id, done.run_id]

    # --store and JOBWEAVE_STORE still win over the found store
    other = str(tmp_path / "other.db")
    jw.run(jw.job("tests.jobs:noop", name="other"), store=other)
    assert _jobweave(capsys, "list", "--json", "--store", other).stdout.count("run_id") == 1
    monkeypatch.setenv("JOBWEAVE_STORE", other)
    assert Settings.from_env().store == other
    assert [r.name for r in jw.runs()] == ["other"]


def test_without_a_store_folder_upward_the_store_is_made_here(tmp_path: Path) -> None:
    assert find_store() == DEFAULT_STORE
    assert find_store(str(tmp_path)) == str(tmp_path / DEFAULT_STORE)
    (tmp_path / ".jobweave").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_store(str(tmp_path / "a" / "b")) == str(tmp_path / DEFAULT_STORE)
