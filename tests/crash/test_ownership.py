"""One owner per run: two resumers after a crash, and concurrency 1 across crashes."""

from __future__ import annotations

import random
import re
import socket
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.crash import jobs
from tests.crash.conftest import Reference
from tests.crash.harness import Children, check_final, invocations, kill_somewhere

pytestmark = [pytest.mark.crash, pytest.mark.timeout(240)]


def test_two_resumers_at_once_one_proceeds_the_other_is_told_the_owner(
        seed: int, rng: random.Random, reference: Reference, store: SqlStore,
        store_path: Path, results_path: Path, tmp_path: Path, children: Children) -> None:
    why = f"JOBWEAVE_CRASH_SEED={seed}"
    total = len(reference.values)
    first = children.start(["submit", str(store_path)])
    started = first.line("started")
    assert started is not None, first.describe()
    run_id = started.split()[1]
    kill_somewhere(rng, store, run_id, first, ceiling=total // 3)
    assert store.get_run(run_id).status == "crashed"

    go = tmp_path / "go"
    both = [children.start(["submit", str(store_path), "--go", str(go)]),
            children.start(["resume", str(store_path), run_id, "--go", str(go)])]
    for c in both:
        assert c.line("ready") is not None, c.describe()
    go.touch()  # both look at the crashed run at the same moment
    codes = [c.finish() for c in both]
    assert sorted(codes) == [0, 3], f"{why}: exit codes {codes}: " + \
        " | ".join(c.describe() for c in both)
    winner, loser = (both[0], both[1]) if codes[0] == 0 else (both[1], both[0])
    assert winner.line("finished") == f"finished {run_id} completed", winner.describe()
    error = loser.line("error")
    assert error is not None, loser.describe()
    # the loser names the run and its owner: the winner, host and pid
    owner = f"{socket.gethostname()}:{winner.pid}"
    assert error.startswith("error RunOwnedError "), error
    assert re.search(rf"run {run_id} is owned by {re.escape(owner)}\b", error), error
    assert loser.line("started") is None, f"the loser ran jobs: {loser.describe()}"
    check_final(store, run_id, results_path, reference.values,
                repeat_pids=children.killed_pids, why=why)


def test_concurrency_one_resumes_after_crashes_without_losing_its_slot(
        seed: int, rng: random.Random, store: SqlStore, store_path: Path,
        results_path: Path, children: Children) -> None:
    why = f"JOBWEAVE_CRASH_SEED={seed}"
    batches, size = 4, 60
    args = ["--batches", str(batches), "--size", str(size), "--name", "crash-serial"]
    total = batches * size
    child = children.start(["submit", str(store_path), "--concurrency", "1", *args])
    started = child.line("started")
    assert started is not None, child.describe()
    run_id = started.split()[1]
    assert store.get_run(run_id).options["concurrency"] == 1
    for k in range(1, 4):
        kill_somewhere(rng, store, run_id, child, ceiling=(total - 40) * k // 4)
        assert store.get_run(run_id).status == "crashed", why
        # the schedule submitted again without a concurrency, then jobweave.resume:
        # both keep the run's stored concurrency of 1
        child = children.start(["submit", str(store_path), *args] if k % 2
                               else ["resume", str(store_path), run_id])
    assert child.finish(timeout=90) == 0, f"{why}: {child.describe()}"
    assert child.line("finished") == f"finished {run_id} completed", child.describe()
    check_final(store, run_id, results_path, jobs.expected(batches, size),
                repeat_pids=children.killed_pids, why=why)
    # one slot, in every process: no job ever ran beside another
    calls = [c for per_job in invocations(results_path).values() for c in per_job]
    assert {c.busy for c in calls} == {1}, f"{why}: jobs overlapped under concurrency 1"
    assert len({c.pid for c in calls}) >= 2
