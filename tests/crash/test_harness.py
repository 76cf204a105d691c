"""The contract checks themselves catch what they are meant to catch."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from jobweave.store import SqlStore
from tests.crash.conftest import Reference
from tests.crash.harness import check_final

pytestmark = [pytest.mark.crash, pytest.mark.timeout(120)]


def _execute(results: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(results)
    with conn:
        conn.execute(sql, args)
    conn.close()


def test_the_uninterrupted_run_passes(reference: Reference, copied: SqlStore,
                                      results_path: Path) -> None:
    check_final(copied, reference.run_id, results_path, reference.values, repeat_pids=set(),
                why="reference")


@pytest.mark.parametrize("attempt", [1, 2])
def test_an_invocation_after_the_completion_is_caught(
        attempt: int, reference: Reference, copied: SqlStore, results_path: Path) -> None:
    job = "b2-j0007"
    _execute(results_path, "INSERT INTO invocations (job, token, attempt, pid, ts, busy) "
             "VALUES (?, ?, ?, ?, ?, 1)", job, f"{reference.run_id}/{job}/{attempt}", attempt,
             1, time.time())
    with pytest.raises(AssertionError, match=f"{job}.*after"):
        check_final(copied, reference.run_id, results_path, reference.values,
                    repeat_pids={1}, why="planted")


def test_a_second_invocation_in_a_live_process_is_caught(
        reference: Reference, copied: SqlStore, results_path: Path) -> None:
    job = "b0-j0100"
    _execute(results_path, "UPDATE invocations SET id = -id WHERE job = ?", job)
    _execute(results_path, "INSERT INTO invocations (job, token, attempt, pid, ts, busy) "
             "VALUES (?, ?, 1, 1, 0, 1)", job, f"{reference.run_id}/{job}/e2.a1")
    _execute(results_path, "UPDATE invocations SET id = -id + 1000000 WHERE job = ? AND id < 0",
             job)
    with pytest.raises(AssertionError, match="more than once in a process that did not crash"):
        check_final(copied, reference.run_id, results_path, reference.values, repeat_pids=set(),
                    why="planted")


def test_a_wrong_result_is_caught(reference: Reference, copied: SqlStore,
                                  results_path: Path) -> None:
    _execute(results_path, "UPDATE results SET value = value + 1 WHERE job = 'b3-j0499'")
    with pytest.raises(AssertionError, match="results table differs"):
        check_final(copied, reference.run_id, results_path, reference.values, repeat_pids=set(),
                    why="planted")
