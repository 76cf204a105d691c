"""Runs on real Celery workers: jobs complete once, outputs flow, retries, routing."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobweave as jw
from jobweave.engine import Engine
from tests.celery import jobs
from tests.celery.conftest import Cluster, completions, marks, wait_for


def test_a_batch_runs_on_workers_once_each_with_outputs_retries_and_queues(
        cluster: Cluster, tmp_path: Path) -> None:
    mark = str(tmp_path / "marks")
    gpu = cluster.queue + "-gpu"
    cluster.worker(concurrency=2)
    cluster.worker(queues=gpu)
    doubles = [jw.job(jobs.double, n=n, mark=mark, name=f"d{n}") for n in range(6)]
    batch = jw.batch([*doubles, jw.job(jobs.total, values=jw.output(doubles), name="sum"),
                      jw.job(jobs.fail_once, mark=mark, retries=1, name="flaky"),
                      jw.shell("echo on-gpu", name="gpu", queue=gpu),
                      jw.sleep(0.1, name="nap")])
    engine = Engine(cluster.settings())
    result = engine.run(batch)
    assert result.status == "completed", [(j.name, j.error) for j in result.jobs]
    out = {j.name: j for j in result.jobs}
    assert out["sum"].output == 30
    assert out["flaky"].output == "second time lucky" and out["flaky"].attempts == 2
    assert "on-gpu" in out["gpu"].output["stdout"]
    # each job completed once in the journal and ran once (flaky: twice, one failure)
    assert set(completions(engine, result.run_id).values()) == {1}
    assert sorted(r[0] for r in marks(Path(mark)) if r[0].startswith("double")) == [
        f"double{n}" for n in range(6)]
    assert len(marks(Path(mark), "fail_once")) == 2
    # the jobs ran in the workers' processes, not here
    import os

    assert str(os.getpid()) not in {r[1] for r in marks(Path(mark))}
    # the gpu job went to the worker of its queue only
    with engine.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = dict(conn.exec_driver_sql(
            "SELECT slot, queue FROM jobweave_attempts WHERE run_id = %(r)s",
            {"r": result.run_id}).fetchall())
    assert rows["gpu"] == gpu and rows["d0"] == cluster.queue


def test_a_graph_runs_its_executed_nodes_on_workers(cluster: Cluster) -> None:
    from tests.graph_engine import shapes

    cluster.worker()
    engine = Engine(cluster.settings())
    result = engine.run(engine.plan(shapes.pages(3), input={}))
    assert result.status == "completed", [(j.name, j.error) for j in result.jobs]
    with engine.store.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.exec_driver_sql(
            "SELECT state, worker FROM jobweave_attempts WHERE run_id = %(r)s",
            {"r": result.run_id}).fetchall()
    # the three pages were fetched by the worker, one firing (slot) each
    assert len(rows) == 3 and all(state == "done" and worker for state, worker in rows)
    # a flow's jobs see their element and its siblings on the workers as they do here
    from tests.flows import steps

    hosts = ["db1", "db2"]
    flow = jw.flow([jw.job(steps.work, name="probe", seconds=0)], elements=hosts,
                   mode="parallel", name="probe")
    ran = engine.run(flow)
    assert {j.name: j.output for j in ran.jobs} == {
        f"probe[{h}]": {"element": h, "current": k, "first": 0, "last": 1, "count": 2}
        for k, h in enumerate(hosts)}


def test_rabbitmq_carries_the_jobs_too(rabbit_cluster: Cluster, tmp_path: Path) -> None:
    mark = str(tmp_path / "marks")
    rabbit_cluster.worker()
    doubles = [jw.job(jobs.double, n=n, mark=mark, name=f"d{n}") for n in range(3)]
    result = Engine(rabbit_cluster.settings()).run(
        jw.batch([*doubles, jw.job(jobs.total, values=jw.output(doubles), name="sum")]))
    assert result.status == "completed"
    assert {j.name: j.output for j in result.jobs}["sum"] == 6


def test_a_cancel_stops_the_job_on_its_worker(cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    cluster.worker()
    engine = Engine(cluster.settings())
    handle = engine.submit(jw.batch([jw.job(jobs.slow, seconds=60, mark=str(mark),
                                            name="slow")]))
    wait_for(lambda: len(marks(mark, "start")) == 1, what="the job to start on the worker")
    engine.store.request_cancel(handle.run_id, by="ops")
    result = handle.wait(30)
    assert result.status == "cancelled"
    # the attempt was given up in the store, and the worker stopped the job at its next
    # heartbeat instead of sleeping out its minute
    wait_for(lambda: len(marks(mark, "stopped")) == 1, what="the worker to stop the job")
    assert not marks(mark, "end")
    with engine.store.engine.connect() as conn:  # type: ignore[attr-defined]
        state = conn.exec_driver_sql(
            "SELECT state FROM jobweave_attempts WHERE run_id = %(r)s",
            {"r": result.run_id}).scalar()
    assert state == "cancelled"
    journal = [r for r in engine.store.journal(result.run_id) if r["event"] == "cancelling"]
    assert journal and journal[0]["data"]["by"] == "ops"


def test_pause_resume_and_recover_work_on_workers(cluster: Cluster, tmp_path: Path) -> None:
    mark = tmp_path / "marks"
    cluster.worker()
    engine = Engine(cluster.settings())
    first = jw.job(jobs.slow, seconds=1.5, mark=str(mark), name="first")
    batch = jw.batch([first, jw.job(jobs.double, n=2, mark=str(mark), name="then",
                                    after=[first])])
    handle = engine.submit(batch)
    wait_for(lambda: len(marks(mark, "start")) == 1, what="the first job to start")
    engine.store.request_pause(handle.run_id, by="ops")
    paused = handle.wait(30)
    # the running job finished on its worker; nothing after it started
    assert paused.status == "paused" and not marks(mark, "double")
    done = engine.resume(handle.run_id).wait(30)
    assert done.status == "completed" and {j.name: j.output for j in done.jobs} == {
        "first": "slept", "then": 4}
    assert set(completions(engine, done.run_id).values()) == {1}
    # recover as a new run: the recorded completions are reused, nothing runs again
    _, again = engine.recover(engine.journal_view(done.run_id))
    recovered = again.wait(30)
    assert recovered.status == "completed"
    assert len(marks(mark, "start")) == 1 and len(marks(mark, "double2")) == 1


def test_a_worker_imports_jobs_from_the_folder_it_was_started_in(
        cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "etl").mkdir(parents=True)
    (project / "etl" / "__init__.py").write_text("")
    (project / "etl" / "steps.py").write_text(
        "import os\n\ndef where() -> int:\n    return os.getpid()\n")
    monkeypatch.syspath_prepend(str(project))  # the engine resolves it where it runs too
    # the suite's PYTHONPATH, without the empty entry that would put the folder there anyway
    import os

    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    cluster.worker(cwd=project)
    result = Engine(cluster.settings()).run(jw.batch([jw.job("etl.steps:where", name="w")]))
    assert result.status == "completed", [(j.name, j.error) for j in result.jobs]
    assert result.jobs[0].output != os.getpid()  # it ran in the worker's process
