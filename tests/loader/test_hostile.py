"""Input built to exhaust the loader is refused quickly, in one line, with nothing stored."""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.errors import DefinitionError
from jobweave.loader import limits, load_file
from tests.jobs import add


def _laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\njobs:\n  - target: tests.jobs:add\n    params: {a: *a9}\n"


def _merge_laughs() -> str:
    # each mapping merges the one before twice: merged keys are not repeated, so it stays small
    lines = ["      m0: &m0 {k0: 0, k1: 1}"]
    lines += [f"      m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], x{i}: {i}}}" for i in range(1, 40)]
    return "jobs:\n  - target: tests.jobs:add\n    params:\n      b: 1\n      a:\n" + "\n".join(
        [line.replace("      ", "        ", 1) for line in lines]) + "\n"


HOSTILE: dict[str, tuple[str, Callable[[], str], int | None, str | None]] = {
    # id: (file name, text, line, words)
    "billion-laughs": ("laughs.yaml", _laughs, None, "aliases expand to more than"),
    "deep-json": ("deep.json", lambda: '{"jobs": [' + "[" * 100_000 + "]" * 100_000 + "]}",
                  None, f"nested deeper than {limits.MAX_DEPTH} levels"),
    "deep-yaml": ("deep.yaml", lambda: "jobs: " + "[" * 10_000 + "]" * 10_000 + "\n",
                  1, f"nested deeper than {limits.MAX_DEPTH} levels"),
    "deep-yaml-block": ("block.yaml", lambda: "jobs:\n" + "".join(
        " " * i + "-\n" for i in range(500)), limits.MAX_DEPTH + 1, "nested deeper than"),
    "long-int-yaml": ("int.yaml", lambda: "jobs:\n  - shell: echo\n    retries: " + "9" * 10_000
                      + "\n", 3, "jobs[0].retries: a number of 10000 digits"),
    "long-int-json": ("int.json", lambda: '{"jobs": [{"shell": "echo",\n"retries": '
                      + "9" * 10_000 + "}]}", 2, "jobs[0].retries: a number of 10000 digits"),
    "huge-file": ("huge.yaml", lambda: "jobs:\n" + "  - sleep: 1\n" * 100_000, None,
                  f"larger than {limits.MAX_FILE_BYTES} bytes"),
    "huge-string": ("string.yaml", lambda: 'jobs:\n  - shell: "' + "x" * 900_000 + '"\n', 2,
                    f"longer than {limits.MAX_STRING} characters"),
    "huge-json-string": ("string.json", lambda: '{"jobs": [{"shell": "' + "x" * 900_000
                         + '"}]}', 1, "jobs[0].shell: a value of 900000 characters"),
    "alias-count": ("aliases.yaml", lambda: "x: &x 1\nl: [" + ", ".join(["*x"] * 2000)
                    + "]\njobs: [{shell: echo}]\n", 2, f"more than {limits.MAX_ALIASES} aliases"),
    "merge-laughs": ("merge.yaml", _merge_laughs, None, None),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_is_refused_within_a_second(tmp_path: Path, case: str) -> None:
    name, text, line, words = HOSTILE[case]
    path = tmp_path / name
    path.write_text(text())
    started = time.process_time()
    if words is None:  # merges that double per level: loaded, at their real (small) size
        (loaded,) = load_file(str(path)).jobs
        assert sorted(loaded.params["a"]["m39"]) == sorted(
            ["k0", "k1", *(f"x{i}" for i in range(1, 40))])
    else:
        with pytest.raises(DefinitionError) as caught:
            load_file(str(path))
        err = caught.value
        assert err.path == str(path)
        assert words in str(err), str(err)
        if line is not None:
            assert err.line == line, str(err)
        assert "\n" not in str(err)
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("case", ["billion-laughs", "deep-json", "long-int-yaml", "huge-string"])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_refuses_hostile_file_with_exit_2_storing_nothing(tmp_path: Path, case: str,
                                                              command: str) -> None:
    name, text, _, words = HOSTILE[case]
    (tmp_path / name).write_text(text())
    store = tmp_path / "store.db"
    if command == "run":  # a store that exists, so "nothing stored" is something to check
        jw.run([jw.job(add, a=1, b=2)], store=str(store))
    proc = subprocess.run([sys.executable, "-m", "jobweave", command, name, "--store",
                           str(store)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"jobweave: error: {name}"), proc.stderr
    assert words is not None and words in lines[0]
    # memory stays bounded: no child of this test grew past a few hundred MB
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 400_000
    if command == "run":
        with sqlite3.connect(store) as conn:
            assert conn.execute("SELECT count(*) FROM jobweave_runs").fetchone()[0] == 1
    else:
        assert not store.exists()


@pytest.mark.parametrize("bad", ["a\nb", "tab\there", "esc\x1b[31m", "x" * 201])
def test_model_refuses_names_with_control_characters_or_too_long(bad: str) -> None:
    with pytest.raises(DefinitionError, match="name"):
        jw.job(add, name=bad)
    with pytest.raises(DefinitionError, match="name"):
        jw.shell("echo", name=bad)


def test_longest_name_is_accepted() -> None:
    assert jw.job(add, name="n" * limits.MAX_NAME).name == "n" * 200


@pytest.mark.parametrize(("written", "words"), [
    ('"a\\tb"', "must not hold control characters"),
    ('"a\\u0007b"', "must not hold control characters"),
    ("n" * 201, "at most 200 characters, got 201"),
])
def test_definition_file_refuses_bad_job_names(tmp_path: Path, written: str, words: str) -> None:
    path = tmp_path / "names.yaml"
    path.write_text(f"jobs:\n  - shell: echo\n  - shell: echo\n    name: {written}\n")
    with pytest.raises(DefinitionError) as caught:
        load_file(str(path))
    assert caught.value.line == 4 and caught.value.field == "jobs[1].name"
    assert words in caught.value.message
