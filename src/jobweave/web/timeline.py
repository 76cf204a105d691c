"""A run's timeline: an SVG Gantt of a bounded window of jobs, drawn on the server.

One bar per attempt (retries show as separate bars, coloured by how each ended). Jobs
that share a box on the graph page (``fetch-*``) and number more than :data:`FOLD` in the
window fold into one row spanning them, labelled with the min / median / max duration.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from jobweave.store import SqlStore
from jobweave.web.graph import group_key

WINDOW = 500
"""Jobs in one window, at most."""
FOLD = 50
ROW_H, LABEL_W, WIDTH = 22, 220, 1000


@dataclass(slots=True)
class Bar:
    x: float
    w: float
    state: str
    title: str


@dataclass(slots=True)
class Row:
    label: str
    bars: list[Bar] = field(default_factory=list)
    note: str = ""


@dataclass(slots=True)
class Timeline:
    rows: list[Row]
    start: float
    end: float
    ticks: list[tuple[float, str]]
    next_after: float | None
    height: int


_ATTEMPT_STATE = {"completed": "completed", "faulted, retried": "retried",
                  "faulted": "faulted", "cancelled": "cancelled", "running": "running",
                  "interrupted": "interrupted"}


def build(store: SqlStore, run_id: str, *, live: bool, now: float, tz: str = "UTC",
          after: float | None = None, window: int = WINDOW) -> Timeline:
    """The timeline of the ``window`` jobs that started first (after start time ``after``)."""
    spans = store.timeline_window(run_id, after=after, limit=window + 1)
    more = len(spans) > window
    spans = spans[:window]
    names = [s.name for s in spans]
    attempts = store.attempts(run_id, names, live=live) if names else {}
    intervals: dict[str, list[tuple[float, float, str, int]]] = {}
    for span in spans:
        tries = attempts.get(span.name) or []
        got = [(a.started_at, a.finished_at if a.finished_at is not None else now,
                _ATTEMPT_STATE.get(a.status, a.status), a.number)
               for a in tries if a.started_at is not None]
        if not got and span.started_at is not None:
            got = [(span.started_at, span.finished_at or now, span.status, span.attempts)]
        intervals[span.name] = got
    flat = [i for v in intervals.values() for i in v]
    start = min((i[0] for i in flat), default=now)
    end = max((i[1] for i in flat), default=now)
    scale = (WIDTH - LABEL_W - 10) / max(end - start, 1e-3)

    def bar(a: float, b: float, state: str, title: str) -> Bar:
        return Bar(LABEL_W + (a - start) * scale, max(2.0, (b - a) * scale), state, title)

    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(group_key(name), []).append(name)
    rows: list[Row] = []
    done: set[str] = set()
    for name in names:
        key = group_key(name)
        if name in done:
            continue
        members = groups[key]
        if len(members) > FOLD:
            done.update(members)
            got = [i for m in members for i in intervals[m]]
            durations = [b - a for a, b, _, _ in got]
            row = Row(f"{key} ×{len(members)}", note=(
                f"min {min(durations):.2f}s · median {statistics.median(durations):.2f}s · "
                f"max {max(durations):.2f}s") if durations else "")
            states = {s for _, _, s, _ in got}
            worst = next((s for s in ("faulted", "running", "retried", "cancelled")
                          if s in states), "completed")
            if got:
                row.bars.append(bar(min(a for a, *_ in got), max(b for _, b, *_ in got),
                                    worst, f"{key}: {len(members)} jobs"))
            rows.append(row)
            continue
        done.add(name)
        row = Row(name)
        for a, b, state, number in intervals[name]:
            row.bars.append(bar(a, b, state, f"{name} attempt {number}: {state}, "
                                             f"{b - a:.2f}s"))
        rows.append(row)
    return Timeline(rows, start, end, _ticks(start, end, scale, tz),
                    spans[-1].started_at if more and spans else None,
                    30 + ROW_H * len(rows))


def _ticks(start: float, end: float, scale: float, tz: str) -> list[tuple[float, str]]:
    zone = ZoneInfo(tz)
    out = []
    for k in range(6):
        t = start + (end - start) * k / 5
        stamp = datetime.fromtimestamp(t, zone).strftime("%H:%M:%S.%f")[:-4]
        out.append((LABEL_W + (t - start) * scale, stamp))
    return out
