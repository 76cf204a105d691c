"""Job rows are stored in the order jobs tend to run (by depth), and read in plan order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import jobweave as jw
from jobweave.plan.compile import compile_plan
from jobweave.store import close_all, open_store
from tests import jobs


def test_lanes_are_stored_depth_by_depth() -> None:
    plan = compile_plan(jw.batch(jobs.lanes(3, 4)))
    names = [name for _, name, _, _ in plan.stored_jobs()]
    assert names[:3] == ["l0-0", "l1-0", "l2-0"]  # every lane's first job, then the second
    assert names[3:6] == ["l0-1", "l1-1", "l2-1"]
    assert sorted(i for i, _, _, _ in plan.stored_jobs()) == list(range(12))


def test_a_fan_in_waits_for_its_deepest_input() -> None:
    a = jw.job(jobs.noop, i=1, name="a")
    b = jw.job(jobs.noop, i=2, name="b", after=[a])
    c = jw.job(jobs.total, parts=jw.output([a, b]), name="c")
    d = jw.job(jobs.noop, i=3, name="d")
    plan = compile_plan(jw.batch([a, b, c, d]))
    assert [name for _, name, _, _ in plan.stored_jobs()] == ["a", "d", "b", "c"]


def test_jobs_without_dependencies_keep_their_order() -> None:
    plan = compile_plan(jw.batch([jw.job(jobs.noop, i=i) for i in range(5)]))
    assert [i for i, _, _, _ in plan.stored_jobs()] == list(range(5))


def test_an_upstream_job_given_after_its_dependent_keeps_plan_order() -> None:
    a = jw.job(jobs.noop, i=1, name="a")
    b = jw.job(jobs.noop, i=2, name="b", after=[a])
    plan = compile_plan(b)  # a joins the plan after b
    assert [name for _, name, _, _ in plan.stored_jobs()] == ["b", "a"]


def test_the_rows_are_written_by_depth_and_read_in_plan_order(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = open_store(path)
    try:
        result = jw.run(jw.batch(jobs.lanes(3, 4)), store=path)
        assert result.ok
        page = store.get_jobs(result.run_id)
        assert [j.name for j in page] == [f"l{k}-{j}" for k in range(3) for j in range(4)]
        conn = sqlite3.connect(path)
        try:
            written = [r[0] for r in conn.execute(
                "SELECT name FROM jobweave_jobs WHERE run_id = ? ORDER BY rowid",
                (result.run_id,))]
        finally:
            conn.close()
        assert written[:3] == ["l0-0", "l1-0", "l2-0"]
    finally:
        close_all()
