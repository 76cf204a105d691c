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
from urllib.parse import quote

INTERVAL = 0.05
"""Seconds between the checkpoints taken while runs write."""
IDLE_INTERVAL = 1.0
"""The longest wait between checkpoints while the writers write nothing."""
JOIN_SECONDS = 5.0
"""How long the last writer's close waits for the thread to end (a checkpoint under way)."""
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
        self._stop: threading.Event | None = None
        self.passes = 0
        """Checkpoints taken so far (for tests and the benchmarks)."""
        self._copied = -1
        """Frames the last checkpoint had copied back (SQLite's count since the WAL began)."""

    def opened(self) -> None:
        """A writer opened: checkpoint until the last one closes."""
        with self._lock:
            self._writers += 1
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._loop, args=(self._stop,),
                                                daemon=True, name="jobweave-checkpoint")
                self._thread.start()

    def closed(self) -> None:
        """A writer closed. With the last, the thread stops, and this waits for it: once
        a run has returned, nothing of this process touches the store's files."""
        with self._lock:
            self._writers -= 1
            if self._writers:
                return
            thread, stop = self._thread, self._stop
            self._thread = self._stop = None  # a writer opening now starts a new thread
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(JOIN_SECONDS)

    def _loop(self, stop: threading.Event) -> None:
        try:
            # read-write, never create: a store file deleted meanwhile is not made again
            conn = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True, timeout=0,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning("checkpoints of %s left to SQLite: %s", self.path, exc)
            return
        wait = INTERVAL
        try:
            while not stop.wait(wait):
                # runs whose jobs take long write little: look less often until they do
                wait = INTERVAL if self._checkpoint(conn) else min(IDLE_INTERVAL, wait * 2)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """Take one passive checkpoint; whether it copied any page."""
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # busy or gone: the next pass (or SQLite) does it
            log.debug("checkpoint of %s skipped: %s", self.path, exc)
            return False
        self.passes += 1
        # (busy, frames in the WAL, frames copied): nothing copied since the last pass
        # shows as the same count of copied frames
        copied = row is not None and row[2] != self._copied
        self._copied = -1 if row is None else row[2]
        return copied
