"""SQLite's WAL checkpoints, moved off the commit path while runs write.

A commit in WAL mode appends the pages it changed to the WAL; a checkpoint copies them
back into the database file and syncs it. Left to SQLite, the commit that takes the WAL
past its threshold does that work itself, inside the run loop: a run whose commits each
touch pages far apart (many lanes of jobs) spent a third of its commit time there, and
a page rewritten by a hundred commits was copied back again at every threshold.

While at least one run writes, a thread of this process checkpoints the WAL every
``INTERVAL`` seconds instead (a passive checkpoint: it never waits for, nor blocks, a
writer), with SQLite's own threshold raised to ``SAFETY_PAGES``. While commits keep
coming the WAL cannot start over (a checkpoint never catches up with the last frame), so
it grows to that threshold; the commit that crosses it copies only what this thread has
not, and the WAL starts over. On W7 (100 lanes of 100 jobs) this took the commits' own
checkpoint time from 0.09 s to 0.05 s.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

INTERVAL = 0.05
"""Seconds between the checkpoints taken while runs write."""
SAFETY_PAGES = 4000
"""WAL pages (16 MiB of 4 KiB pages) past which a committing connection checkpoints by
itself, as SQLite does at 1,000 pages by default: the backstop if this thread falls
behind."""

log = logging.getLogger("jobweave.store")


class Checkpointer:
    """Checkpoints one SQLite file from a thread that lives while writers are open."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._writers = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.passes = 0
        """Checkpoints taken so far (for tests and the benchmarks)."""

    def opened(self) -> None:
        """A writer opened: checkpoint until it closes."""
        with self._lock:
            self._writers += 1
            if self._thread is None:
                self._wake.clear()
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="jobweave-checkpoint")
                self._thread.start()

    def closed(self) -> None:
        """A writer closed; the thread takes a last checkpoint and ends with the last."""
        with self._lock:
            self._writers -= 1
            if self._writers == 0:
                self._wake.set()

    def _loop(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("checkpoints of %s left to SQLite: %s", self.path, exc)
            with self._lock:
                self._thread = None
            return
        try:
            while True:
                self._wake.wait(INTERVAL)
                with self._lock:
                    last = self._writers == 0
                    if last:
                        self._thread = None
                    else:  # a writer opened again before this thread saw the last close
                        self._wake.clear()
                self._checkpoint(conn)
                if last:
                    return
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.passes += 1
        except sqlite3.Error as exc:  # busy or gone: the next pass (or SQLite) does it
            log.debug("checkpoint of %s skipped: %s", self.path, exc)
