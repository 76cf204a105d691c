"""A run's history as its journal tells it: each job's attempts, and the run's executions.

The projection keeps a job's last state only; the journal keeps every attempt (its
error, what it printed) and every execution of the run (a resume starts another).
These folds read journal records as :meth:`RunReads.journal` yields them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ENDS = {"completed": "completed", "retrying": "faulted, retried", "faulted": "faulted",
        "cancelled": "cancelled"}
"""Journal events that end an attempt, and how the attempt reads."""
ATTEMPT_EVENTS = ("started", "captured", *ENDS)
"""The journal events of a job's attempts."""
SEGMENT_EVENTS = ("run_started", "run_finished", "run_paused", "pausing", "cancel_requested")
"""The journal events that open and close a run's executions."""
REQUESTS = {"cancelling": "cancel", "cancel_requested": "cancel", "pausing": "pause",
            "run_paused": "pause", "run_started": "resume", "completed": "mark-completed"}
"""Journal events that can answer a request made of the run, and the request. Each says
who asked in its data (``{"by": ...}``); a ``run_paused``, ``run_started`` or
``completed`` record without it answers no request (an owner pausing, a first start, a
job run)."""
MARKED = '{"by": '
"""How the data of a ``completed`` record marked by hand begins (``by`` comes first),
so the store can pick those out of a run's completions without decoding them."""
TAKEN_OVER = '{"replayed_from":'
"""How the data of a graph run's ``fired`` record begins when a recovery took the firing
over from the run it recovered (``replayed_from`` comes first): the firing was not fired
in this run, and the store can count those without decoding records."""


def requested(event: str, data: dict[str, Any] | None) -> tuple[str, str | None] | None:
    """The request a journal record answers and who made it, or None if it answers none.

    A resume's ``run_started`` names the request (``resume``, ``retry-failed``,
    ``fire-now``) under ``action``.
    """
    what = REQUESTS.get(event)
    if what is None:
        return None
    by = (data or {}).get("by")
    if by is None and event in ("run_paused", "run_started", "completed"):
        return None
    if event == "run_started":
        what = str((data or {}).get("action") or what)
    return what, None if by is None else str(by)


@dataclass(slots=True)
class Attempt:
    """One attempt of one job, in one execution of its run."""

    number: int
    execution: int
    """Which execution of the run made it: 1 for the first, 2 after a resume, ..."""
    status: str
    """completed, ``faulted, retried``, faulted, cancelled, running, or interrupted (its
    run's owner stopped while it ran)."""
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def as_dict(self) -> dict[str, Any]:
        return {"attempt": self.number, "execution": self.execution, "status": self.status,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "duration": self.duration, "error": self.error, "stdout": self.stdout,
                "stderr": self.stderr}


def attempts_of(records: Iterable[dict[str, Any]], *, live: bool) -> dict[str, list[Attempt]]:
    """Every job's attempts, oldest first, from its journal records and the run's
    ``run_started`` records (in journal order).

    An attempt still open when the next execution started, or at the end of a run that
    is not ``live``, was interrupted.
    """
    jobs: dict[str, list[Attempt]] = {}
    open_: dict[tuple[str, int], Attempt] = {}
    execution = 0
    for r in records:
        event, node, number = r["event"], r.get("node"), r.get("attempt")
        if event == "run_started":
            execution += 1
            for a in open_.values():
                a.status = "interrupted"
            open_.clear()
            continue
        if node is None or number is None or (event not in ATTEMPT_EVENTS):
            continue
        data = r.get("data") or {}
        found = open_.get((node, number))
        if found is None:
            if event == "cancelled":  # a job cancelled while it waited: no attempt ran
                continue
            a = open_[(node, number)] = Attempt(number, max(execution, 1), "running")
            jobs.setdefault(node, []).append(a)
        else:
            a = found
        if event == "started":
            a.started_at = r["ts"]
        elif event == "captured":
            a.stdout, a.stderr = data.get("stdout", ""), data.get("stderr", "")
            # when the attempt really began (a start record says when it was dispatched)
            a.started_at = data.get("started", a.started_at)
        else:
            a.status = ENDS[event]
            a.finished_at = r["ts"]
            a.error = data.get("error")
            if a.started_at is None:
                a.started_at = data.get("started")
            del open_[(node, number)]
    if not live:
        for a in open_.values():
            a.status = "interrupted"
    return jobs


def segments(records: Iterable[dict[str, Any]]) -> list[tuple[int, float, int | None,
                                                              float | None]]:
    """The run's executions as (start seq, start ts, end seq, end ts), from its
    :data:`SEGMENT_EVENTS` records in order.

    An execution ends with its owner's ``run_finished`` or ``run_paused``. One whose
    owner died has no end of its own: its end seq is then the record before the next
    execution, or before a cancel or pause another process wrote for the orphaned run,
    with an unknown ts (None), for the reader to look up; None when nothing followed.
    """
    out: list[tuple[int, float, int | None, float | None]] = []
    start: tuple[int, float] | None = None
    pausing = False
    for r in records:
        event, seq, ts = r["event"], r["seq"], r["ts"]
        if event == "run_started":
            if start is not None:
                out.append((*start, seq - 1, None))
            start, pausing = (seq, ts), False
        elif start is None:
            continue
        elif event == "pausing":
            pausing = True
        elif event == "run_finished" or (event == "run_paused" and pausing):
            out.append((*start, seq, ts))
            start = None
        elif event in ("cancel_requested", "run_paused"):
            # written by another process: the owner was gone, its execution ended before
            out.append((*start, seq - 1, None))
            start = None
    if start is not None:
        out.append((*start, None, None))
    return out


def active_time(spans: Iterable[tuple[float, float | None]], *,
                open_end: float | None = None) -> float:
    """The sum of the executions' spans; an execution with no end runs to ``open_end``
    (now when None)."""
    total = 0.0
    for began, ended in spans:
        end = ended if ended is not None else (time.time() if open_end is None else open_end)
        total += max(0.0, end - began)
    return total
