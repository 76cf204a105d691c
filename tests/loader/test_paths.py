"""Relative paths in a definition file are relative to the file's folder, not the caller's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import run_in_process

TOOL = "import os\n\ndef where(path):\n    return [os.getcwd(), path]\n"


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_paths_resolve_against_the_definition_folder(
        tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "flows"
    (folder / "tools").mkdir(parents=True)
    (folder / "work").mkdir()
    (folder / "tools" / "x.py").write_text(TOOL)
    jobs = [
        {"name": "py", "target": "tools/x.py:where", "params": {"path": "data/in.csv"}},
        {"name": "here", "shell": "pwd > here.txt", "cwd": "."},
        {"name": "sub", "shell": "pwd > sub.txt", "cwd": "work"},
    ]
    path = folder / f"flow.{suffix}"
    path.write_text(json.dumps({"jobs": jobs}))
    caller = tmp_path / "elsewhere"
    caller.mkdir()
    monkeypatch.chdir(caller)
    proc = run_in_process(["run", f"../flows/flow.{suffix}", "--store", str(tmp_path / "s.db"),
                           "--json"], capsys)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "here.txt").read_text().strip() == str(folder)
    assert (folder / "work" / "sub.txt").read_text().strip() == str(folder / "work")
    # a parameter is a plain value: passed as written, to a function in the caller's folder
    assert '"data/in.csv"' in proc.stdout and str(caller) in proc.stdout
