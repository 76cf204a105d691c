"""The live-tail files a SIGKILLed process left are swept: its run's folder once the run
no longer runs, and half-written files of processes that are gone; folders of live runs
and of other stores' runs stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.components import livetail
from jobweave.engine.tails import sweep_live_tails
from jobweave.store import close_all, open_store
from tests.cli.helpers import wait_for

SCRIPT = (
    "import sys, jobweave as jw\n"
    "jw.run(jw.batch([jw.shell('echo started; sleep 60', name='sleeper')], name='killed'),"
    " store=sys.argv[1])\n"
)


def test_sweep_removes_what_a_killed_process_left_and_keeps_live_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's own live root
    store = str(tmp_path / "store.db")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, store],
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    db = open_store(store)
    try:
        run_id = wait_for(lambda: next((r.run_id for r in db.list_runs(name="killed")), None))
        left = livetail.live_path(run_id, "sleeper", 1, "stdout")
        wait_for(lambda: os.path.exists(left), what="the live file")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        wait_for(lambda: db.get_run(run_id, counts=False).status == "crashed")
        assert os.path.exists(left), "a killed process cannot clean up after itself"

        live = jw.submit(jw.sleep(30, name="nap"), store=store)
        wait_for(lambda: db.get_run(live.run_id, counts=False).status == "running")
        kept = Path(livetail.live_path(live.run_id, "nap", 1, "stdout"))
        kept.parent.mkdir(parents=True)
        kept.write_text("still running")
        exited = subprocess.Popen(["true"])  # a process that is gone
        exited.wait()
        stale = kept.parent / f"{kept.name}.{exited.pid}.1.tmp"
        stale.write_text("half written")
        ours = kept.parent / f"{kept.name}.{os.getpid()}.1.tmp"
        ours.write_text("being written")
        other = Path(livetail.live_dir("run-of-another-store")) / "x.a1.out"
        other.parent.mkdir(parents=True)
        other.write_text("not ours")

        left_behind = len(os.listdir(os.path.dirname(left)))  # its stdout (and stderr)
        assert sweep_live_tails(db) == left_behind + 1  # and the stale temp file
        assert not os.path.exists(os.path.dirname(left))
        assert kept.exists() and ours.exists() and not stale.exists()
        assert other.exists()
        live.cancel()
        assert live.wait(timeout=20).status == "cancelled"
        assert sweep_live_tails(db) == 2  # a run that ended: its folder goes
        assert not kept.parent.exists() and other.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        close_all()
