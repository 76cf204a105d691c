"""When triggers fire: pure functions of a trigger and aware datetimes.

Every instant here is an aware datetime; results are in UTC. Nothing reads the clock:
the caller passes ``now``, so tests drive time by hand.

The serving loop keeps one value per trigger, its *last fire* (the latest scheduled
instant it dealt with, fired or skipped), and asks :func:`due` what to do. Because the
last fire is an instant, not a wall-clock time, a restart, a clock stepped back or a
repeated DST hour never makes the same instant due twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobweave.errors import DefinitionError
from jobweave.triggers.local import next_local, prev_local
from jobweave.triggers.spec import Every, Missed, Overlap, Trigger

GRACE = timedelta(seconds=60)
"""A fire found due this long after its time still counts as on time (``missed="skip"``
does not skip it): a busy or briefly paused server is not "nothing serving"."""
MAX_CATCH_UP = 100
"""``missed="all"`` fires at most this many missed instants (the latest ones)."""
COUNT_LIMIT = 10_000
"""Skipped instants are counted up to this many."""
_TICK = timedelta(microseconds=1)


def _aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None \
            or value.tzinfo.utcoffset(value) is None:
        raise DefinitionError(f"{what} must be a datetime with a time zone, not {value!r}",
                              field=what)
    return value.astimezone(UTC)


def next_fire(trigger: Trigger, after: datetime) -> datetime | None:
    """The first fire strictly after ``after`` (UTC), or None if there is none."""
    after = _aware(after, "after")
    if isinstance(trigger, Every):
        steps = (after - trigger.anchor) // trigger.interval
        return trigger.anchor + (steps + 1) * trigger.interval
    return next_local(trigger.day_matches, trigger.local_times(), trigger.zone, after)


def prev_fire(trigger: Trigger, before: datetime) -> datetime | None:
    """The last fire at or before ``before`` (UTC), or None if there is none."""
    before = _aware(before, "before")
    if isinstance(trigger, Every):
        steps = (before - trigger.anchor) // trigger.interval
        return trigger.anchor + steps * trigger.interval
    return prev_local(trigger.day_matches, trigger.local_times(), trigger.zone, before)


def fires_left(trigger: Trigger, fired: int) -> int | None:
    """How many more runs the trigger may start, having started ``fired`` (None: no
    ``max_fires``, no end)."""
    return max(0, trigger.max_fires - fired) if trigger.max_fires else None


def fires_between(trigger: Trigger, start: datetime, end: datetime | None = None,
                  limit: int = 100, *, fired: int = 0) -> list[datetime]:
    """Fires after ``start`` and at or before ``end`` (no end: the next ``limit``), in order,
    at most ``limit``, and none past ``max_fires`` for a trigger that already fired
    ``fired`` times."""
    start = _aware(start, "start")
    stop = None if end is None else _aware(end, "end")
    left = fires_left(trigger, fired)
    if left is not None:
        limit = min(limit, left)
    out: list[datetime] = []
    cursor = start
    while len(out) < limit:
        fire = next_fire(trigger, cursor)
        if fire is None or (stop is not None and fire > stop):
            break
        out.append(fire)
        cursor = fire
    return out


def _latest(trigger: Trigger, last: datetime, latest: datetime, count: int) -> list[datetime]:
    """Up to ``count`` fires in (last, latest], the latest ones, newest first."""
    out = [latest]
    while len(out) < count:
        fire = prev_fire(trigger, out[-1] - _TICK)
        if fire is None or fire <= last:
            break
        out.append(fire)
    return out


def _count(trigger: Trigger, last: datetime, latest: datetime) -> int:
    """How many fires are in (last, latest], counted up to COUNT_LIMIT."""
    if isinstance(trigger, Every):
        span = (latest - trigger.anchor) // trigger.interval
        return min(COUNT_LIMIT, span - (last - trigger.anchor) // trigger.interval)
    return len(_latest(trigger, last, latest, COUNT_LIMIT))


@dataclass(frozen=True, slots=True)
class Due:
    """What :func:`due` decided for one trigger at one moment."""

    fires: tuple[datetime, ...]
    """The scheduled instants to start runs for now, oldest first."""
    skipped: int
    """Scheduled instants passed over by the missed policy (counted up to COUNT_LIMIT)."""
    last_fire: datetime
    """What to store as the trigger's last fire (never earlier than the one given)."""
    next_fire: datetime | None
    """The next instant to wake up for (None: the trigger is done)."""


def due(trigger: Trigger, last_fire: datetime | None, now: datetime, *, fired: int = 0,
        grace: timedelta = GRACE, max_catch_up: int = MAX_CATCH_UP) -> Due:
    """Which fires to start at ``now``, given the stored ``last_fire``.

    ``last_fire`` None means the trigger was never served: nothing counts as missed and
    it starts from ``now`` (an ``every(..., emit_on_start=True)`` fires at ``now``).
    ``fired`` is how many runs the trigger started so far, for ``max_fires``.
    Scheduled instants in (last_fire, now] are due; all but one that is at most
    ``grace`` old are *missed*, and the trigger's :class:`Missed` policy decides them.
    A ``now`` at or before ``last_fire`` (the clock was stepped back) fires nothing.
    """
    now = _aware(now, "now")
    left = fires_left(trigger, fired)
    if left is not None and left <= 0:
        return Due((), 0, now if last_fire is None else _aware(last_fire, "last_fire"), None)
    if last_fire is None:
        start = isinstance(trigger, Every) and trigger.emit_on_start
        fires = (now,) if start else ()
        done = left is not None and left <= len(fires)
        return Due(fires, 0, now, None if done else next_fire(trigger, now))
    last = _aware(last_fire, "last_fire")
    latest = prev_fire(trigger, now) if now > last else None
    if latest is None or latest <= last:
        return Due((), 0, last, next_fire(trigger, max(last, now)))
    count = _count(trigger, last, latest)
    policy = trigger.missed
    if policy is Missed.ALL:
        chosen = _latest(trigger, last, latest, max(1, max_catch_up))[::-1]
    elif policy is Missed.ONCE or now - latest <= grace:
        chosen = [latest]
    else:
        chosen = []
    if left is not None:
        chosen = chosen[:left]
    done = left is not None and left <= len(chosen)
    return Due(tuple(chosen), count - len(chosen), latest,
               None if done else next_fire(trigger, latest))


def on_overlap(trigger: Trigger, *, running: bool, waiting: bool = False) -> str:
    """What one fire does given the trigger's previous run: ``"start"``, ``"wait"`` (start
    when the running one finishes) or ``"skip"``. ``waiting``: a fire already waits."""
    if not running or trigger.overlap is Overlap.ALLOW:
        return "start"
    if trigger.overlap is Overlap.QUEUE and not waiting:
        return "wait"
    return "skip"
