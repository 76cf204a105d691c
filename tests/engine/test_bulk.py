"""Bulk phases: the collector waits, and what a phase built goes to the oldest generation."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import jobweave as jw
from jobweave.engine.bulk import PROMOTE_AFTER, gc_paused
from tests import jobs


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector enabled, with nothing of this test's process frozen."""
    was = gc.isenabled()
    gc.enable()
    gc.collect()
    try:
        yield
    finally:
        gc.unfreeze()
        if not was:
            gc.disable()


def _in_oldest(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects(generation=2))


def test_a_phase_holds_off_collections_and_promotes_what_it_built(collector: None) -> None:
    collections = [s["collections"] for s in gc.get_stats()]
    with gc_paused():
        assert not gc.isenabled()
        built = [[i] for i in range(PROMOTE_AFTER * 2)]
        assert [s["collections"] for s in gc.get_stats()] == collections
    assert gc.isenabled()
    assert gc.get_count()[0] < PROMOTE_AFTER  # nothing left for the young collections
    assert _in_oldest(built[0]) and _in_oldest(built[-1])
    assert gc.get_freeze_count() == 0


def test_a_small_phase_leaves_the_generations_alone(collector: None) -> None:
    with gc_paused():
        few = [[i] for i in range(100)]
    assert not _in_oldest(few[0])


def test_objects_the_process_froze_stay_frozen(collector: None) -> None:
    kept = [[i] for i in range(1000)]
    gc.freeze()
    frozen = gc.get_freeze_count()
    with gc_paused():
        built = [[i] for i in range(PROMOTE_AFTER * 2)]
    assert gc.get_freeze_count() == frozen
    assert not _in_oldest(built[0])  # left to the young collections, as before
    assert kept and gc.isenabled()


def test_nested_phases_enable_the_collector_once_at_the_end(collector: None) -> None:
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_run_leaves_the_collector_as_it_found_it(collector: None, tmp_path: object) -> None:
    batch = jw.batch([jw.job(jobs.echo, value=i) for i in range(200)])
    result = jw.run(batch, store=f"{tmp_path}/s.db")
    assert result.ok and [j.output for j in result.jobs][:3] == [0, 1, 2]
    assert gc.isenabled() and gc.get_freeze_count() == 0
