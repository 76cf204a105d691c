"""The CLI's plain formatting: times, durations and a crashed run's figures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobweave.cli.render import counts_text, duration, run_duration, short_moment
from jobweave.store import RunRecord


def record(**fields: object) -> RunRecord:
    base: dict[str, object] = dict(
        run_id="r", name="n", kind="batch", status="running", source=None, digest="d",
        options={}, total=3, created_at=0.0, started_at=100.0, finished_at=None,
        exit_code=None, owner="h:1", heartbeat_at=105.0, control=None, parent_run=None)
    base.update(fields)
    return RunRecord(**base)  # type: ignore[arg-type]


def test_short_moment_drops_what_the_reader_knows() -> None:
    now = time.mktime((2026, 11, 25, 18, 0, 0, 0, 0, -1))
    earlier_today = time.mktime((2026, 11, 25, 9, 5, 7, 0, 0, -1))
    this_year = time.mktime((2026, 3, 2, 9, 5, 7, 0, 0, -1))
    last_year = time.mktime((2025, 12, 31, 23, 59, 0, 0, 0, -1))
    assert short_moment(earlier_today, now) == "09:05:07"
    assert short_moment(this_year, now) == "03-02 09:05"
    assert short_moment(last_year, now) == "2025-12-31"


def test_a_stopped_run_stops_its_clock() -> None:
    assert run_duration(record(status="crashed", last_seen_at=107.5)) == 7.5
    assert run_duration(record(status="paused", last_seen_at=103.0)) == 3.0
    assert run_duration(record(status="completed", finished_at=110.0)) == 10.0
    assert run_duration(record(started_at=None)) is None
    running = run_duration(record(started_at=time.time() - 2))
    assert running is not None and running >= 2


def test_counts_name_interrupted_jobs_and_durations_read_short() -> None:
    assert counts_text({"completed": 1, "interrupted": 1, "pending": 1}, 3) == \
        "1/3 completed, 1 interrupted, 1 pending"
    assert [duration(s) for s in (None, 0.421, 12.34, 245, 7380)] == \
        ["", "0.42s", "12.3s", "4m05s", "2h03m"]


JOBS = '''
import jobweave as jw


def ok():
    return 1


def broken():
    raise ValueError("no")


fine = jw.batch([jw.job(ok, name=f"ok{i}") for i in range(40)])
failing = jw.batch([jw.job(ok, name="ok"), jw.job(broken, name="broken")])
'''


@pytest.mark.parametrize(("target", "code"), [("fine", 0), ("failing", 1)])
def test_a_reader_that_goes_away_leaves_the_run_s_exit_code(tmp_path: Path, target: str,
                                                            code: int) -> None:
    (tmp_path / "jobs.py").write_text(JOBS)
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "run", f"jobs.py:{target}",
                             "--store", str(tmp_path / "s.db"), "--no-progress"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head` that read nothing: every write of the table fails
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == code, err
    assert "Traceback" not in err and "BrokenPipe" not in err
