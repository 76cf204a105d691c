"""The kill-and-resume contract on PostgreSQL: the same schedule, fewer kills."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from jobweave.store import SqlStore, close_all, open_store
from tests.crash.conftest import Reference
from tests.crash.harness import LEFT, Children, check_final, kill_somewhere

pytestmark = [pytest.mark.crash, pytest.mark.timeout(300)]

KILLS = 4


@pytest.fixture
def pg_store(pg_store_url: str) -> Iterator[SqlStore]:
    yield open_store(pg_store_url)
    close_all()


def test_sigkill_and_resume_on_postgresql(seed: int, rng: random.Random, reference: Reference,
                                          pg_store_url: str, pg_store: SqlStore,
                                          children: Children, results_path) -> None:
    why = f"JOBWEAVE_CRASH_SEED={seed} (PostgreSQL)"
    total = len(reference.values)
    child = children.start(["submit", pg_store_url])
    started = child.line("started")
    assert started is not None, f"{why}: {child.describe()}"
    run_id = started.split()[1]
    for k in range(1, KILLS + 1):
        kill_somewhere(rng, pg_store, run_id, child, ceiling=(total - LEFT) * k // KILLS)
        assert pg_store.get_run(run_id).status == "crashed", f"{why}: after kill {k}"
        child = children.start(["submit", pg_store_url] if k % 2 == 0
                               else ["resume", pg_store_url, run_id])
    assert child.finish() == 0, f"{why}: {child.describe()}"
    assert child.line("finished") == f"finished {run_id} completed", f"{why}: {child.describe()}"
    assert [r.run_id for r in pg_store.list_runs(limit=10)] == [run_id]
    check_final(pg_store, run_id, results_path, reference.values,
                repeat_pids=children.killed_pids, why=why)
