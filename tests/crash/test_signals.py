"""Ctrl-C and SIGTERM on ``jobweave run``: a clean cancel, exit 130, the run recorded
``cancelled``; a later ``jobweave.resume`` completes it without re-running anything."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.crash import jobs
from tests.crash.harness import ROOT, Children, check_final, wait_completed

pytestmark = [pytest.mark.crash, pytest.mark.timeout(180)]

TARGET = f"{ROOT / 'tests' / 'crash' / 'jobs.py'}:cli_schedule"
CLI_TOTAL = jobs.BATCHES * jobs.BATCH_SIZE
"""Jobs of ``cli_schedule``: enough that the CLI (which looks at signals every 0.05 s)
cannot finish them all before it reacts."""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_cancels_the_cli_run_cleanly_and_resume_completes_it(
        signum: signal.Signals, seed: int, rng: random.Random, store: SqlStore,
        store_path: Path, results_path: Path, children: Children) -> None:
    why = f"JOBWEAVE_CRASH_SEED={seed}"
    cli = children.start(["run", TARGET, "--store", str(store_path), "--no-progress"],
                         module="jobweave")
    started = cli.line("run ", stderr=True)
    assert started is not None and started.endswith(" started"), cli.describe()
    run_id = started.split()[1]
    wait_completed(store, run_id, rng.randint(50, CLI_TOTAL // 5), cli)
    os.kill(cli.pid, signum)
    assert cli.finish() == 130, f"{why}: {cli.describe()}"

    record = store.get_run(run_id)
    assert record.status == "cancelled", f"{why}: {record.status} {record.counts}"
    assert record.owner is None
    done = record.counts.get("completed", 0)
    assert 0 < done < CLI_TOTAL and record.counts.get("cancelled", 0) > 0, record.counts
    assert "running" not in record.counts and "pending" not in record.counts

    resumer = children.start(["resume", str(store_path), run_id])
    assert resumer.finish() == 0, f"{why}: {resumer.describe()}"
    assert resumer.line("finished") == f"finished {run_id} completed"
    # nothing was killed: every job ran exactly once, before or after the cancel
    check_final(store, run_id, results_path, jobs.expected(), repeat_pids=set(),
                why=f"{why} {signum.name}")
