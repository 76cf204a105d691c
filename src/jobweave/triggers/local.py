"""Local wall-clock times to instants, with jobweave's rules for DST changes.

A calendar trigger names local times ("02:30 in Europe/Warsaw"). Twice a year such a
time is not one instant:

- **It does not exist** (clocks jump forward over it): it fires once, at the first
  instant after the gap, the moment the clocks jump. 02:30 in Europe/Warsaw on
  2026-03-29 fires at 03:00 CEST = 01:00 UTC. Several local times inside one gap
  (``*/15 2 * * *``) are that same instant, so they fire once together.
- **It happens twice** (clocks fall back over it): it fires once, at the first
  occurrence. 02:30 in Europe/Warsaw on 2026-10-25 fires at 02:30 CEST = 00:30 UTC, and
  not again at 02:30 CET = 01:30 UTC.

The mapping keeps the order of local times, so a day's fires are in time order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 9 * 366 + 7
"""How far a search looks for a matching day (a 29 February can be eight years away)."""
_DAY = timedelta(days=1)
_SLACK = timedelta(hours=3)  # more than any DST shift


def instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant the local ``day`` ``at`` fires at in ``zone`` (see module doc)."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=1 reads it with the offset after the change (an instant before the
    # change), fold=0 with the offset before it (an instant after): the change is between.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        mid = mid.replace(microsecond=0)
        if mid <= low:
            break
        if mid.astimezone(zone).utcoffset() == before:
            low = mid
        else:
            high = mid
    return high


def next_local(matches: Callable[[date], bool], times: Sequence[time], zone: ZoneInfo,
               after: datetime) -> datetime | None:
    """The first instant strictly after ``after`` of ``times`` on days that match."""
    naive = after.astimezone(zone).replace(tzinfo=None)
    day = naive.date()
    start = bisect_left(times, naive.time())
    for _ in range(MAX_DAYS):
        if matches(day):
            for at in times[start:]:
                fire = instant(day, at, zone)
                if fire > after:
                    return fire
        day += _DAY
        start = 0
    return None


def prev_local(matches: Callable[[date], bool], times: Sequence[time], zone: ZoneInfo,
               before: datetime) -> datetime | None:
    """The last instant at or before ``before`` of ``times`` on days that match."""
    local = before.astimezone(zone)
    naive = local.replace(tzinfo=None)
    if local.fold:  # in a repeated hour: later local times may still be first occurrences
        naive += _SLACK
    day = naive.date()
    end = bisect_right(times, naive.time())
    for _ in range(MAX_DAYS):
        if matches(day):
            for at in reversed(times[:end]):
                fire = instant(day, at, zone)
                if fire <= before:
                    return fire
        day -= _DAY
        end = len(times)
    return None
