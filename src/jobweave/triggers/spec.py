"""Trigger definitions: ``Cron``, ``Every`` and ``At``, their policies, their constructors.

Triggers are plain frozen data, validated when made: a bad cron expression, an unknown
time zone or a misspelt day raises :class:`~jobweave.errors.DefinitionError` at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobweave.durations import format_duration, parse_duration
from jobweave.errors import DefinitionError
from jobweave.triggers.cron import CronFields, parse_cron


class _Policy(StrEnum):
    """A policy value with its own docstring (``help(Missed.ONCE)``)."""

    def __new__(cls, value: str, doc: str = "") -> _Policy:
        member = str.__new__(cls, value)
        member._value_ = value
        member.__doc__ = doc
        return member


class Missed(_Policy):
    """What a trigger does about fire times that passed while nothing was serving it."""

    SKIP = "skip", "Fire none of them; the next fire is the next one due (the default)."
    ONCE = "once", "Fire once now for all of them together, as the latest missed fire time."
    ALL = "all", ("Fire each of them now, oldest first; at most MAX_CATCH_UP of them "
                  "(the latest ones), the rest are skipped.")


class Overlap(_Policy):
    """What a fire does while the previous run started by the same trigger still runs."""

    SKIP = "skip", "Start no run for this fire (the default)."
    QUEUE = "queue", ("Start it when the previous run finishes (one fire waits; later ones "
                      "are skipped while one waits).")
    ALLOW = "allow", "Start it now, beside the running one."


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names in week order (``datetime.weekday()`` order)."""
_FULL_DAYS = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
              "friday": "fri", "saturday": "sat", "sunday": "sun"}
_DAY_GROUPS = {"weekdays": DAY_NAMES[:5], "weekends": DAY_NAMES[5:], "daily": DAY_NAMES,
               "*": DAY_NAMES}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
MIN_INTERVAL = timedelta(seconds=1)
"""The shortest interval ``every`` accepts."""


def _zone(tz: object) -> ZoneInfo:
    if not isinstance(tz, str) or not tz:
        raise DefinitionError(f"time zone must be a name like 'Europe/Warsaw', not {tz!r}",
                              field="tz")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise DefinitionError(f"unknown time zone {tz!r} (use an IANA name like "
                              "'Europe/Warsaw' or 'UTC')", field="tz") from None


def _policies(obj: Any) -> None:
    for name, kind in (("missed", Missed), ("overlap", Overlap)):
        value = getattr(obj, name)
        try:
            object.__setattr__(obj, name, kind(value))
        except ValueError:
            choices = ", ".join(repr(m.value) for m in kind)
            raise DefinitionError(f"{name} must be one of {choices}, not {value!r}",
                                  field=name) from None
    if isinstance(obj.max_fires, bool) or not isinstance(obj.max_fires, int) \
            or obj.max_fires < 0:
        raise DefinitionError(f"max_fires must be a whole number >= 0 (0: no limit), not "
                              f"{obj.max_fires!r}", field="max_fires")
    if obj.name is not None and not isinstance(obj.name, str):
        raise DefinitionError(f"name must be text, not {obj.name!r}", field="name")


@dataclass(frozen=True, slots=True)
class Cron:
    """Fires at the times a five-field cron expression names, in a time zone."""

    expression: str
    """``minute hour day-of-month month day-of-week``, or ``@daily`` and the like."""
    tz: str = "UTC"
    """The IANA time zone the expression is read in."""
    missed: Missed = Missed.SKIP
    overlap: Overlap = Overlap.SKIP
    max_fires: int = 0
    """Stop after this many fires (0: never)."""
    name: str | None = None
    fields: CronFields = field(init=False, repr=False, compare=False)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _times: tuple[time, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str):
            raise DefinitionError(f"cron expression must be text, not {self.expression!r}",
                                  field="cron")
        object.__setattr__(self, "fields", parse_cron(self.expression))
        object.__setattr__(self, "_times", self.fields.times())
        object.__setattr__(self, "zone", _zone(self.tz))
        _policies(self)

    def day_matches(self, day: date) -> bool:
        """Whether it fires on this local calendar day."""
        return self.fields.day_matches(day)

    def local_times(self) -> tuple[time, ...]:
        """The local times of day it fires at, in order."""
        return self._times

    def describe(self) -> str:
        """One line for people: ``cron '0 2 * * 1-5' in Europe/Warsaw``."""
        return f"cron {self.expression!r} in {self.tz}"


@dataclass(frozen=True, slots=True)
class At:
    """Fires at local times of day on chosen days of the week, in a time zone."""

    times: tuple[str, ...]
    """``"HH:MM"`` or ``"HH:MM:SS"``, in order."""
    days: tuple[str, ...] = DAY_NAMES
    """Three-letter day names in week order (``mon`` … ``sun``)."""
    tz: str = "UTC"
    missed: Missed = Missed.SKIP
    overlap: Overlap = Overlap.SKIP
    max_fires: int = 0
    name: str | None = None
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _times: tuple[time, ...] = field(init=False, repr=False, compare=False)
    _weekdays: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = sorted({_parse_time(t) for t in _as_list(self.times, "time")})
        if not parsed:
            raise DefinitionError("at() needs at least one time of day", field="time")
        object.__setattr__(self, "_times", tuple(parsed))
        object.__setattr__(self, "times", tuple(_show_time(t) for t in parsed))
        days = _parse_days(self.days)
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "_weekdays", frozenset(DAY_NAMES.index(d) for d in days))
        object.__setattr__(self, "zone", _zone(self.tz))
        _policies(self)

    def day_matches(self, day: date) -> bool:
        """Whether it fires on this local calendar day."""
        return day.weekday() in self._weekdays

    def local_times(self) -> tuple[time, ...]:
        """The local times of day it fires at, in order."""
        return self._times

    def describe(self) -> str:
        days = "every day" if self.days == DAY_NAMES else "on " + ", ".join(self.days)
        return f"at {', '.join(self.times)} {days} in {self.tz}"


