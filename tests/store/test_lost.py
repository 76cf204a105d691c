"""Counting the attempts a dead owner left running, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket

import jobweave as jw
from jobweave.store import SqlStore, owner_id
from tests import jobs

DEAD = f"{socket.gethostname()}:999999999"
"""An owner on this host whose pid cannot exist: the lease ends at once."""


def _lost(store: SqlStore, run_id: str) -> dict[str, int]:
    return {row[0]: row[-1] for row in store.job_states(run_id) if row[-1]}


def _set(store: SqlStore, run_id: str, index: int, status: str, attempts: int) -> None:
    store.commit(run_id, [], [(status, attempts, None, None, 1.0, None, run_id, index)])


def test_a_crash_counts_one_lost_attempt_per_running_job_once(backend_url: str,
                                                              store: SqlStore) -> None:
    engine = jw.Engine(jw.Settings(store=backend_url))
    run_id, _ = engine.create([jw.job(jobs.noop, name=n) for n in ("a", "b", "c")])
    store.claim(run_id, DEAD)
    _set(store, run_id, 0, "running", 1)
    _set(store, run_id, 1, "completed", 1)
    assert store.get_run(run_id).status == "crashed"

    assert store.mark_interrupted(run_id)
    assert _lost(store, run_id) == {"a": 1}
    assert [j.status for j in store.get_jobs(run_id)] == ["pending", "completed", "pending"]
    # a second look at the same crash (a resumer that lost the race) counts nothing more
    assert store.mark_interrupted(run_id)
    assert _lost(store, run_id) == {"a": 1}

    # the next execution dies while "a" runs again
    store.claim(run_id, DEAD)
    _set(store, run_id, 0, "running", 2)
    assert store.mark_interrupted(run_id)
    assert _lost(store, run_id) == {"a": 2}

    # a live owner's running jobs are not lost
    store.claim(run_id, owner_id())
    _set(store, run_id, 0, "running", 3)
    assert not store.mark_interrupted(run_id)
    assert _lost(store, run_id) == {"a": 2}

    # a job that ended faulted starts afresh when its run is resumed
    _set(store, run_id, 0, "faulted", 3)
    assert not store.mark_interrupted(run_id)
    assert _lost(store, run_id) == {}


def test_pausing_a_crashed_run_counts_its_interrupted_jobs(backend_url: str,
                                                           store: SqlStore) -> None:
    engine = jw.Engine(jw.Settings(store=backend_url))
    run_id, _ = engine.create([jw.job(jobs.noop, name=n) for n in ("a", "b")])
    store.claim(run_id, DEAD)
    _set(store, run_id, 1, "running", 1)
    assert store.request_pause(run_id).status == "paused"
    assert _lost(store, run_id) == {"b": 1}
    # the resume of the paused run finds no dead owner: nothing is counted twice
    assert not store.mark_interrupted(run_id)
    assert _lost(store, run_id) == {"b": 1}
