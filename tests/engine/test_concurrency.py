"""A run's concurrency limit bounds how many jobs run at once."""

from __future__ import annotations

import pytest

import jobweave as jw
from tests import jobs


@pytest.mark.parametrize("limit", [1, 3])
def test_no_more_jobs_run_at_once_than_the_limit(store_url: str, limit: int,
                                                 request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    seconds = 0.02 if limit == 1 else 0.1  # long enough that the slots fill up
    result = jw.run([jw.job(jobs.counted, key=key, seconds=seconds) for _ in range(12)],
                    store=store_url, concurrency=limit)
    assert result.ok and len(result.jobs) == 12
    assert jobs.MOST[key] <= limit
    # each job sleeps while counted, so the limit is also reached
    assert jobs.MOST[key] == limit


def test_without_a_limit_jobs_run_side_by_side(store_url: str,
                                              request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    result = jw.run([jw.job(jobs.counted, key=key, seconds=0.2) for _ in range(6)],
                    store=store_url)
    assert result.ok
    assert jobs.MOST[key] == 6


def test_a_limit_above_the_worker_count_is_honoured(store_url: str,
                                                   request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    result = jw.run([jw.job(jobs.counted, key=key, seconds=0.3) for _ in range(24)],
                    store=store_url, workers=2, concurrency=20)
    assert result.ok
    assert 2 < jobs.MOST[key] <= 20


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_bad_concurrency_is_refused(store_url: str, bad: object) -> None:
    from jobweave.store import open_store

    with pytest.raises(jw.DefinitionError, match="concurrency"):
        jw.run(jw.job(jobs.noop), store=store_url, concurrency=bad)  # type: ignore[arg-type]
    assert open_store(store_url).list_runs() == []
