"""The hot path: outcomes handled on the worker's thread, and which starts are journaled."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

import jobweave as jw
from jobweave.engine.pending import START_AFTER
from jobweave.store import open_store
from tests import jobs

THREADS: list[int] = []


def link(prev: int | None = None) -> int:
    """A chain link that notes the thread it ran on."""
    THREADS.append(threading.get_ident())
    return (prev or 0) + 1


def test_a_chain_stays_on_one_worker_thread(store_url: str) -> None:
    # the worker that finishes a link commits it and runs the next one itself: no
    # hand-off to the run loop and back for each link
    THREADS.clear()
    links = [jw.job(link)]
    for _ in range(199):
        links.append(jw.job(link, prev=jw.output(links[-1])))
    result = jw.run(jw.batch(links), store=store_url)
    assert result.ok and result.jobs[-1].output == 200
    moves = sum(1 for a, b in itertools.pairwise(THREADS) if a != b)
    # a few links may go through the loop (it wakes for timers and commits of its own)
    assert moves < 50, f"{moves} of 199 links changed threads"


def _events(store_url: str, run_id: str) -> list[tuple[str | None, str]]:
    return [(r["node"], r["event"]) for r in open_store(store_url).journal(run_id)]


def test_short_jobs_get_no_start_record(store_url: str) -> None:
    # layers of jobs each waiting for two of the layer before: nearly every completion
    # is some job's last input and is committed at once, while other jobs run
    width = 20
    layers = [[jw.job(jobs.noop, i=i) for i in range(width)]]
    for _ in range(14):
        before = layers[-1]
        layers.append([jw.job(jobs.noop, i=i, after=[before[i], before[(i + 1) % width]])
                       for i in range(width)])
    result = jw.run(jw.batch(layers), store=store_url)
    assert result.ok
    events = _events(store_url, result.run_id)
    assert sum(1 for _, e in events if e == "completed") == 300
    # a job that finished before it had run START_AFTER leaves only its completion,
    # which carries the start time
    assert sum(1 for _, e in events if e == "started") < 100
    for job in result.jobs:
        assert job.started_at is not None and job.started_at <= job.finished_at


def test_a_running_job_has_its_start_journaled_while_it_runs(store_url: str) -> None:
    seen: list[list[tuple[str | None, str]]] = []

    def look(event: object) -> None:
        if isinstance(event, jw.JobFinished) and event.job == "quick":
            # "slow" has run for 0.3 s by now: its start must be in the store already
            time.sleep(START_AFTER * 5)
            seen.append(_events(store_url, run_id[0]))

    run_id: list[str] = []
    handle = jw.submit(jw.batch(jw.job(jobs.nap, seconds=0.6, name="slow"),
                                jw.job(jobs.nap, seconds=0.3, name="quick")),
                       store=store_url, listeners=[look])
    run_id.append(handle.run_id)
    result = handle.wait(timeout=30)
    assert result.ok
    assert ("slow", "started") in seen[0] and ("slow", "completed") not in seen[0]
    final = _events(store_url, result.run_id)
    assert final.index(("slow", "started")) < final.index(("slow", "completed"))
    assert final.count(("slow", "started")) == 1


def test_a_failed_attempt_keeps_its_start_record(store_url: str) -> None:
    result = jw.run(jw.job(jobs.fail, name="bad"), store=store_url)
    assert not result.ok
    events = [e for n, e in _events(store_url, result.run_id) if n == "bad"]
    assert events == ["started", "faulted"]


UNCOMMITTED: list[str] = []
"""Lane jobs that found their input's completion not yet in the store when they started."""


def lane_step(store: str, before: str | None, prev: int | None, context: jw.Context) -> int:
    """A lane's job: checks that the completion it is fed was committed before it started."""
    if before is not None:
        (state,) = open_store(store).job_states_by_name(context.run_id, {before})
        if state[1] != "completed":
            UNCOMMITTED.append(context.job)
    return (prev or 0) + 1


def test_lanes_commit_in_groups_while_every_slot_is_busy(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every completion in a lane is its next job's last input. With more lanes ready than
    # slots, that next job would only queue, so the completion waits for company (up to
    # GROUP_ROWS records or GROUP_WINDOW) instead of committing alone each pass; and it is
    # still committed before its next job starts.
    from jobweave.store.writer import Writer

    sizes: list[int] = []
    commit = Writer.commit

    def counted(self: Writer, rows: Any, updates: Any) -> None:
        sizes.append(len(rows))
        commit(self, rows, updates)

    monkeypatch.setattr(Writer, "commit", counted)
    UNCOMMITTED.clear()
    lanes, length, concurrency = 40, 20, 2
    all_jobs = []
    for k in range(lanes):
        before = None
        for j in range(length):
            name = f"lane{k}-{j}"
            prev = jw.output(all_jobs[-1]) if before is not None else None
            all_jobs.append(jw.job(lane_step, name=name, store=store_url, before=before,
                                   prev=prev))
            before = name
    result = jw.run(jw.batch(all_jobs), store=store_url, concurrency=concurrency)
    assert result.ok and [j.output for j in result.jobs] == list(range(1, length + 1)) * lanes
    assert UNCOMMITTED == []
    # committing per pass would give commits of at most `concurrency` completions
    assert max(sizes) > 4 * concurrency, sizes
    assert len(sizes) < lanes * length // 2, sizes
