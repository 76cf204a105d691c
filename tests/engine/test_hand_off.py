"""A run paused only because its engine stops is handed off; any other pause wins.

The runtime marks the paused run ``handoff`` in its last commit, unless someone asked it
to pause (read at a heartbeat, or still waiting in the run's row); a takeover claims it
only while the mark is there.
"""

from __future__ import annotations

import pytest

import jobweave as jw
from jobweave.errors import RunStateError
from jobweave.store import SqlStore, open_store
from jobweave.store.base import HAND_OFF
from tests import jobs


def _paused(store_url: str, *, asked_first: bool) -> tuple[SqlStore, str]:
    engine = jw.Engine(jw.Settings(store=store_url))
    nap = jw.job(jobs.nap, seconds=0.3, name="nap")
    handle = engine.submit(jw.batch([nap, jw.job(jobs.noop, name="after", after=nap)]))
    store = open_store(store_url)
    if asked_first:  # a user's request, left in the run's row for its owner
        store.request_pause(handle.run_id, by="cli:alice")
    handle.pause(by="serve:here:1", hand_off=True)
    assert handle.wait(timeout=30).status == "paused"
    return store, handle.run_id


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_pause_for_the_engine_s_stop_alone_hands_the_run_off(store_url: str) -> None:
    store, run_id = _paused(store_url, asked_first=False)
    record = store.get_run(run_id)
    assert record.control == HAND_OFF and record.handed_off
    assert [o.run_id for o in store.orphans(pending_after=60)] == [run_id]
    claim, crashed = store.take_over(run_id, "elsewhere:2", expect="handed off")
    assert not crashed and claim.epoch > 0
    assert store.get_run(run_id).control is None  # the claim clears it


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_user_s_pause_asked_before_wins_over_the_hand_off(store_url: str) -> None:
    store, run_id = _paused(store_url, asked_first=True)
    record = store.get_run(run_id)
    assert record.status == "paused" and record.control is None
    assert store.orphans(pending_after=60) == []


def test_a_takeover_finds_the_run_paused_by_a_user_meanwhile_and_leaves_it(
        store_url: str) -> None:
    store, run_id = _paused(store_url, asked_first=False)
    assert [o.run_id for o in store.orphans(pending_after=60)] == [run_id]
    store.request_pause(run_id, by="cli:alice")  # between the sweep and its claim
    with pytest.raises(RunStateError, match="no longer handed off"):
        store.take_over(run_id, "elsewhere:2", expect="handed off")
    assert store.get_run(run_id).status == "paused"
