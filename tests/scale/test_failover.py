"""Several engines on one PostgreSQL store: racing resumers, a killed owner, a frozen one.

Real processes on the real PostgreSQL: ``jobweave serve`` engines take over the runs of a
``jobweave run`` that was SIGKILLed or SIGSTOPped, with a 2 s lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import SqlStore, close_all, open_store
from tests.scale import helpers as h
from tests.scale.jobs import marks

pytestmark = [pytest.mark.crash, pytest.mark.timeout(180)]


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    """``defs.py:chain``: 30 marking jobs of 0.2 s, one after the other."""
    (tmp_path / "defs.py").write_text(textwrap.dedent(f"""
        from tests.scale.jobs import chain

        chain = chain({str(tmp_path / "side.log")!r}, jobs=30, seconds=0.2)
    """))
    return tmp_path / "defs.py"


def _run_under(engine: h.Proc, folder: Path, store_url: str) -> tuple[h.Proc, SqlStore, str]:
    """Once ``engine`` serves: ``jobweave run defs.py:chain`` and its run, three jobs in."""
    h.wait_until(lambda: "serving" in engine.text(), 30, "the engine to start")
    owner = h.start(folder, "run", "run", "defs.py:chain", "--store", store_url,
                    "--no-progress")
    store = open_store(store_url)
    run_id = h.wait_until(lambda: [r.run_id for r in store.list_runs()], 30, "the run")[0]
    h.wait_until(lambda: len(h.completions(store, run_id)) >= 3, 60, "three jobs done")
    return owner, store, run_id


@pytest.mark.parametrize("racers", [2, 4, 8])
def test_of_racing_resumers_exactly_one_proceeds(racers: int, pg_store_url: str,
                                                 tmp_path: Path) -> None:
    log = tmp_path / "side.log"
    engine = jw.Engine(jw.Settings(store=pg_store_url, lease=2.0))
    run_id, _ = engine.create(marks(str(log), jobs=40, seconds=0.0))
    engine.store.claim(run_id, "elsewhere:1", now=time.time() - 600)  # an owner long gone
    assert engine.store.get_run(run_id).status == "crashed"
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.scale.racer", pg_store_url, run_id,
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(racers)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr
    go.touch()  # every racer resumes at once
    results = [(p.wait(60), *p.communicate()) for p in procs]
    winners = [(p, out) for p, (code, out, _) in zip(procs, results, strict=True) if code == 0]
    assert len(winners) == 1, results
    winner, out = winners[0]
    assert out.splitlines() == ["won", "finished completed"]
    owner = f"{os.uname().nodename}:{winner.pid}"
    for p, (code, out, err) in zip(procs, results, strict=True):
        if p is not winner:  # told quietly who won: one line, no traceback
            assert (code, out.strip(), err) == (3, f"owned {owner}", ""), (code, out, err)
    store = engine.store
    assert store.get_run(run_id).status == "completed"
    assert set(h.completions(store, run_id).values()) == {1}
    assert set(h.executions(log).values()) == {1}  # the losers ran nothing
    close_all()


def test_a_killed_owner_is_taken_over_within_lease_plus_a_second(
        pg_store_url: str, tmp_path: Path, flow_file: Path) -> None:
    engine = h.serve(tmp_path, "engine", pg_store_url)
    try:
        running, store, run_id = _run_under(engine, tmp_path, pg_store_url)
        running.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        running.proc.wait(10)
        h.wait_until(lambda: store.get_run(run_id, counts=False).owner == engine.owner,
                     10, "the engine to own the run", every=0.01)
        took = time.monotonic() - killed
        assert took <= h.LEASE + 1.0, took
        h.wait_until(lambda: store.get_run(run_id, counts=False).status == "completed", 60,
                     f"the run to complete:\n{engine.describe()}")
        # a dead pid on this host, seen well before its lease ran out, and said so
        assert (f"run {run_id}: taken over from {running.owner} (its process is gone)"
                in engine.text()), engine.describe()
        (taken,) = h.takeovers(store, run_id)
        assert taken["data"] == {"owner": engine.owner, "from": running.owner,
                             "by": f"serve:{engine.owner}", "action": "take-over"}
        assert set(h.completions(store, run_id).values()) == {1}
        ran = h.executions(tmp_path / "side.log")
        assert len(ran) == 30
        assert sum(ran.values()) - 30 <= 1  # only the job running at the kill ran twice
    finally:
        h.stop(engine)
        close_all()


def _freeze_between_transactions(proc: h.Proc, pg_store_url: str, tries: int = 50) -> float:
    """SIGSTOP ``proc`` at a moment none of its connections is inside a transaction; when
    it stopped (monotonic).

    An owner frozen inside a commit holds its run's row lock until PostgreSQL ends that
    session (``idle_in_transaction_session_timeout``, 60 s: see docs/scale-out.md), so
    the takeover within lease + 1 s is only promised for a freeze between transactions.
    A freeze that lands inside one is undone and tried again a moment later."""
    import psycopg

    with psycopg.connect(pg_store_url, autocommit=True) as conn:
        for attempt in range(tries):
            proc.proc.send_signal(signal.SIGSTOP)
            stopped = time.monotonic()
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                               "application_name = %s AND state <> 'idle'",
                               (f"jobweave:{proc.pid}",)).fetchone()
            if row is not None and row[0] == 0:
                return stopped
            proc.proc.send_signal(signal.SIGCONT)
            time.sleep(0.01 * (1 + attempt % 7))
    raise AssertionError(f"{proc.describe()}\nwas inside a transaction at every freeze")


def test_a_frozen_owner_is_fenced_out_and_exits_75(pg_store_url: str, tmp_path: Path,
                                                    flow_file: Path) -> None:
    engine = h.serve(tmp_path, "engine", pg_store_url)
    frozen: h.Proc | None = None
    try:
        frozen, store, run_id = _run_under(engine, tmp_path, pg_store_url)
        stopped = _freeze_between_transactions(frozen, pg_store_url)
        try:
            h.wait_until(lambda: store.get_run(run_id, counts=False).owner == engine.owner,
                         3 * h.LEASE, "the engine to take the frozen run over", every=0.01)
            took = time.monotonic() - stopped
            assert took <= h.LEASE + 1.0, took
            time.sleep(max(0.0, stopped + 3 * h.LEASE - time.monotonic()))
        finally:
            frozen.proc.send_signal(signal.SIGCONT)
        assert frozen.proc.wait(30) == 75, frozen.describe()
        lines = frozen.err.read_text().splitlines()
        assert lines[-1] == (f"jobweave: error: lost run lease to {engine.owner}: run "
                             f"{run_id} continues there"), lines
        assert "Traceback" not in frozen.text()
        # alive but silent: its lease ran out
        assert (f"run {run_id}: taken over from {frozen.owner} (its lease ran out)"
                in engine.text()), engine.describe()
        h.wait_until(lambda: store.get_run(run_id, counts=False).status == "completed", 60,
                     f"the run to complete:\n{engine.describe()}")
        # nothing the frozen owner did after it lost the lease reached the journal
        assert set(h.completions(store, run_id).values()) == {1}
        assert len(h.completions(store, run_id)) == 30
        ran = h.executions(tmp_path / "side.log")
        assert sum(ran.values()) - 30 <= 1  # the job running at the freeze, at most
    finally:
        if frozen is not None:  # a failure leaves no process to a later test
            frozen.proc.send_signal(signal.SIGCONT)
            h.stop(frozen)
        h.stop(engine)
        close_all()
