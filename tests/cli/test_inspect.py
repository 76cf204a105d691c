"""validate, schema, show, list and RUN prefixes: looking without running."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import jobweave as jw
from jobweave.loader import json_schema
from jobweave.settings import Settings
from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave, one_error_line

FORTY = """
big = jw.batch([jw.job("tests.jobs:noop", name=f"ok{i}", i=i) for i in range(38)],
               jw.job("tests.jobs:fail", name="bad1"), jw.job("tests.jobs:fail", name="bad2"))
"""
BAD_YAML = """\
name: broken
jobs:
  - name: a
    target: tests.jobs:noop
  - name: b
    shel: echo typo
"""


def test_validate_compiles_without_storing(cli_each, target, tmp_path) -> None:
    target(FORTY)
    (tmp_path / "broken.yaml").write_text(BAD_YAML)
    ok, bad = cli_each(["validate", "flow.py:big"], ["validate", "broken.yaml"])
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: 40 jobs")
    assert bad.returncode == 2
    assert "broken.yaml:5" in one_error_line(bad.stderr)
    assert not (tmp_path / "cli.db").exists()  # validate opens no store


def test_schema_prints_the_loader_schema_exactly(cli: Jobweave) -> None:
    p = cli("schema", with_store=False)
    assert p.returncode == 0
    assert p.stdout == json.dumps(json_schema(), indent=2) + "\n"


def test_big_runs_list_their_problem_jobs_first(cli: Jobweave, cli_each, target) -> None:
    target(FORTY)
    run = cli("run", "flow.py:big")
    assert run.returncode == 1
    # 40 jobs is more than a summary lists: only the two faulted ones appear
    assert "bad1" in run.stdout and "bad2" in run.stdout and "ok1 " not in run.stdout

    short, problems = cli_each(["show", "last", "--limit", "5"], ["show", "last", "--problems"])
    assert short.returncode == 0 and problems.returncode == 0
    names = {line.split()[0] for line in short.stdout.splitlines() if line.strip()}
    assert {"ok0", "ok4", "bad1", "bad2"} <= names
    assert "ok5" not in names and "ok37" not in names
    assert "--all" in short.stdout
    names = {line.split()[0] for line in problems.stdout.splitlines() if line.strip()}
    assert {"bad1", "bad2"} <= names and "ok0" not in names


def test_run_prefixes_and_status_filters(cli: Jobweave, store: str, db: SqlStore) -> None:
    engine = jw.Engine(Settings(store=store))
    for suffix in ("aaa111", "aaa222"):
        engine.create(jw.job("tests.jobs:noop", name="n"), run_id=f"20260101-000000-{suffix}")
    done = engine.run(jw.job("tests.jobs:noop", name="n"))

    ambiguous = cli("status", "20260101-000000-aaa")
    assert ambiguous.returncode == 2
    assert "ambiguous" in one_error_line(ambiguous.stderr)

    listed = json.loads(cli("list", "--status", "pending", "--json").stdout)
    assert sorted(r["run_id"] for r in listed) == ["20260101-000000-aaa111",
                                                  "20260101-000000-aaa222"]
    assert done.run_id not in {r["run_id"] for r in listed}


def test_version_prints_the_installed_version(cli: Jobweave) -> None:
    done = cli("--version", with_store=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"jobweave {jw.__version__}"


def test_validate_counts_only_jobs_of_a_schedule(cli: Jobweave, tmp_path) -> None:
    (tmp_path / "sched.yaml").write_text(
        "kind: schedule\nbatches:\n  - jobs:\n      - sleep: 0\n        name: a\n"
        "  - jobs:\n      - sleep: 0\n        name: b\n      - sleep: 0\n        name: c\n")
    done = cli("validate", "sched.yaml", with_store=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 3 jobs (schedule"), done.stdout


def test_list_fits_an_80_column_terminal(store: str, tmp_path) -> None:
    engine = jw.Engine(Settings(store=store))
    made = [engine.run(jw.job("tests.jobs:noop", name="n"), name=name).run_id
            for name in ("a-rather-long-run-name-for-a-nightly-migration", "short")]
    env = {**os.environ, "COLUMNS": "80"}
    p = subprocess.run([sys.executable, "-m", "jobweave", "list", "--store", store],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for run_id in made:  # ids and states are whole: a long name folds instead
        (row,) = [line for line in lines if run_id in line]
        assert "completed" in row
    assert "short" in p.stdout


DETAILED = """
def boom():
    raise ValueError("bad value in row 7")

