"""A serving engine that is stopped hands its paused runs to the next one that serves.

Real ``jobweave serve`` processes on one store: the first starts a run from its trigger
and is stopped with SIGTERM part-way through; a second engine (serving no triggers, only
taking over) continues the run, and no job runs twice. A pause a user asked for is not
handed on.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jobweave.store import close_all, open_store
from jobweave.store.base import HAND_OFF
from tests.scale import helpers as h

pytestmark = [pytest.mark.crash, pytest.mark.timeout(180)]
SWEEPS = h.LEASE
"""Seconds for four takeover sweeps: an engine sweeps every heartbeat, a quarter of the
lease."""

JOBS = 20


def _definition(folder: Path) -> Path:
    (folder / "defs.py").write_text(textwrap.dedent(f"""
        import jobweave as jw
        from tests.scale.jobs import mark

        chain = jw.schedule(
            [[jw.job(mark, log={str(folder / "side.log")!r}, seconds=0.1, name=f"s{{i:03d}}")]
             for i in range({JOBS})],
            name="chain", triggers=[jw.every("1h", emit_on_start=True)])
    """))
    return folder / "side.log"


def _started(url: str, first: h.Proc) -> str:
    store = open_store(url)
    run_id: str = h.wait_until(lambda: [r.run_id for r in store.list_runs()], 30,
                               "the trigger's run")[0]
    h.wait_until(lambda: len(h.completions(store, run_id)) >= 3, 60, "three jobs done")
    return run_id


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_stopped_engine_s_run_is_continued_by_the_next_and_no_job_runs_twice(
        store_url: str, tmp_path: Path) -> None:
    url = store_url
    log = _definition(tmp_path)
    first = h.serve(tmp_path, "first", url, "defs.py:chain")
    second: h.Proc | None = None
    try:
        run_id = _started(url, first)
        h.stop(first)
        assert first.proc.returncode == 0, first.describe()
        store = open_store(url)
        record = store.get_run(run_id)
        assert record.status == "paused" and record.control == HAND_OFF, record
        done_at_stop = sum(h.completions(store, run_id).values())
        assert done_at_stop < JOBS
        shown = subprocess.run([sys.executable, "-m", "jobweave", "show", run_id, "--store",
                                url], cwd=tmp_path, capture_output=True, text=True,
                               timeout=60)
        assert shown.returncode == 0 and "handed off" in shown.stdout, shown.stderr
        second = h.serve(tmp_path, "second", url)  # no triggers: it only takes over
        h.wait_until(lambda: store.get_run(run_id).status == "completed", 60,
                     "the second engine to finish the run")
        assert "continued (paused by a serving engine that stopped)" in second.text()
        ran = h.executions(log)
        assert len(ran) == JOBS and max(ran.values()) == 1, ran  # each job ran once
        started = [r for r in store.journal(run_id) if r["event"] == "run_started"]
        assert started[-1]["data"]["action"] == "take-over"
        assert started[-1]["data"]["by"] == f"serve:{second.owner}"
        assert store.get_run(run_id).control is None
    finally:
        h.stop(first)
        if second is not None:
            h.stop(second)
        close_all()


def test_a_pause_a_user_asked_for_is_not_handed_on(store_url: str, tmp_path: Path) -> None:
    url = store_url
    _definition(tmp_path)
    first = h.serve(tmp_path, "first", url, "defs.py:chain")
    second: h.Proc | None = None
    try:
        run_id = _started(url, first)
        paused = subprocess.run([sys.executable, "-m", "jobweave", "pause", run_id,
                                 "--store", url], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert paused.returncode == 0, paused.stderr
        # stopped at once: the owner may not have read the request yet, and pauses the
        # run for its own stop as well; the user's pause wins
        h.stop(first)
        store = open_store(url)
        assert store.get_run(run_id).status == "paused"
        second = h.serve(tmp_path, "second", url)
        h.wait_until(lambda: "serving" in second.text() or "taking over" in second.text(),
                     30, "the second engine")
        time.sleep(SWEEPS)  # several sweeps of the second engine
        record = store.get_run(run_id)
        assert record.status == "paused" and record.control is None, record
    finally:
        h.stop(first)
        if second is not None:
            h.stop(second)
        close_all()


def test_pausing_a_handed_off_run_keeps_it_paused(store_url: str, tmp_path: Path) -> None:
    url = store_url
    _definition(tmp_path)
    first = h.serve(tmp_path, "first", url, "defs.py:chain")
    second: h.Proc | None = None
    try:
        run_id = _started(url, first)
        h.stop(first)
        store = open_store(url)
        assert store.get_run(run_id).control == HAND_OFF
        paused = subprocess.run([sys.executable, "-m", "jobweave", "pause", run_id,
                                 "--store", url], cwd=tmp_path, capture_output=True,
                                text=True, timeout=60)
        assert paused.returncode == 0, paused.stderr
        record = store.get_run(run_id)
        assert record.status == "paused" and record.control is None, record
        last = list(store.journal(run_id))[-1]
        assert last["event"] == "run_paused" and last["data"]["by"].startswith("cli:")
        second = h.serve(tmp_path, "second", url)
        h.wait_until(lambda: "serving" in second.text() or "taking over" in second.text(),
                     30, "the second engine")
        time.sleep(SWEEPS)
        assert store.get_run(run_id).status == "paused"
    finally:
        h.stop(first)
        if second is not None:
            h.stop(second)
        close_all()
