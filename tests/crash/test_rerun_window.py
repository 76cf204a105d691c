"""SIGKILL a run of 8,000 no-op jobs half way: of the jobs it had finished, at most the
jobs running then plus one commit's worth run again on resume (docs/durability.md)."""

from __future__ import annotations

import pytest
from benchmarks.durable import _resume_once
from benchmarks.targets import RERUN_BOUND

pytestmark = [pytest.mark.crash, pytest.mark.timeout(300)]


def test_a_kill_loses_at_most_one_commit_of_finished_jobs() -> None:
    # _resume_once starts the victim (a schedule of 4 batches of ``counted`` jobs, each
    # noting its return in a file), SIGKILLs it once half the jobs are committed, resumes
    # the run in a fresh process, checks every job completed exactly once in the journal,
    # and raises if more than RERUN_BOUND finished jobs ran again
    for _ in range(2):
        figures = _resume_once(8_000)
        assert figures["status"] == "completed"
        assert 0 < figures["done_before"] < 8_000
        assert figures["ran_again"] <= RERUN_BOUND, figures["ran_again"]
