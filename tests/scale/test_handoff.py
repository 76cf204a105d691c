"""A serving engine that is stopped hands its paused runs to the next one that serves.

Real ``jobweave serve`` processes on one store: the first starts a run from its trigger
and is stopped with SIGTERM part-way through; a second engine (serving no triggers, only
taking over) continues the run, and no job runs twice. A pause a user asked for is not
handed on, and a run a user recovers (stopped or killed) is not taken over beside its
recovery.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobweave.store import SqlStore, close_all, open_store
from jobweave.store.base import HAND_OFF, RunRecord
from tests.scale import helpers as h

pytestmark = [pytest.mark.crash, pytest.mark.timeout(180)]
SWEEPS = h.LEASE
"""Seconds for four takeover sweeps: an engine sweeps every heartbeat, a quarter of the
lease."""
JOBS = 40
"""Jobs of 0.1 s in the chain: enough that a pause asked by a command, under load, lands
before the chain ends."""


@dataclass
class Engines:
    """The store, the folder and the serve processes of one test (stopped after it)."""

    url: str
    folder: Path
    procs: list[h.Proc] = field(default_factory=list)

    @property
    def store(self) -> SqlStore:
        return open_store(self.url)

    def serve(self, tag: str, *targets: str) -> h.Proc:
        proc = h.serve(self.folder, tag, self.url, *targets)
        self.procs.append(proc)
        return proc

    def first_run(self) -> tuple[h.Proc, str]:
        """The first engine, serving the chain's trigger, and its run three jobs in."""
        first = self.serve("first", "defs.py:chain")
        store = self.store
        run_id: str = h.wait_until(lambda: [r.run_id for r in store.list_runs()], 30,
                                   "the trigger's run")[0]
        h.wait_until(lambda: len(h.completions(store, run_id)) >= 3, 60, "three jobs done")
        return first, run_id

    def cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "jobweave", *args, "--store", self.url],
                              cwd=self.folder, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def after_sweeps(self, run_id: str) -> tuple[h.Proc, RunRecord]:
        """A second engine (taking over only), after a few sweeps; and the run then."""
        second = self.serve("second")
        h.wait_until(lambda: "serving" in second.text() or "taking over" in second.text(),
                     30, "the second engine")
        time.sleep(SWEEPS)
        return second, self.store.get_run(run_id)


@pytest.fixture
def engines(store_url: str, tmp_path: Path) -> Iterator[Engines]:
    (tmp_path / "defs.py").write_text(textwrap.dedent(f"""
        import jobweave as jw
        from tests.scale.jobs import mark

        chain = jw.schedule(
            [[jw.job(mark, log={str(tmp_path / "side.log")!r}, seconds=0.1,
                     name=f"s{{i:03d}}")] for i in range({JOBS})],
            name="chain", triggers=[jw.every("1h", emit_on_start=True)])
    """))
    e = Engines(store_url, tmp_path)
    try:
        yield e
    finally:
        for proc in e.procs:
            h.stop(proc)
        close_all()


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_stopped_engine_s_run_is_continued_by_the_next_and_no_job_runs_twice(
        engines: Engines) -> None:
    first, run_id = engines.first_run()
    h.stop(first)
    assert first.proc.returncode == 0, first.describe()
    store = engines.store
    record = store.get_run(run_id)
    assert record.status == "paused" and record.control == HAND_OFF, record
    assert sum(h.completions(store, run_id).values()) < JOBS
    assert "handed off" in engines.cli("show", run_id)
    second = engines.serve("second")  # no triggers: it only takes over
    h.wait_until(lambda: store.get_run(run_id).status == "completed", 60,
                 "the second engine to finish the run")
    assert "continued (paused by a serving engine that stopped)" in second.text()
    ran = h.executions(engines.folder / "side.log")
    assert len(ran) == JOBS and max(ran.values()) == 1, ran  # each job ran once
    started = [r for r in store.journal(run_id) if r["event"] == "run_started"]
    assert started[-1]["data"]["action"] == "take-over"
    assert started[-1]["data"]["by"] == f"serve:{second.owner}"
    assert store.get_run(run_id).control is None


def test_a_pause_a_user_asked_for_is_not_handed_on(engines: Engines) -> None:
    first, run_id = engines.first_run()
    engines.cli("pause", run_id)
    # stopped at once: the owner may not have read the request yet, and pauses the run
    # for its own stop as well; the user's pause wins
    h.stop(first)
    assert engines.store.get_run(run_id).status == "paused"
    _, record = engines.after_sweeps(run_id)
    assert record.status == "paused" and record.control is None, record


def test_pausing_a_handed_off_run_keeps_it_paused(engines: Engines) -> None:
    first, run_id = engines.first_run()
    h.stop(first)
    store = engines.store
    assert store.get_run(run_id).control == HAND_OFF
    engines.cli("pause", run_id)
    record = store.get_run(run_id)
    assert record.status == "paused" and record.control is None, record
    last = list(store.journal(run_id))[-1]
    assert last["event"] == "run_paused" and last["data"]["by"].startswith("cli:")
    _, record = engines.after_sweeps(run_id)
    assert record.status == "paused"


@pytest.mark.parametrize(("store_url", "how"), [("sqlite", "killed"), ("postgresql", "stopped")],
                         indirect=["store_url"])
def test_a_recovered_run_is_not_taken_over_beside_its_recovery(engines: Engines,
                                                                how: str) -> None:
    first, run_id = engines.first_run()
    if how == "killed":
        first.proc.kill()
        first.proc.wait(10)
    else:
        h.stop(first)
    store = engines.store
    was = "crashed" if how == "killed" else "paused"
    assert store.get_run(run_id).status == was
    out = engines.cli("recover", run_id)
    assert "completed" in out
    record = store.get_run(run_id)
    assert record.status == "paused" and record.control is None and record.owner is None
    last = list(store.journal(run_id))[-1]
    assert last["event"] == "run_paused"
    assert last["data"]["action"] == "recover" and last["data"]["by"].startswith("cli:")
    assert last["data"]["was"] == ("crashed" if how == "killed" else "handed off")
    before = h.executions(engines.folder / "side.log")
    _, record = engines.after_sweeps(run_id)
    assert record.status == "paused" and not h.takeovers(store, run_id), record
    ran = h.executions(engines.folder / "side.log")
    assert ran == before  # the second engine ran nothing of either run
    recovered = [r for r in store.list_runs() if r.run_id != run_id]
    assert len(recovered) == 1 and recovered[0].status == "completed"
    names = {job for _, job in ran}
    assert len(names) == JOBS
    # a job runs in both only if it was running when the first engine was killed
    twice = [job for job in names if ran[(run_id, job)] and ran[(recovered[0].run_id, job)]]
    assert len(twice) <= (1 if how == "killed" else 0), twice
