"""`jobweave run` and `jobweave validate` with flow definition files (`kind: flow`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli.helpers import Jobweave
from tests.cli.test_docs import EXAMPLES, _job_rows


def test_run_the_upgrade_example(cli: Jobweave, tmp_path: Path) -> None:
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work, ignore=shutil.ignore_patterns("demo-data", "__pycache__"))
    done = cli("run", str(work / "upgrade.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _job_rows(done.stdout)
    # hosts.yaml lists db1 (replica), db2 (leader), db3 (replica): the leader goes last
    order = [name for name in rows if name.startswith("drain[")]
    assert order == ["drain[db1]", "drain[db3]", "drain[db2]"]
    assert rows["restart/start[db3]"] == ("completed", "1")
    assert rows["report[db2]"] == ("completed", "1")
    assert rows["report[db1]"] == rows["report[db3]"] == ("skipped", "0")
    assert "10/12 completed, 2 skipped" in done.stdout


def test_a_bad_flow_file_exits_2_naming_its_line(cli: Jobweave, tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("kind: flow\nelements: [a, b]\nsteps:\n"
                                     "  - shell: echo hi\n    when: 'current =='\n")
    for verb in ("validate", "run"):
        done = cli(verb, "f.yaml")
        assert done.returncode == 2, done
        assert done.stderr.startswith("jobweave: error: f.yaml:5: steps[0].when: "), done.stderr
    listed = cli("list")
    assert "f.yaml" not in listed.stdout and "flow" not in listed.stdout


def test_validate_counts_a_flow_files_jobs(cli: Jobweave, tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("kind: flow\nname: f\nmode: parallel\nelements: [a, b]\n"
                                     "steps:\n  - {name: one, shell: echo 1}\n"
                                     "  - flow: {name: inner, steps: [{sleep: 0}]}\n")
    done = cli("validate", "f.yaml")
    assert done.returncode == 0, done.stderr
    assert "4 jobs (flow 'f')" in done.stdout


def test_a_flow_files_run_resumes_from_the_file(cli: Jobweave, tmp_path: Path) -> None:
    """resume loads the file again: the same definition (no digest change), and what
    completed is not run again."""
    (tmp_path / "f.yaml").write_text(
        "kind: flow\nname: gated\nelements: hosts.csv\n"
        "filter: \"element.context.up == 'yes'\"\n"
        "steps:\n  - {name: first, shell: echo first}\n"
        "  - {name: gate, shell: test -e go, when: \"{{ current == last }}\"}\n")
    (tmp_path / "hosts.csv").write_text("name,up\na,yes\nb,no\nc,yes\n")
    failed = cli("run", "f.yaml")
    assert failed.returncode == 1, failed
    assert _job_rows(failed.stdout)["gate[c]"] == ("faulted", "1")
    (tmp_path / "go").write_text("")
    resumed = cli("resume", "last")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = _job_rows(cli("show", "last").stdout)
    assert rows["first[a]"] == rows["first[c]"] == ("completed", "1")
    assert rows["gate[a]"] == ("skipped", "0")
    assert rows["gate[c]"] == ("completed", "2")
    assert "b]" not in "".join(rows)
