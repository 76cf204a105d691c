"""A running shell job's output on its page and in the API while it runs, then the
stored output once it ended (the live files gone)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.components import livetail
from tests.web.conftest import Site, wait_until

TICKER = "for i in $(seq 1 20); do echo tick-$i; sleep 0.1; done; sleep 2; echo done-ticking"
SCRIPT = (
    "import sys, jobweave as jw\n"
    "jw.run(jw.batch([jw.shell(sys.argv[2], name='ticker')], name='ticking'),"
    " store=sys.argv[1])\n"
)


def _ticks(text: str) -> int:
    return sum(line.startswith("tick-") for line in text.splitlines())


def test_a_running_shell_job_shows_its_output_so_far_then_the_stored_output(
        site: Site) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, site.store, TICKER])
    try:
        with site.client() as c:
            run_id = wait_until(lambda: next(
                (r["run_id"] for r in c.get("/api/v1/runs", params={"name": "ticking"})
                 .json()["runs"]), None))
            log = f"/api/v1/runs/{run_id}/jobs/ticker/log"
            early = wait_until(lambda: _ticks(c.get(log).text) >= 2 and c.get(log).text)
            path = livetail.live_path(run_id, "ticker", 1, "stdout")
            assert os.path.exists(path)
            job = c.get(f"/api/v1/runs/{run_id}/jobs/ticker").json()
            assert job["status"] == "running" and job["live"] is True
            assert _ticks(job["history"][-1]["stdout"]) >= 2
            page = c.get(f"/runs/{run_id}/jobs/ticker")
            assert "tick-1\n" in page.text and "live while the job runs" in page.text
            assert 'data-running="1"' in page.text
            later = wait_until(lambda: _ticks(c.get(log).text) > _ticks(early)
                               and c.get(log).text)
            assert "done-ticking" not in early and _ticks(later) > _ticks(early)
            assert proc.wait(timeout=30) == 0
            assert not os.path.exists(path)
            assert not os.path.exists(os.path.dirname(path))
            done = c.get(f"/api/v1/runs/{run_id}/jobs/ticker").json()
            assert done["status"] == "completed" and done["live"] is False
            assert done["output"]["stdout"].endswith("tick-20\ndone-ticking\n")
            assert c.get(log).text == done["output"]["stdout"]
            page = c.get(f"/runs/{run_id}/jobs/ticker")
            assert "done-ticking" in page.text and "live while" not in page.text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_live_file_names_are_safe_for_any_job_name() -> None:
    path = livetail.live_path("r1", "../a b/ü:*?", 3, "stderr")
    name = os.path.basename(path)
    assert os.path.dirname(path) == livetail.live_dir("r1")
    assert name.endswith(".a3.err") and name.replace(".", "").isalnum()
    assert path != livetail.live_path("r1", "../a b/ü:*!", 3, "stderr")


def test_a_shell_job_whose_live_file_cannot_be_written_still_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    blocker = Path(livetail.live_dir("any")).parent
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")  # where the live folders would go
    job = jw.shell("for i in 1 2 3 4 5; do echo out-$i; sleep 0.1; done", name="blocked")
    run = jw.run(jw.batch([job], name="blocked"), store=str(tmp_path / "s.db"))
    assert str(run.status) == "completed"
    assert jw.get_run(run.run_id, store=str(tmp_path / "s.db")).status == "completed"
    assert blocker.read_text() == "not a folder"
