"""The run's owner killed mid-run: another process resumes it and adopts what the workers
were running; nothing runs twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from jobweave.engine import Engine
from tests.celery.conftest import Cluster, completions, marks, wait_for

FLOW = """\
import jobweave as jw
from tests.celery import jobs

def batch():
    slow = [jw.job(jobs.slow, seconds=3, mark={mark!r}, name=f"s{{n}}") for n in range(3)]
    return jw.batch([*slow, jw.job(jobs.double, n=5, mark={mark!r}, name="after",
                                   after=slow)])
"""


def test_a_killed_owner_s_jobs_complete_into_the_store_and_the_resume_adopts_them(
        cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    (tmp_path / "flow.py").write_text(FLOW.format(mark=str(mark)))
    cluster.worker(concurrency=3)
    env = cluster.env(PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]]))
    owner = subprocess.Popen([sys.executable, "-m", "jobweave", "run", "flow.py:batch", "-q"],
                             env=env, cwd=tmp_path, start_new_session=True)
    try:
        wait_for(lambda: len(marks(mark, "start")) == 3, what="three jobs running")
    finally:
        os.killpg(owner.pid, signal.SIGKILL)
        owner.wait()
    engine = Engine(cluster.settings())
    run_id = engine.store.list_runs()[0].run_id
    resumed = subprocess.run([sys.executable, "-m", "jobweave", "resume", run_id, "-q"],
                             env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    result = engine.result(run_id)
    assert result.status == "completed"
    # the three jobs ran once each (adopted, not sent again), then the one after them
    assert len(marks(mark, "start")) == 3 and len(marks(mark, "end")) == 3
    assert len(marks(mark, "double5")) == 1
    assert completions(engine, run_id) == {"s0": 1, "s1": 1, "s2": 1, "after": 1}
