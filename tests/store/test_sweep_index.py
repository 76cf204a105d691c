"""The takeover sweep finds running, pending and handed-off runs through an index."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

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
        sent: list[tuple[str, Any]] = []

        def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "jobweave_runs" in statement:
                sent.append((statement, parameters))

        event.listen(store.engine, "before_cursor_execute", seen)
        try:
            assert [o.run_id for o in store.orphans(pending_after=30)] == ["lost-1"]
        finally:
            event.remove(store.engine, "before_cursor_execute", seen)
        (statement, parameters), = sent  # the sweep's one query, as it was sent
        conn = sqlite3.connect(path)
        try:
            plan = " ".join(str(r) for r in conn.execute(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
        finally:
            conn.close()
        assert "jobweave_runs_status" in plan and "SCAN jobweave_runs" not in plan, plan
    finally:
        close_all()
