"""Opening SQLite stores: foreign or newer files are refused and left untouched."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import close_all, open_store
from jobweave.store.schema import SCHEMA_VERSION
from tests import jobs


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def _sqlite(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 20)
    before = _snapshot(path)
    with pytest.raises(jw.StoreError, match="not an SQLite file") as info:
        open_store(str(path))
    assert str(path) in str(info.value)
    assert _snapshot(path) == before


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(jw.StoreError, match="is a directory"):
        open_store(str(tmp_path))


def test_an_sqlite_file_with_foreign_tables_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    _sqlite(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
            "INSERT INTO customers (name) VALUES ('ada'), ('grace')")
    before = _snapshot(path)
    with pytest.raises(jw.StoreError) as info:
        open_store(str(path))
    assert "not a jobweave database" in str(info.value)
    assert "customers" in str(info.value)
    close_all()
    assert _snapshot(path) == before
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 2
    finally:
        conn.close()


def test_a_store_from_a_newer_jobweave_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    jw.run(jw.job(jobs.noop), store=str(path))
    close_all()
    _sqlite(path, f"UPDATE jobweave_meta SET value = '{SCHEMA_VERSION + 1}' "
                  "WHERE key = 'schema_version'")
    before = _snapshot(path)
    with pytest.raises(jw.StoreError) as info:
        open_store(str(path))
    text = str(info.value)
    assert f"schema {SCHEMA_VERSION + 1}" in text and f"({SCHEMA_VERSION})" in text
    assert "upgrade jobweave" in text
    close_all()
    assert _snapshot(path) == before


def test_a_file_claimed_by_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    _sqlite(path, "CREATE TABLE jobweave_meta (key TEXT PRIMARY KEY, value TEXT)",
            "INSERT INTO jobweave_meta VALUES ('app', 'someone-else')")
    before = _snapshot(path)
    with pytest.raises(jw.StoreError, match="not a jobweave database"):
        open_store(str(path))
    close_all()
    assert _snapshot(path) == before


def test_jobweave_tables_without_a_version_record_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    _sqlite(path, "CREATE TABLE jobweave_runs (run_id TEXT)")
    with pytest.raises(jw.StoreError, match="no version record"):
        open_store(str(path))


@pytest.mark.parametrize("url", ["mysql://user@host/db", "redis://127.0.0.1/0",
                                 "http://example.invalid/store", "sqlite:///"])
def test_an_unknown_or_empty_url_is_refused(url: str) -> None:
    with pytest.raises(jw.StoreError) as info:
        open_store(url)
    if url != "sqlite:///":
        scheme = url.split(":", 1)[0]
        assert f"unknown store URL scheme {scheme!r}" in str(info.value)


def test_an_unknown_url_fails_a_run_before_anything_happens() -> None:
    with pytest.raises(jw.StoreError, match="unknown store URL scheme"):
        jw.run(jw.job(jobs.noop), store="mongodb://localhost/jobs")
    assert os.listdir(".") == []  # no default store was made on the side


def test_a_new_store_is_created_in_wal_mode_with_its_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "store.db"
    url = f"sqlite:///{path}"
    result = jw.run(jw.job(jobs.noop), store=url)
    assert path.exists()
    close_all()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = dict(conn.execute("SELECT key, value FROM jobweave_meta").fetchall())
        assert meta == {"app": "jobweave", "schema_version": str(SCHEMA_VERSION)}
        assert conn.execute("SELECT status FROM jobweave_runs WHERE run_id = ?",
                            (result.run_id,)).fetchone() == ("completed",)
    finally:
        conn.close()
    # the plain path and the URL name the same store
    assert open_store(str(path)).get_run(result.run_id).status == "completed"


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    result = jw.run(jw.job(jobs.noop), store=str(path))
    assert open_store(str(path)).get_run(result.run_id).status == "completed"


def test_the_switch_to_wal_waits_for_a_process_that_holds_the_file(tmp_path: Path) -> None:
    # SQLite refuses the switch at once ("database is locked") while another connection
    # writes, instead of waiting as it does for a transaction: seen when several
    # processes open a new store together, one still writing its tables
    import threading
    import time

    path = tmp_path / "s.db"
    open_store(str(path)).list_runs()
    close_all()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        assert other.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE jobweave_meta SET value = value")
        ends = threading.Timer(0.4, other.execute, ("COMMIT",))
        ends.start()
        began = time.monotonic()
        store = open_store(str(path))
        assert time.monotonic() - began >= 0.3  # it waited for the writer
        assert store.list_runs() == []
        ends.join()
        check = sqlite3.connect(path)
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        check.close()
    finally:
        close_all()
        other.close()
