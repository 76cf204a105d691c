"""Schema migrations, on SQLite and PostgreSQL: the chains build schema.py's tables, every
revision upgrades a store with data, engines started together migrate once, and the
upgrade policy (automatic, or `jobweave db upgrade`)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

import jobweave as jw
from jobweave.store import build_store, close_all, open_store
from jobweave.store import migrations as m
from jobweave.store import schema as s
from tests import jobs
from tests.cli.helpers import run_in_process
from tests.store.scripts import start


def _engine(url: str) -> Engine:
    """A plain SQLAlchemy engine on the store's database: what an older jobweave or an
    operator sees."""
    if "://" in url:
        return create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    return create_engine(f"sqlite:///{url}")


def _build_to(url: str, version: int) -> None:
    """Make the store of an older jobweave: the chain run up to ``version`` with a run in
    it, and no Alembic record (those jobweaves kept only ``schema_version``)."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            m.migrate(conn, m.revision_of(version))
            conn.execute(text("DROP TABLE jobweave_alembic_version"))
            conn.execute(text(
                "INSERT INTO jobweave_runs (run_id, name, kind, status, digest, options, "
                "total, created_at) VALUES ('old', 'from before', 'batch', 'completed', "
                "'d', '{}', 1, 1.0)"))
            conn.execute(text(
                "INSERT INTO jobweave_jobs (run_id, idx, name, kind, status, attempts) "
                "VALUES ('old', 0, 'a', 'python', 'completed', 1)"))
            conn.execute(text(
                "INSERT INTO jobweave_journal (run_id, seq, ts, event) "
                "VALUES ('old', 1, 1.0, 'submitted')"))
    finally:
        engine.dispose()


def _meta_version(url: str) -> tuple[str, str | None]:
    """The schema version in jobweave_meta, and the Alembic revision (None: no record)."""
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT value FROM jobweave_meta "
                                        "WHERE key = 'schema_version'")).scalar()
            revision = None
            if m.VERSION_TABLE in inspect(conn).get_table_names():
                revision = conn.execute(text(f"SELECT version_num FROM {m.VERSION_TABLE}")
                                        ).scalar()
    finally:
        engine.dispose()
    return str(version), revision


def test_both_chains_end_at_the_schema_version() -> None:
    for dialect in m.DIALECTS:
        assert m.script(dialect).get_current_head() == m.revision_of(s.SCHEMA_VERSION)


def test_the_chain_builds_exactly_the_tables_a_new_store_gets(empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = _engine(empty_url)
    try:
        with engine.begin() as conn:
            m.migrate(conn)
            ctx = MigrationContext.configure(conn, opts={"version_table": m.VERSION_TABLE})
            diff = compare_metadata(ctx, s.metadata)
            assert diff == []
            assert conn.execute(text("SELECT value FROM jobweave_meta "
                                     "WHERE key = 'schema_version'")).scalar() == str(
                s.SCHEMA_VERSION)
    finally:
        engine.dispose()
    # a store the chain made opens with no change, as one create_all made does
    store = open_store(empty_url)
    assert store.schema_change is None
    assert store.schema_state() == m.SchemaState(s.SCHEMA_VERSION, m.revision_of(
        s.SCHEMA_VERSION))


@pytest.mark.parametrize("version", range(1, s.SCHEMA_VERSION))
def test_every_older_schema_is_upgraded_with_its_data(empty_url: str, version: int) -> None:
    _build_to(empty_url, version)
    store = open_store(empty_url)
    assert store.schema_change == f"upgraded from {version}"
    assert _meta_version(empty_url) == (str(s.SCHEMA_VERSION),
                                        m.revision_of(s.SCHEMA_VERSION))
    old = store.get_run("old")
    assert (old.name, old.status) == ("from before", "completed")
    assert [j.name for j in store.get_jobs("old")] == ["a"]
    assert [e["event"] for e in store.journal("old")] == ["submitted"]
    assert jw.run(jw.job(jobs.noop), store=empty_url).ok  # and it works as a new one


def test_without_automatic_upgrades_an_older_store_is_refused_until_db_upgrade(
        empty_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _build_to(empty_url, 3)
    settings = jw.Settings.from_env({"JOBWEAVE_STORE": empty_url,
                                     "JOBWEAVE_AUTO_MIGRATE": "0"})
    assert settings.auto_migrate is False
    with pytest.raises(jw.StoreError) as refused:
        jw.Engine(settings)
    message = str(refused.value)
    assert "\n" not in message and "schema 3, older" in message
    assert "jobweave db upgrade" in message
    assert _meta_version(empty_url) == ("3", None)  # nothing was changed

    def db(*args: str) -> subprocess.CompletedProcess[str]:
        return run_in_process(["db", *args, "--store", empty_url], capsys)

    current = db("current")
    assert current.returncode == 0, current.stderr
    assert f"schema 3 of {s.SCHEMA_VERSION}" in current.stdout and "behind" in current.stdout
    done = db("upgrade")
    assert done.returncode == 0, done.stderr
    assert f"upgraded from 3 to {s.SCHEMA_VERSION}" in done.stdout
    again = db("upgrade")
    assert again.returncode == 0 and "already at schema" in again.stdout
    close_all()
    assert jw.Engine(settings).store.get_run("old").status == "completed"
    current = db("current", "--json")
    assert json.loads(current.stdout) == {
        "store": empty_url, "version": s.SCHEMA_VERSION,
        "revision": m.revision_of(s.SCHEMA_VERSION), "head": s.SCHEMA_VERSION,
        "current": True}


def test_an_empty_database_is_refused_without_automatic_upgrades(empty_url: str) -> None:
    with pytest.raises(jw.StoreError, match="has no jobweave tables: run `jobweave db "
                                            "upgrade`"):
        build_store(empty_url, upgrade=False)


# Opens the store once a file says go, and prints what opening it did to the schema.
OPENER = """
import json, os, sys, time
from jobweave.store import open_store

url, go = sys.argv[1], sys.argv[2]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
store = open_store(url)
print(json.dumps({"change": store.schema_change,
                  "version": store.schema_state().version}), flush=True)
"""


@pytest.mark.parametrize("older", [False, True], ids=["empty", "older"])
def test_engines_started_together_migrate_once(empty_url: str, tmp_path: Path,
                                               older: bool) -> None:
    if older:
        _build_to(empty_url, 1)
    go = tmp_path / "go"
    procs = [start(tmp_path, f"opener{i}", OPENER, empty_url, str(go)) for i in range(4)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    seen = []
    deadline = time.monotonic() + 120
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert proc.returncode == 0, err
            seen.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:  # a failed one leaves no process or pipe to a later test
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
    changes = sorted((x["change"] for x in seen), key=str)
    assert changes == [None, None, None, "upgraded from 1" if older else "created"]
    assert all(x["version"] == s.SCHEMA_VERSION for x in seen)


# Opens a store whose schema is current and says whether Alembic was imported.
CHEAP_OPEN = """
import sys
from jobweave.store import open_store

open_store(sys.argv[1]).list_runs()
print("alembic" in sys.modules, flush=True)
"""


def test_opening_a_current_store_does_not_import_alembic(empty_url: str,
                                                          tmp_path: Path) -> None:
    open_store(empty_url)
    proc = start(tmp_path, "cheap", CHEAP_OPEN, empty_url)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "False"
