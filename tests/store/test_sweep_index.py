"""The takeover sweep finds running and pending runs through an index, not a scan."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from jobweave.store import close_all, open_store
from jobweave.store import schema as s


def test_the_sweep_reads_the_status_index_and_finds_the_orphan(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = open_store(path)
    try:
        now = time.time()
        rows = [dict(run_id=f"done-{i:05d}", name="n", kind="batch", status="completed",
                     digest="d", options="{}", total=1, created_at=now - i)
                for i in range(2000)]
        rows.append(dict(run_id="lost-1", name="n", kind="batch", status="running",
                         digest="d", options="{}", total=1, created_at=now,
                         owner="elsewhere:1", heartbeat_at=now - 3600))
        with store.engine.begin() as conn:
            conn.execute(s.runs.insert(), rows)
        assert [o.run_id for o in store.orphans(pending_after=30)] == ["lost-1"]
        conn = sqlite3.connect(path)
        try:
            plan = " ".join(str(r) for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT run_id FROM jobweave_runs "
                "WHERE status IN ('running', 'pending')"))
        finally:
            conn.close()
        assert "jobweave_runs_status" in plan, plan
    finally:
        close_all()
