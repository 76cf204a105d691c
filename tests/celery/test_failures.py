"""Real kills of real workers: each job still completes exactly once in the journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jobweave as jw
from jobweave.engine import Engine
from jobweave.engine.handle import RunHandle
from jobweave.executors.celery_app import TASK, make_app
from tests.celery import jobs
from tests.celery.conftest import LEASE, SWEEP, Cluster, completions, marks, wait_for

REDISPATCH = LEASE + SWEEP + 1.0
"""The bound on re-dispatching a lost attempt; a loaded machine gets some slack on top."""
SLACK = 3.0


def _start(cluster: Cluster, batch: jw.Batch) -> tuple[Engine, RunHandle]:
    engine = Engine(cluster.settings())
    return engine, engine.submit(batch)


def _pid_running(mark: Path, n: int = 1) -> int:
    rows = wait_for(lambda: len(marks(mark, "start")) >= n and marks(mark, "start"),
                    what=f"start {n}")
    return int(rows[n - 1][1])


def test_a_killed_pool_child_is_dispatched_again_as_a_new_attempt(
        cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    cluster.worker()
    engine, handle = _start(cluster, jw.batch([jw.job(jobs.slow, seconds=2, mark=str(mark),
                                                      name="slow")]))
    child = _pid_running(mark)
    os.kill(child, signal.SIGKILL)
    killed = time.time()
    again = float(marks(mark, "start")[1][2]) if wait_for(
        lambda: len(marks(mark, "start")) >= 2, what="a second start") else 0.0
    assert again - killed <= REDISPATCH + SLACK
    result = handle.wait(60)
    assert result.status == "completed"
    assert result.jobs[0].attempts == 2 and completions(engine, result.run_id) == {"slow": 1}


def _owner(cluster: Cluster, pid: int) -> tuple[subprocess.Popen[bytes],
                                                 subprocess.Popen[bytes]]:
    """The worker whose pool runs ``pid``, and the other one."""
    one, two = cluster.procs
    return (one, two) if pid in cluster.children(one) else (two, one)


def _slow_on_one_of_two(cluster: Cluster, mark: Path, seconds: float) -> tuple[
        Engine, RunHandle, subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """Two workers, one slow job: the engine, the run, the job's worker and the other."""
    cluster.worker()
    cluster.worker()
    engine, handle = _start(cluster, jw.batch([jw.job(jobs.slow, seconds=seconds,
                                                      mark=str(mark), name="slow")]))
    return engine, handle, *_owner(cluster, _pid_running(mark))


def test_a_killed_worker_is_replaced_by_another_within_the_lease(
        cluster: Cluster, tmp_path: Path) -> None:
    # the broker would give the message back only after its visibility timeout (an hour)
    mark = tmp_path / "marks"
    engine, handle, victim, other = _slow_on_one_of_two(cluster, mark, 3)
    os.killpg(victim.pid, signal.SIGKILL)
    killed = time.time()
    wait_for(lambda: len(marks(mark, "start")) >= 2, what="a second start")
    assert float(marks(mark, "start")[1][2]) - killed <= REDISPATCH + SLACK
    assert int(marks(mark, "start")[1][1]) in cluster.children(other)
    result = handle.wait(60)
    assert result.status == "completed" and completions(engine, result.run_id) == {"slow": 1}


def test_duplicate_and_stale_messages_run_nothing(cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    cluster.worker()
    engine = Engine(cluster.settings())
    result = engine.run(jw.batch([jw.job(jobs.double, n=1, mark=str(mark), name="d")]))
    assert result.status == "completed"
    with engine.store.engine.connect() as conn:  # type: ignore[attr-defined]
        attempt, = conn.exec_driver_sql(
            "SELECT attempt FROM jobweave_attempts WHERE run_id = %(r)s",
            {"r": result.run_id}).one()
    app = make_app(cluster.settings())
    try:
        # the same attempt delivered again (its token is spent), and a made-up token
        for token in ("a-spent-token", str(uuid.uuid4())):
            for _ in range(2):
                app.send_task(TASK, (result.run_id, "d", attempt, token, LEASE),
                              queue=cluster.queue)
    finally:
        app.close()
    wait_for(lambda: cluster.logs().count("stale or duplicate delivery") >= 4,
             what="four refused deliveries")
    assert len(marks(mark, "double1")) == 1
    assert completions(engine, result.run_id) == {"d": 1}


def test_a_frozen_worker_is_fenced_out_and_the_job_completes_elsewhere_once(
        cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    engine, handle, frozen, other = _slow_on_one_of_two(cluster, mark, 4)
    os.killpg(frozen.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: len(marks(mark, "start")) >= 2, what="a start elsewhere")
        assert int(marks(mark, "start")[1][1]) in cluster.children(other)
        result = handle.wait(60)
    finally:
        os.killpg(frozen.pid, signal.SIGCONT)
    assert result.status == "completed" and completions(engine, result.run_id) == {"slow": 1}
    # woken, the frozen worker finds its lease gone (at its next heartbeat, or at its
    # completion when the job's own sleep ran out while it was frozen): nothing recorded
    wait_for(lambda: "lost its lease" in cluster.logs() or "fenced out" in cluster.logs(),
             what="the frozen worker's fenced completion")
    with engine.store.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.exec_driver_sql(
            "SELECT attempt, state FROM jobweave_attempts WHERE run_id = %(r)s",
            {"r": result.run_id}).one()
    assert tuple(row) == (2, "done")


def test_a_job_that_kills_its_worker_each_time_ends_faulted_worker_lost(
        cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    cluster.worker()
    engine = Engine(cluster.settings())
    result = engine.run(jw.batch([jw.job(jobs.poison, mark=str(mark), name="poison"),
                                  jw.job(jobs.double, n=2, mark=str(mark), name="fine")]))
    by = {j.name: j for j in result.jobs}
    assert by["fine"].status == "completed"
    assert by["poison"].status == "faulted"
    assert (by["poison"].error or "").startswith("worker_lost:")
    assert by["poison"].attempts == 3 and len(marks(mark, "poison")) == 3


def _cli(cluster: Cluster, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobweave", *args], env=cluster.env(**env),
                          capture_output=True, text=True, timeout=60)


def test_settings_that_cannot_work_are_refused_before_the_run(
        cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(
        "import jobweave as jw\n"
        "def hello():\n    return 1\n"
        "def batch():\n    return jw.batch([jw.job(hello, timeout=7200)])\n")
    sqlite = _cli(cluster, "run", "flow.py:batch", "--store", str(tmp_path / "s.db"))
    assert sqlite.returncode == 2 and "PostgreSQL store" in sqlite.stderr
    assert len(sqlite.stderr.strip().splitlines()) == 1
    vt = _cli(cluster, "run", "flow.py:batch")
    assert vt.returncode == 2 and "visibility timeout" in vt.stderr
    nobroker = _cli(cluster, "run", "flow.py:batch", JOBWEAVE_BROKER="")
    assert nobroker.returncode == 2 and "needs a broker" in nobroker.stderr
    assert "(or --broker)" not in nobroker.stderr  # run takes no such option
    # nothing was stored
    assert "no runs" in _cli(cluster, "list").stdout.lower() or _cli(
        cluster, "list").stdout.strip() == ""
