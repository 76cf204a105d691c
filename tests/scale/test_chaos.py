"""P-3: four engines share one PostgreSQL store running 20 runs of 500 jobs, while a
random engine is SIGKILLed (and started again) every couple of seconds.

At the end every run completed, every job has exactly one ``completed`` record, nothing
is left running, and a job ran more than once only where a kill interrupted it: a kill
makes the jobs running then run again (the run's concurrency), and the completions not
yet committed (at most ``GROUP_ROWS``, the group commit's bound), so at most
(takeovers of the run) × (concurrency + GROUP_ROWS) extra executions per run.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.engine.pending import GROUP_ROWS
from jobweave.store import close_all
from tests.crash.harness import crash_seed
from tests.scale import helpers as h
from tests.scale.jobs import marks

pytestmark = [pytest.mark.crash, pytest.mark.timeout(240)]

ENGINES, RUNS, JOBS, CONCURRENCY, SECONDS = 4, 20, 500, 3, 0.12
KILLS = 6
"""At least this many engines are killed before the runs may finish."""


def test_four_engines_twenty_runs_an_engine_killed_every_few_seconds(
        pg_store_url: str, tmp_path: Path) -> None:
    seed = crash_seed()
    rng = random.Random(seed)
    why = f"JOBWEAVE_CRASH_SEED={seed}"
    log = tmp_path / "side.log"
    engine = jw.Engine(jw.Settings(store=pg_store_url, lease=h.LEASE))
    store = engine.store
    run_ids = [engine.create(marks(str(log), jobs=JOBS, seconds=SECONDS, name=f"chaos{i}",
                                   concurrency=CONCURRENCY))[0] for i in range(RUNS)]
    # pending runs no worker claims: the engines start them once 2 × lease have passed
    engines = [h.serve(tmp_path, f"engine{i}", pg_store_url) for i in range(ENGINES)]
    started = 0

    def unfinished() -> list[str]:
        return [r for r in run_ids if not store.get_run(r, counts=False).final]

    kills = 0
    began = time.monotonic()
    try:
        h.wait_until(lambda: any(store.get_run(r, counts=False).status == "running"
                                 for r in run_ids), 30, "a run to start")
        while unfinished() and time.monotonic() - began < 150:
            time.sleep(rng.uniform(1.5, 3.0))
            slot = rng.randrange(ENGINES)
            engines[slot].proc.send_signal(signal.SIGKILL)
            engines[slot].proc.wait(10)
            kills += 1
            started += 1
            engines[slot] = h.serve(tmp_path, f"engine{slot}-{started}", pg_store_url)
            if kills >= KILLS:
                break
        assert kills >= KILLS, f"{why}: the runs finished after {kills} kills"
        h.wait_until(lambda: not unfinished(), 120, f"every run to finish ({why})",
                     every=0.5)
        took = time.monotonic() - began
    finally:
        for e in engines:
            h.stop(e)
    ran = h.executions(log)
    for run_id in run_ids:
        record = store.get_run(run_id)
        assert record.status == "completed", f"{why}: {run_id} {record.status} {record.counts}"
        assert record.counts == {"completed": JOBS}, record.counts  # nothing left running
        done = h.completions(store, run_id)
        assert len(done) == JOBS and set(done.values()) == {1}, \
            f"{why}: {run_id}: {[j for j, n in done.items() if n > 1][:5]} completed twice"
        mine = {job: n for (run, job), n in ran.items() if run == run_id}
        assert len(mine) == JOBS, f"{why}: {run_id} ran {len(mine)} distinct jobs"
        extra, taken = sum(mine.values()) - JOBS, len(h.takeovers(store, run_id))
        assert extra <= taken * (CONCURRENCY + GROUP_ROWS), \
            f"{why}: {run_id}: {extra} extra executions, {taken} takeovers"
    print(f"chaos: {RUNS} runs x {JOBS} jobs, {kills} kills, {took:.1f}s, "
          f"{sum(ran.values()) - RUNS * JOBS} re-executions")
    close_all()
