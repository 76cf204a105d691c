"""Journal records and projection updates waiting for the commit they will share."""

from __future__ import annotations

import time
from typing import Any

GROUP_WINDOW = 0.010
"""Seconds completions of independent jobs may wait to share one commit."""
GROUP_ROWS = 64
"""Journal records that force a commit whatever the window: the most finished jobs whose
completions a crash can lose (they run again on resume), besides the jobs running then."""
START_AFTER = GROUP_WINDOW
"""Seconds a job runs before its start is journaled: one that finishes sooner gets only a
``completed`` record (which carries its start time)."""


class Pending:
    """What the next commit of one run will write.

    Sequence numbers are given when the rows are taken for a commit, so a start record
    dropped before its commit leaves no gap in the journal. Projection rows are built
    at commit time from the run's state (``dirty`` names the jobs whose row changed), so
    a job that starts and finishes between two commits costs one row, not two.
    """

    __slots__ = ("dirty", "flush_at", "rows", "run_id", "seq", "start_row", "urgent", "young")

    def __init__(self, run_id: str, next_seq: int) -> None:
        self.run_id = run_id
        self.seq = next_seq
        self.rows: list[tuple[Any, ...] | None] = []
        self.dirty: dict[int, None] = {}
        """Jobs whose projection row changed since the last commit (a dict keeps order)."""
        self.start_row: dict[int, int] = {}
        self.young: dict[int, float] = {}
        """Running jobs whose start is not journaled yet: index → monotonic start time,
        oldest first."""
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
        """Add a job's start record now, remembered so its completion can drop it."""
        self.start_row[i] = len(self.rows)
        self.row(ts, "started", node, attempt, None)

    def started_later(self, i: int, now: float) -> None:
        """Note a job's start (``now`` on the monotonic clock): it is journaled only if the
        job still runs at a commit ``START_AFTER`` seconds or more after it started."""
        self.young[i] = now

    def drop_start(self, i: int) -> None:
        """A job that finishes before its start was committed needs no start record:
        the completion carries the start time."""
        if self.young and self.young.pop(i, None) is not None:
            return
        pos = self.start_row.pop(i, None)
        if pos is not None:
            self.rows[pos] = None

    @property
    def waiting(self) -> bool:
        """Whether anything waits for a commit."""
        return bool(self.rows or self.young)

    def next_at(self) -> float:
        """When the clock alone makes a commit due (monotonic; ``inf`` for never)."""
        at = self.flush_at if self.rows else float("inf")
        if self.young:
            at = min(at, next(iter(self.young.values())) + START_AFTER)
        return at

    def due(self, now: float, idle: bool, hurry: bool = True) -> bool:
        """Whether to commit now: something waits for it (and ``hurry``: it could start
        at once), nothing runs, or time is up."""
        if self.rows and ((self.urgent and hurry) or idle or now >= self.flush_at
                          or len(self.rows) >= GROUP_ROWS):
            return True
        return bool(self.young) and next(iter(self.young.values())) + START_AFTER <= now

    def old_starts(self, now: float, everything: bool = False) -> list[int]:
        """Take the young starts that are old enough to journal (all of them with
        ``everything``), oldest first."""
        young = self.young
        if everything:
            out = list(young)
            young.clear()
            return out
        cutoff = now - START_AFTER
        out = []
        for i, at in young.items():
            if at > cutoff:
                break
            out.append(i)
        for i in out:
            del young[i]
        return out

    def take(self) -> tuple[list[tuple[Any, ...]], list[int]]:
        """The numbered journal rows and the jobs whose projection rows to write (jobs
        whose start is still young stay for a later commit), emptied for the next."""
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
        dirty = self.dirty
        young = self.young
        if young:
            self.dirty = {i: None for i in dirty if i in young}
            changed = [i for i in dirty if i not in young]
        else:
            self.dirty = {}
            changed = list(dirty)
        return numbered, changed
