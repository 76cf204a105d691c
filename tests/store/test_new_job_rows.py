"""New jobs are stored pending with their names, kinds and tags, on every path."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import close_all, open_store
from jobweave.store import sqlite as sqlite_store
from tests import jobs


def _definition() -> list[jw.Job]:
    return [jw.job(jobs.noop, i=i, name=f"{'ünï ' if i % 2 else ''}job \"{i}\"",
                   tags=["etl", f"t{i}"] if i % 3 == 0 else ())
            for i in range(50)] + [jw.shell("echo hi", name="shell job")]


def _stored(url: str) -> list[tuple[int, str, str, tuple[str, ...], str]]:
    engine = jw.Engine(jw.Settings(store=url))
    run_id, _ = engine.create(_definition())
    return [(i, j.name, j.kind, j.tags, j.status)
            for i, j in enumerate(engine.store.get_jobs(run_id))]


def _expected() -> list[tuple[int, str, str, tuple[str, ...], str]]:
    return [(i, f"{'ünï ' if i % 2 else ''}job \"{i}\"", "python",
             ("etl", f"t{i}") if i % 3 == 0 else (), "pending") for i in range(50)] + [
        (50, "shell job", "shell", (), "pending")]


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_new_jobs_are_stored_pending_as_defined(store_url: str) -> None:
    try:
        assert _stored(store_url) == _expected()
    finally:
        close_all()


def test_without_sqlite_s_json_functions_rows_are_inserted_one_by_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = str(tmp_path / "store.db")
    monkeypatch.setattr(sqlite_store, "_SQL_PENDING",
                        "INSERT INTO jobweave_jobs (run_id) SELECT json_missing(?, ?)")
    try:
        assert _stored(url) == _expected()
        assert open_store(url)._json_rows is False  # type: ignore[attr-defined]
    finally:
        close_all()
