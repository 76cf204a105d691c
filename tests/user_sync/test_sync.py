"""examples/user_sync end to end: a flaky API, a failed batch sent to the retry queue and
drained, a page the API refused, and an incremental sync after 50 upstream changes."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from examples.user_sync.migrate import migrate

from tests.user_sync.conftest import (
    EXAMPLE,
    env,
    execute,
    expected_rows,
    jobweave,
    rows,
    start_api,
    sync,
    sync_logs,
    written_rows,
)

USERS = 230
PAGE = 25


def test_a_flaky_api_synced_with_a_failed_batch_then_drained(tmp_path: Path, db: str) -> None:
    api = start_api(USERS, flaky=0.25, seed=11)
    want = expected_rows(api)
    # a row holding the email of user 57 under another id, and email made unique: the
    # batch holding user 57 cannot be written
    blocked = "u000057"
    execute(db, "CREATE UNIQUE INDEX users_email ON users (email)")
    execute(db, "INSERT INTO users (external_id, email, name, status) "
                "VALUES ('blocker', :email, 'x', 'x')", email=want[blocked][0])

    done = sync(tmp_path, db, api, page_size=PAGE)
    assert done.returncode == 0, done.stdout + done.stderr
    stats = api.state.stats
    assert stats["failed_500"] + stats["failed_429"] + stats["slow"] > 0, "flaky mode was on"

    written = written_rows(db)
    written.pop("blocker")
    # the failed batch: user 57's batch of 10 (batch 1 of page 3), nothing else missing
    missing = sorted(set(want) - set(written))
    assert blocked in missing and len(missing) == 10
    assert all(written[k] == want[k] for k in written), "transformed fields"
    queue = rows(db, "SELECT page, batch_num, records, status, error FROM sync_retry_queue")
    assert [q[:4] for q in queue] == [(3, 1, 10, "pending")]
    assert "users" in queue[0][4] and "email" in queue[0][4]

    (log,) = sync_logs(db)
    assert log["records"] == USERS - 10
    assert log["pages"] == math.ceil(USERS / PAGE)
    assert log["status"] == "partial"
    assert [(e["page"], e["batch_num"], e["records"]) for e in log["errors"]] == [(3, 1, 10)]
    assert 0 < log["duration"] < 120
    # every page fetched, and served once: a page is fetched again only when a try failed
    assert sorted(set(api.served_pages())) == list(range(1, math.ceil(USERS / PAGE) + 1))

    execute(db, "DELETE FROM users WHERE external_id = 'blocker'")
    drained = sync(tmp_path, db, api, graph="drain.yaml")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert written_rows(db) == want
    assert rows(db, "SELECT status FROM sync_retry_queue") == [("done",)]
    assert len(sync_logs(db)) == 1, "draining writes no sync_logs row"
    meta = rows(db, "SELECT metadata FROM users WHERE external_id = 'u000001'")[0][0]
    meta = json.loads(meta) if isinstance(meta, str) else meta
    assert meta["source"] == "users-api" and meta["original_id"] == "u000001"


def test_a_sync_that_fetched_no_page_fails_and_keeps_the_mark(tmp_path: Path, db: str) -> None:
    api = start_api(40)
    api.state.token = "another token"  # every request is a 401: not retried
    done = sync(tmp_path, db, api, page_size=50)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no page of users fetched (sync_logs: failed" in done.stdout
    assert written_rows(db) == {}
    (log,) = sync_logs(db)
    assert (log["records"], log["pages"], log["status"]) == (0, 0, "failed")
    assert [e["page"] for e in log["errors"]] == [1]
    assert "HTTP 401" in log["errors"][0]["error"]
    assert rows(db, "SELECT page, page_size, batch_num, status FROM sync_retry_queue") == [
        (1, 50, None, "pending")]
    assert rows(db, "SELECT value FROM sync_metadata") == [], "a failed sync sets no mark"

    api.state.token = "t0ken-for-the-user-sync-tests"
    drained = sync(tmp_path, db, api, graph="drain.yaml")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert written_rows(db) == expected_rows(api)
    assert rows(db, "SELECT status FROM sync_retry_queue") == [("done",)]


def test_an_incremental_sync_fetches_only_the_changed_users(tmp_path: Path, db: str) -> None:
    api = start_api(400)
    first = sync(tmp_path, db, api, page_size=100)
    assert first.returncode == 0, first.stdout + first.stderr
    assert api.served_pages() == [1, 2, 3, 4]
    changed = api.post("/admin/touch?count=50")["changed"]
    assert len(changed) == 50

    second = sync(tmp_path, db, api, page_size=20, incremental=True)
    assert second.returncode == 0, second.stdout + second.stderr
    with api.state.lock:
        incremental = [r for r in api.state.requests if r["since"] is not None]
    assert [r["page"] for r in incremental] == [1, 2, 3], "50 users in pages of 20"
    assert written_rows(db) == expected_rows(api)
    assert all(name.endswith("-Jr") for (name,) in rows(
        db, "SELECT name FROM users WHERE external_id IN ('u000001', 'u000008')"))
    full, inc = sync_logs(db)
    assert (full["records"], full["pages"]) == (400, 4)
    assert (inc["records"], inc["pages"], inc["status"]) == (50, 3, "completed")
    assert inc["sync_id"] > full["sync_id"]
    ((last,),) = rows(db, "SELECT value FROM sync_metadata WHERE key = 'last_user_sync'")
    assert incremental[0]["since"] < last, "the second sync moved the mark"

    api.state.token = "another token"  # the next sync fetches nothing: the mark stays
    third = sync(tmp_path, db, api, page_size=20, incremental=True)
    assert third.returncode == 1, third.stdout + third.stderr
    assert [log["status"] for log in sync_logs(db)] == ["completed", "completed", "failed"]
    assert rows(db, "SELECT value FROM sync_metadata WHERE key = 'last_user_sync'") == [
        (last,)]


def test_serve_starts_a_sync_from_the_file_s_hourly_trigger(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'users.db'}"
    migrate(db)
    api = start_api(120)
    shown = jobweave(tmp_path, db, "triggers", str(EXAMPLE / "sync.yaml"),
                     "--from", "2026-12-01T00:30:00Z", "--count", "2")
    assert "every 1h" in shown.stdout and "2026-12-01T02:00:00Z" in shown.stdout
    # the same file, its trigger firing once at the start instead of on the hour
    data = yaml.safe_load((EXAMPLE / "sync.yaml").read_text())
    assert data["triggers"] == [{"every": "1h", "overlap": "skip", "name": "hourly-user-sync"}]
    data["triggers"][0]["emit_on_start"] = True
    data["input"]["api"] = api.base
    served = tmp_path / "sync.yaml"
    served.write_text(yaml.safe_dump(data))
    shutil.copy(EXAMPLE / "outcome.py", tmp_path)  # its python node's target, beside it
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "serve", str(served), "--store",
                             str(tmp_path / "s.db"), "--quiet"], cwd=tmp_path, env=env(db),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not sync_logs(db) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert [log["records"] for log in sync_logs(db)] == [120], err.decode()
    assert written_rows(db) == expected_rows(api)
