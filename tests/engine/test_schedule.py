"""Schedules through the Python API: order, stopping, resubmitting, pause, changed code."""

from __future__ import annotations

import threading
import time

import pytest

import jobweave as jw
from tests import jobs
from tests.conftest import BACKENDS

pytestmark = BACKENDS


@pytest.fixture(autouse=True)
def _fresh() -> None:
    jobs.ORDER.clear()
    jobs.GATE["open"] = False


def migration(*extra: jw.Job, label: str = "s3") -> jw.Schedule:
    b1 = [jw.job("tests.jobs:step", label="s1"), jw.job("tests.jobs:step", label="s2")]
    b2 = [jw.job("tests.jobs:gated", label="g")]
    b3 = [jw.job("tests.jobs:step", label=label), *extra]
    return jw.schedule([b1, b2, b3], name="migration")


def test_batches_run_in_order_and_a_fault_stops_the_schedule(store_url: str) -> None:
    result = migration().submit(store=store_url)
    assert result.status == "failed" and result.exit_code == 1
    assert sorted(jobs.ORDER[:2]) == ["s1", "s2"] and jobs.ORDER[2:] == ["g"]
    states = {j.name: j.status for j in result.jobs}
    assert states == {"jobs.step[s1]": "completed", "jobs.step[s2]": "completed",
                      "jobs.gated[g]": "faulted", "jobs.step[s3]": "skipped"}


def test_continue_on_failure_lets_the_next_batch_start(store_url: str) -> None:
    sched = jw.schedule([jw.batch(jw.job("tests.jobs:gated", label="g"),
                                  continue_on_failure=True),
                         [jw.job("tests.jobs:step", label="after")]])
    result = jw.run(sched, store=store_url)
    assert result.job("jobs.step[after]").status == "completed"
    assert result.exit_code == 1  # the faulted job still counts


def test_submitting_again_resumes_the_same_run(store_url: str) -> None:
    sched = migration()
    first = sched.submit(store=store_url)
    jobs.GATE["open"] = True
    jobs.ORDER.clear()

    second = sched.submit(store=store_url)

    assert second.ok and second.run_id == first.run_id
    assert jobs.ORDER == ["g", "s3"]  # s1 and s2 completed before: not run again
    # the same object again: its run completed, so that result comes back, nothing runs
    jobs.ORDER.clear()
    assert sched.submit(store=store_url).run_id == first.run_id and jobs.ORDER == []
    # a new object of a completed schedule (tomorrow night's cron) starts a fresh run
    third = migration().submit(store=store_url)
    assert third.run_id != first.run_id and third.ok and len(jobs.ORDER) == 4


def test_a_new_object_resumes_the_unfinished_run_of_its_name(store_url: str) -> None:
    first = migration().submit(store=store_url)
    jobs.GATE["open"] = True
    again = migration().submit(store=store_url)  # as a fresh process would
    assert again.run_id == first.run_id and again.ok


def test_resume_by_run_id(store_url: str) -> None:
    first = jw.run(migration(), store=store_url)
    jobs.GATE["open"] = True
    jobs.ORDER.clear()
    again = jw.resume(first.run_id, store=store_url)
    assert again.ok and jobs.ORDER == ["g", "s3"]
    assert again.job("jobs.gated[g]").attempts == 2  # attempts continue across executions
    with pytest.raises(jw.RunStateError, match="already completed"):
        jw.resume(first.run_id, store=store_url)


def test_pause_then_resume(store_url: str) -> None:
    sched = jw.schedule([[jw.job("tests.jobs:slow_step", label="a")],
                         [jw.job("tests.jobs:step", label="b")]])
    started = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, jw.JobStarted):
            started.set()

    handle = jw.submit(sched, store=store_url, listeners=[on_event])
    assert started.wait(10)
    handle.pause()
    paused = handle.wait(timeout=30)
    assert paused.status == "paused" and paused.exit_code == 1
    assert jobs.ORDER == ["a"]  # the running job finished; nothing new started
    resumed = jw.resume(handle.run_id, store=store_url)
    assert resumed.ok and jobs.ORDER == ["a", "b"]


def test_pause_and_cancel_by_run_id_as_another_process_would(store_url: str) -> None:
    # the owner reads requests with its heartbeat (every second): the job outlasts one
    sched = jw.schedule([[jw.job("tests.jobs:slow_step", label="a", seconds=2.0)],
                         [jw.job("tests.jobs:step", label="b")]], name="by-id")
    started = threading.Event()
    handle = jw.submit(sched, store=store_url,
                       listeners=[lambda e: isinstance(e, jw.JobStarted) and started.set()])
    assert started.wait(10)
    # only the run id and the store: the request goes through the store to the owner
    assert jw.pause(handle.run_id, store=store_url) == "running"
    paused = handle.wait(timeout=30)
    assert paused.status == "paused" and jobs.ORDER == ["a"]
    db = jw.Engine(jw.Settings(store=store_url)).store
    record, last = db.get_run(handle.run_id), list(db.journal(handle.run_id))[-1]
    assert last["event"] == "run_paused" and record.last_seen_at == last["ts"]
    assert jw.resume(handle.run_id, store=store_url).ok and jobs.ORDER == ["a", "b"]
    with pytest.raises(jw.RunStateError):
        jw.cancel(handle.run_id, store=store_url)  # it completed: nothing to cancel

    # a run whose owner is gone is paused, or cancelled, at once
    engine = jw.Engine(jw.Settings(store=store_url))
    crashed = []
    for name in ("crashed-1", "crashed-2"):
        run_id, _ = engine.create(sched, name=name)
        engine.store.claim(run_id, "elsewhere:1", now=time.time() - 600)  # long gone
        crashed.append(run_id)
    assert jw.pause(crashed[0], store=store_url) == "paused"
    assert jw.cancel(crashed[1], store=store_url) == "cancelled"
    assert {j.status for j in engine.result(crashed[1]).jobs} == {"cancelled"}
    # a run submitted moments ago keeps the request for the worker about to claim it
    fresh, _ = engine.create(sched, name="fresh")
    assert jw.pause(fresh, store=store_url) == "pending"
    assert engine.store.get_run(fresh).pause_requested
    with pytest.raises(jw.RunNotFoundError):
        jw.pause("no-such-run", store=store_url)


def test_a_changed_definition_needs_accepting(store_url: str) -> None:
    first = jw.run(migration(), store=store_url)
    jobs.GATE["open"] = True
    changed = migration(jw.job("tests.jobs:step", label="new"), label="s3-renamed")
    with pytest.raises(jw.DefinitionChanged) as err:
        jw.resume(first.run_id, changed, store=store_url)
    assert err.value.added == ["jobs.step[s3-renamed]", "jobs.step[new]"]
    assert err.value.removed == ["jobs.step[s3]"]

    jobs.ORDER.clear()
    result = jw.resume(first.run_id, changed, store=store_url, accept_changes=True)
    assert result.ok
    assert sorted(jobs.ORDER) == ["g", "new", "s3-renamed"]  # s1, s2 kept
