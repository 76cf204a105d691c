"""Timers of a run loop: a job's timeout, a retry's delay; ordered by when they fire."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

TIMEOUT, RETRY = 0, 1
"""What a timer is for: a running attempt's timeout, or the delay before a retry."""


class Timers:
    """A heap of ``(when, kind, job, attempt)``; one thread owns it, so nothing is locked."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        """Breaks ties between timers set for the same moment: first set, first fired."""

    def __bool__(self) -> bool:
        return bool(self._heap)

    def add(self, when: float, kind: int, job: int, attempt: int) -> None:
        """Fire at ``when`` (a ``time.monotonic()`` reading)."""
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, kind, job, attempt))

    @property
    def next_at(self) -> float:
        """When the earliest timer fires; only meaningful while there is one."""
        return self._heap[0][0]

    def due(self, now: float) -> Iterator[tuple[int, int, int]]:
        """Take every timer due by ``now``, earliest first, as ``(kind, job, attempt)``."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, kind, job, attempt = heapq.heappop(heap)
            yield kind, job, attempt
