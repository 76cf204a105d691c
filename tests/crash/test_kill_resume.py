"""SIGKILL a process running a 2,000-job schedule at random points, resume, and check
the reliability contract: nothing completed is lost or run again, outputs match an
uninterrupted run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.crash.conftest import Reference
from tests.crash.harness import LEFT, Children, check_final, kill_somewhere

pytestmark = [pytest.mark.crash, pytest.mark.timeout(300)]

KILLS = int(os.environ.get("JOBWEAVE_CRASH_KILLS") or 16)
"""SIGKILLs of this test; the other crash tests add nine more (four on PostgreSQL), and a
SIGINT and a SIGTERM."""


def test_sigkill_at_random_points_and_resume_keeps_every_completion(
        seed: int, rng: random.Random, reference: Reference, store: SqlStore,
        store_path: Path, results_path: Path, children: Children) -> None:
    why = f"JOBWEAVE_CRASH_SEED={seed}"
    total = len(reference.values)
    child = children.start(["submit", str(store_path)])
    started = child.line("started")
    assert started is not None, f"{why}: {child.describe()}"
    run_id = started.split()[1]
    ways = []
    for k in range(1, KILLS + 1):
        # spread the kills over the whole schedule, all four batches
        kill_somewhere(rng, store, run_id, child, ceiling=(total - LEFT) * k // KILLS)
        record = store.get_run(run_id)
        # the owner's pid is gone: the lease ends at once, not after a timeout
        assert record.status == "crashed", \
            f"{why}: after kill {k} the run shows {record.status}, owner {record.owner}"
        # alternate: the schedule submitted again, and jobweave.resume(run_id)
        way = "submit" if k % 2 == 0 else "resume"
        ways.append(way)
        child = children.start(["submit", str(store_path)] if way == "submit"
                               else ["resume", str(store_path), run_id])
    assert child.finish() == 0, f"{why}: {child.describe()}"
    finished = child.line("finished")
    assert finished == f"finished {run_id} completed", f"{why}: {child.describe()}"
    assert {"submit", "resume"} <= set(ways)
    assert len(children.killed_pids) == KILLS, f"{why}: a child ended before its kill"

    # every process worked on the same run, and no other run was made
    for c in children.started:
        line = c.peek("started")
        assert line is None or line.split()[1] == run_id, f"{why}: {c.describe()}"
    assert [r.run_id for r in store.list_runs(limit=10)] == [run_id]
    check_final(store, run_id, results_path, reference.values,
                repeat_pids=children.killed_pids, why=why)