flow = jw.batch(jw.job(boom, name="boom"), jw.job("tests.jobs:noop", name="load[orders]"),
                jw.shell("echo to-stdout; echo to-stderr >&2; exit 3", name="sh"),
                jw.shell("printf 'a\\\\nb\\\\n'", name="ok-sh"))
"""


def test_show_job_prints_one_job_in_full(cli: Jobweave, cli_each, target) -> None:
    target(DETAILED)
    assert cli("run", "flow.py:flow", "--quiet").returncode == 1
    boom, exact, sh, ok_sh, many, missing = cli_each(
        ["show", "last", "--job", "boom"], ["show", "last", "-j", "load[orders]"],
        ["show", "last", "-j", "sh"], ["show", "last", "-j", "ok-sh"],
        ["show", "last", "-j", "*", "--json"], ["show", "last", "-j", "nothing*"])
    # the whole traceback, not only its last line
    assert boom.returncode == 0, boom.stderr
    assert "Traceback (most recent call last)" in boom.stdout
    assert 'raise ValueError("bad value in row 7")' in boom.stdout
    # a name with brackets is a name, not a character class
    assert exact.returncode == 0 and "load[orders]" in exact.stdout
    assert "completed" in exact.stdout and "boom" not in exact.stdout
    # a faulted shell job keeps what it wrote; a completed one shows its streams as text
    assert "--- stdout ---\nto-stdout" in sh.stdout and "to-stderr" in sh.stdout
    assert re.search(r"^exit status\s+0\s*$", ok_sh.stdout, re.M)
    assert "stdout\na\nb\n" in ok_sh.stdout
    listed = json.loads(many.stdout)
    assert [j["name"] for j in listed] == ["boom", "load[orders]", "sh", "ok-sh"]
    assert listed[2]["status"] == "faulted" and "to-stdout" in listed[2]["error"]
    assert missing.returncode == 2
    assert "no job of run" in one_error_line(missing.stderr)


def test_show_problems_of_a_run_that_completed_prints_only_the_note(cli: Jobweave,
                                                                    target) -> None:
    target("fine = jw.batch(jw.job('tests.jobs:noop', name='a'), "
           "jw.job('tests.jobs:noop', name='b'))\n")
    assert cli("run", "flow.py:fine", "--quiet").returncode == 0
    shown = cli("show", "last", "--problems")
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if line.strip()]
    assert lines[-1] == "every job completed"
    # no table: neither its header nor its rule, only the run's header above the note
    assert not any(line.split()[0] in ("job", "a", "b") or line.startswith("─")
                   for line in lines), shown.stdout
    assert lines[0].split()[0] == "run"


def test_token_list_says_there_are_none_on_stderr(cli: Jobweave) -> None:
    empty, as_json = cli("token", "list"), cli("token", "list", "--json")
    assert empty.returncode == 0 and as_json.returncode == 0
    assert empty.stdout == "" and empty.stderr == "no tokens\n"
    assert json.loads(as_json.stdout) == [] and as_json.stderr == ""
    assert cli("token", "create", "--name", "ci").returncode == 0
    listed = cli("token", "list")
    assert listed.stderr == "" and listed.stdout.rstrip().endswith("viewer    ci")


def test_piped_tables_end_their_lines_without_padding(cli: Jobweave, store: str) -> None:
    done = jw.Engine(Settings(store=store)).run(
        jw.batch(jw.job("tests.jobs:noop", name="a-rather-long-job-name"),
                 jw.job("tests.jobs:fail", name="b")))
    for args in (["show", done.run_id], ["list"], ["show", done.run_id, "--job", "b"]):
        out = cli(*args).stdout
        lines = out.splitlines()
        assert len(lines) > 2, args
        assert [ln for ln in lines if ln != ln.rstrip(" ")] == [], args
    assert "a-rather-long-job-name" in cli("show", done.run_id).stdout
