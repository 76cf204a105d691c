"""The docs' examples name files that exist in examples/, and the README's tour runs as
written: each command, in order, from the folder it says, with `last` naming the run the
next command expects."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobweave.store import close_all, open_store
from tests.cli.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TARGET_COMMANDS = {"run", "submit", "validate"}
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def blocks(text: str, lang: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(text) if kind == lang]


def commands(block: str) -> list[str]:
    """The commands of a console block: its lines that start with ``$ ``."""
    return [line[2:] for line in block.splitlines() if line.startswith("$ ")]


def named_files(doc: Path) -> list[tuple[str, str]]:
    """(what, file) for every file a doc's examples name: command targets, journal files
    read back, ``load_file(...)`` arguments, and ``package.module:function`` references."""
    text = doc.read_text()
    found: list[tuple[str, str]] = []
    written: set[str] = set()
    for block in blocks(text, "console"):
        for line in commands(block):
            words = shlex.split(line.split("#")[0].replace("$(", " ").replace(")", " "),
                                posix=True)
            if ">" in words:
                written.add(words[words.index(">") + 1])
            for k, word in enumerate(words[:-1]):
                if word != "jobweave":
                    continue
                verb, args = words[k + 1], [w for w in words[k + 2:] if not w.startswith("-")]
                if verb in TARGET_COMMANDS and args and args[0].isupper() is False:
                    found.append((line, args[0].split(":")[0]))
                if verb == "recover" and args and args[0].endswith(".jsonl"):
                    assert args[0] in written, f"{doc.name}: {line}: nothing wrote {args[0]}"
    for block in blocks(text, "python"):
        found += [(m.group(0), m.group(1)) for m in re.finditer(r'load_file\("([^"]+)"\)', block)]
        for m in re.finditer(r'"([a-z_][\w.]*)\.([a-z_]\w*):([a-z_]\w*)"', block):
            found.append((m.group(0), m.group(1).replace(".", "/") + f"/{m.group(2)}.py"))
    found += [(m.group(0), m.group(1)) for m in re.finditer(r"`examples/([\w./-]+)`", text)]
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_example_names_a_file_in_examples(doc: Path) -> None:
    missing = [(what, name) for what, name in named_files(doc)
               if not name.isupper() and not (EXAMPLES / name).exists()]
    assert not missing, f"{doc.name} names files that are not in examples/: {missing}"


def test_the_checker_finds_the_files_the_readme_names() -> None:
    names = {name for _, name in named_files(ROOT / "README.md")}
    assert {"orders.py", "drill.yaml", "migration/engines.py", "migration/tables.py"} <= names


def _tour(text: str) -> list[tuple[str, str]]:
    """(command, expected output) of every console command in the README's tour."""
    tour = text.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    steps: list[tuple[str, str]] = []
    for block in blocks(tour, "console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], ""))
            elif steps:
                steps[-1] = (steps[-1][0], steps[-1][1] + line + "\n")
    return steps


def _job_rows(output: str) -> dict[str, tuple[str, ...]]:
    """The job rows of the tables in an output: name -> (status or action, attempts)."""
    words = {"completed", "faulted", "skipped", "crashed", "replay", "rerun", "execute", "run"}
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) > 1 and cells[1] in words:
            rows[cells[0]] = tuple(cells[1:3]) if len(cells) > 2 and cells[2].isdigit() \
                else (cells[1],)
    return rows


@pytest.mark.crash
def test_the_readme_tour_runs_top_to_bottom(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    steps = _tour(text)
    assert steps[0][0] == "cd examples"
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("demo-data", "__pycache__"))
    # the drill's restore takes 5 s: 2 keep the test quick and still leave time to kill it
    drill = work / "drill.yaml"
    drill.write_text(drill.read_text().replace("sleep: 5", "sleep: 2"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("JOBWEAVE_STORE", None)
    cwd = tmp_path
    background: subprocess.Popen[str] | None = None
    for command, expected in steps:
        if command.startswith("cd "):
            cwd = cwd / command.split()[1]
            continue
        if command.endswith("&"):  # `jobweave run drill.yaml &`: started, then killed
            background = subprocess.Popen(shlex.split(command[:-1]), cwd=cwd, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True)
            continue
        if command.startswith("kill -9 %1"):
            assert background is not None
            db = open_store(str(cwd / ".jobweave" / "jobweave.db"))
            wait_for(lambda db=db: [r for r in db.list_runs(limit=1)  # type: ignore[misc]
                                    if r.name == "restore-drill"
                                    and r.counts.get("running") == 1
                                    and r.counts.get("completed") == 2],
                     what="the drill's second batch")
            background.kill()
            background.communicate()
            close_all()
            time.sleep(0.1)
            continue
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120)
        said = done.stdout + done.stderr
        exit_line = re.search(r"^exit (\d+)$", expected, re.M)
        if exit_line:
            assert f"exit {exit_line.group(1)}" in done.stdout, (command, said)
        elif ">" not in command:
            assert done.returncode == 0, (command, said)
        # `last` named the run the README shows: the same jobs, states and attempts
        shown = _job_rows(said)
        for name, row in _job_rows(expected).items():
            assert shown.get(name) == row, (command, name, said)
    assert (cwd / ".jobweave" / "jobweave.db").is_file()
    assert not (work / "demo-data" / ".jobweave").exists()


def test_the_readme_python_snippets_run_from_examples(tmp_path: Path) -> None:
    tour = (ROOT / "README.md").read_text().split("## A short tour", 1)[1].split("\n## ", 1)[0]
    snippets = blocks(tour, "python")
    assert len(snippets) == 2
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("demo-data", "__pycache__"))
    printed = []
    for k, code in enumerate(snippets):
        (work / f"snippet{k}.py").write_text(code)
        done = subprocess.run([sys.executable, f"snippet{k}.py"], cwd=work, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, (code, done.stderr)
        printed.append(done.stdout)
    # the first snippet prints each job as it ended; every run went to the store found here
    assert [line.split()[:3] for line in printed[0].splitlines()][2:4] == [
        ["load_table[customers]", "completed", "42"], ["load_table[orders]", "completed", "42"]]
    import jobweave as jw

    store = str(work / ".jobweave" / "jobweave.db")
    assert [(r.name, r.status) for r in jw.runs(name="migration", store=store)] == [
        ("migration", jw.RunStatus.COMPLETED)]
    close_all()
