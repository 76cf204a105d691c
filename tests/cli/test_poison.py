"""A job that ends its own process under the threads executor: resumes end, with a reason.

Before jobweave counted the attempts a dead owner left running, such a run could never
finish: every resume ran the job again and died with it, and no message said why.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave

pytestmark = pytest.mark.timeout(240)

DIES = 7
"""The exit status the poisonous job ends its process with."""
FLOW = f"""
import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def step(label: str) -> str:
    with open(os.path.join(HERE, "calls.txt"), "a") as f:
        f.write(label + "\\n")
    time.sleep(0.05)
    return label


def poison() -> None:
    with open(os.path.join(HERE, "calls.txt"), "a") as f:
        f.write("poison\\n")
    os._exit({DIES})


flow = jw.batch([jw.job(step, name=f"step{{k}}", label=f"step{{k}}") for k in range(4)]
                + [jw.job(poison, name="poison")], name="poisoned")
"""
RESUMES = 6
"""Resumes the run may take to end: the first execution may leave no trace of the job
(its start is group-committed), two more run it beside others, one more alone."""


def test_a_job_that_kills_its_process_is_faulted_after_bounded_resumes(
        cli_proc: Jobweave, target: Callable[..., str], db: SqlStore, tmp_path: Path) -> None:
    cli = cli_proc  # the job ends the process running it: never the test's own
    target(FLOW)
    first = cli("run", "flow.py:flow", "--no-progress")
    assert first.returncode == DIES, first.stderr
    [run] = db.list_runs()
    assert run.status == "crashed"
    codes = []
    for _ in range(RESUMES):
        p = cli("resume", run.run_id, "--no-progress")
        codes.append(p.returncode)
        if p.returncode != DIES:
            break
    assert codes[-1] == 1, f"resume exit codes {codes}; last stderr: {p.stderr}"
    assert db.get_run(run.run_id).status == "failed"
    jobs = {j.name: j for j in db.get_jobs(run.run_id)}
    assert {n: j.status for n, j in jobs.items()} == {
        **{f"step{k}": "completed" for k in range(4)}, "poison": "faulted"}
    error = jobs["poison"].error or ""
    assert error.startswith("the process running this job died 3 times while it ran"), error
    assert 'executor="processes"' in error
    # it was given up before it ran again: three deaths, three invocations after the
    # first execution's (which may have left no trace)
    calls = (tmp_path / "calls.txt").read_text().split()
    assert calls.count("poison") in (3, 4), calls
    shown = cli("show", run.run_id, "--job", "poison")
    assert shown.returncode == 0, shown.stderr
    assert "faulted" in shown.stdout
    assert "died 3 times while it ran" in " ".join(shown.stdout.split())
