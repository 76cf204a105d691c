"""SQLite's WAL is checkpointed by a thread of its own while runs write, not by commits."""

from __future__ import annotations

import threading
from pathlib import Path

import jobweave as jw
from jobweave.store import close_all, open_store
from jobweave.store.checkpoint import SAFETY_PAGES
from tests import jobs

PAGE = 4096


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "jobweave-checkpoint"]


def test_a_long_run_keeps_the_wal_small_and_the_thread_ends_with_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(str(path))
    try:
        result = jw.run(jw.batch(jobs.lanes(100, 100)), store=str(path))
        assert result.ok
        assert store.checkpoints.passes > 0  # type: ignore[attr-defined]
        wal = Path(f"{path}-wal")
        # bounded by SQLite's own threshold (a frame is a page and its 24-byte header);
        # a commit that crosses it while this thread checkpoints leaves it to the next
        assert wal.stat().st_size <= 2 * SAFETY_PAGES * (PAGE + 24)
        assert not _checkpointers(), "the checkpoint thread outlived the run"
        # every completion is in the database file's journal, read back by a new reader
        assert jw.get_run(result.run_id, store=str(path)).counts == {"completed": 10_000}
    finally:
        close_all()


def test_runs_one_after_another_each_start_the_thread_again(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    store = open_store(path)
    try:
        for _ in range(3):
            # jobs that sleep: each run lasts several of the thread's intervals
            assert jw.run([jw.job(jobs.nap, seconds=0.12), jw.job(jobs.noop)], store=path).ok
            assert not _checkpointers()  # it ended with the run, before run() returned
        assert store.checkpoints.passes >= 3  # type: ignore[attr-defined]
    finally:
        close_all()