@dataclass(frozen=True, slots=True)
class Every:
    """Fires every fixed length of time: absolute intervals, the same in every time zone
    and across DST changes (``every("1d")`` is 24 hours, not "same time tomorrow")."""

    interval: timedelta
    emit_on_start: bool = False
    """Fire once as soon as the trigger is first served (it has no stored last fire)."""
    anchor: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    """The grid the fires are on: ``anchor + k * interval``. By default the Unix epoch,
    so ``every("1h")`` fires on the hour (UTC) and restarts do not shift the grid."""
    missed: Missed = Missed.SKIP
    overlap: Overlap = Overlap.SKIP
    max_fires: int = 0
    name: str | None = None

    def __post_init__(self) -> None:
        interval = parse_duration(self.interval, field="every")
        if interval < MIN_INTERVAL:
            raise DefinitionError(f"every() interval {self.interval!r} is shorter than one "
                                  "second", field="every")
        object.__setattr__(self, "interval", interval)
        if not isinstance(self.emit_on_start, bool):
            raise DefinitionError(f"emit_on_start must be true or false, not "
                                  f"{self.emit_on_start!r}", field="emit_on_start")
        if not isinstance(self.anchor, datetime) or self.anchor.tzinfo is None:
            raise DefinitionError(f"anchor must be a datetime with a time zone, not "
                                  f"{self.anchor!r}", field="anchor")
        object.__setattr__(self, "anchor", self.anchor.astimezone(UTC))
        _policies(self)

    def describe(self) -> str:
        return f"every {format_duration(self.interval)}"


Trigger = Cron | Every | At
"""Any trigger."""


def _as_list(value: object, what: str) -> list[Any]:
    if isinstance(value, str | time):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return list(value)
    raise DefinitionError(f"{what} must be text or a list of text, not {value!r}", field=what)


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value.replace(microsecond=0, tzinfo=None)
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match:
        hour, minute, second = (int(g or 0) for g in match.groups())
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise DefinitionError(f"time of day {value!r} must look like '02:30' or '23:59:30'",
                          field="time")


def _show_time(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _parse_days(value: object) -> tuple[str, ...]:
    chosen: set[str] = set()
    for item in _as_list(value, "days"):
        if not isinstance(item, str):
            raise DefinitionError(f"day {item!r} must be a name like 'mon'", field="days")
        key = item.strip().lower()
        if key in _DAY_GROUPS:
            chosen.update(_DAY_GROUPS[key])
            continue
        first, dash, last = key.partition("-")
        a, b = _day(first, item), _day(last, item) if dash else _day(first, item)
        i = DAY_NAMES.index(a)
        while True:  # a range may wrap: fri-mon
            chosen.add(DAY_NAMES[i])
            if DAY_NAMES[i] == b:
                break
            i = (i + 1) % 7
    if not chosen:
        raise DefinitionError("days must name at least one day", field="days")
    return tuple(d for d in DAY_NAMES if d in chosen)


def _day(key: str, item: str) -> str:
    key = key.strip()
    if key in DAY_NAMES:
        return key
    if key in _FULL_DAYS:
        return _FULL_DAYS[key]
    raise DefinitionError(f"unknown day {item!r} (use mon, tue, wed, thu, fri, sat, sun, "
                          "a range like 'mon-fri', 'weekdays' or 'weekends')", field="days")


def cron(expression: str, *, tz: str = "UTC", missed: str = "skip", overlap: str = "skip",
         max_fires: int = 0, name: str | None = None) -> Cron:
    """A trigger at the times of a cron expression.

    ``jw.cron("0 2 * * 1-5", tz="Europe/Warsaw")``: 02:00 Warsaw time, Monday to Friday.
    """
    return Cron(expression, tz, missed, overlap,  # type: ignore[arg-type]
                max_fires, name)


def every(interval: str | float | timedelta, *, emit_on_start: bool = False,
          max_fires: int = 0, anchor: datetime | None = None, missed: str = "skip",
          overlap: str = "skip", name: str | None = None) -> Every:
    """A trigger every fixed interval: ``jw.every("1h")``, ``jw.every("15m", max_fires=4)``."""
    return Every(interval, emit_on_start,  # type: ignore[arg-type]
                 datetime(1970, 1, 1, tzinfo=UTC) if anchor is None else anchor,
                 missed, overlap, max_fires, name)  # type: ignore[arg-type]


def at(time: str | Iterable[str], *, days: str | Iterable[str] | None = None,
       tz: str = "UTC", missed: str = "skip", overlap: str = "skip", max_fires: int = 0,
       name: str | None = None) -> At:
    """A trigger at local times on days of the week: ``jw.at("02:00", days=["mon", "wed"])``."""
    return At(time, DAY_NAMES if days is None else days,  # type: ignore[arg-type]
              tz, missed, overlap, max_fires, name)  # type: ignore[arg-type]
