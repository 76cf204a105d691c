"""Journal records and projection updates waiting for the commit they will share."""

from __future__ import annotations

import time
from typing import Any

GROUP_WINDOW = 0.010
"""Seconds completions of independent jobs may wait to share one commit."""
GROUP_ROWS = 4096
"""Journal records that force a commit whatever the window."""


class Pending:
    """What the next commit of one run will write.

    Sequence numbers are given when the rows are taken for a commit, so a start record
    dropped before its commit leaves no gap in the journal.
    """

    __slots__ = ("flush_at", "rows", "run_id", "seq", "start_row", "updates", "urgent")

    def __init__(self, run_id: str, next_seq: int) -> None:
        self.run_id = run_id
        self.seq = next_seq
        self.rows: list[tuple[Any, ...] | None] = []
        self.updates: dict[int, tuple[Any, ...]] = {}
        self.start_row: dict[int, int] = {}
        self.urgent = False
        """True when something waits for this commit: commit now, not at the window's end."""
        self.flush_at = 0.0
        """When the oldest waiting record has waited long enough (monotonic clock)."""

    def row(self, ts: float, event: str, node: str | None, attempt: int | None,
            data: str | None) -> None:
        """Add a journal record."""
        if not self.rows:
            self.flush_at = time.monotonic() + GROUP_WINDOW
        self.rows.append((ts, event, node, attempt, data))

    def started(self, i: int, ts: float, node: str, attempt: int) -> None:
        """Add a job's start record, remembered so its completion can drop it."""
        self.start_row[i] = len(self.rows)
        self.row(ts, "started", node, attempt, None)

    def drop_start(self, i: int) -> None:
        """A job that finishes before its start was committed needs no start record:
        the completion carries the start time."""
        pos = self.start_row.pop(i, None)
        if pos is not None:
            self.rows[pos] = None

    def update(self, i: int, values: tuple[Any, ...]) -> None:
        """Set job ``i``'s projection row (the last update before a commit wins)."""
        self.updates[i] = values

    def due(self, now: float, idle: bool) -> bool:
        """Whether to commit now: something waits for it, nothing runs, or time is up."""
        return bool(self.rows) and (self.urgent or idle or now >= self.flush_at
                                    or len(self.rows) >= GROUP_ROWS)

    def take(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The numbered journal rows and the projection updates, emptied for the next."""
        rows, self.rows = self.rows, []
        self.start_row.clear()
        self.urgent = False
        seq, run_id = self.seq, self.run_id
        numbered = []
        for r in rows:
            if r is not None:
                numbered.append((run_id, seq, *r))
                seq += 1
        self.seq = seq
        updates, self.updates = list(self.updates.values()), {}
        return numbered, updates
