"""Five-field cron expressions: ``minute hour day-of-month month day-of-week``.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma
list of those; months and days may be named (``jan``, ``mon``); day of week 0 and 7 are
both Sunday. As in classic cron, when both day of month and day of week are restricted a
day matches if *either* does. ``@hourly``, ``@daily`` (``@midnight``), ``@weekly``,
``@monthly``, ``@yearly`` (``@annually``) are shorthands.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, time

from jobweave.errors import DefinitionError

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = {name.lower(): k for k, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class CronFields:
    """A parsed cron expression: the allowed values of each field."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday … 6 = Saturday (7 is folded into 0)."""
    any_day: bool
    """Day of month is ``*``."""
    any_weekday: bool
    """Day of week is ``*``."""

    def day_matches(self, day: date) -> bool:
        """Whether cron would run on this calendar day."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def times(self) -> tuple[time, ...]:
        """The local times of day it fires at, in order."""
        return tuple(time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes))


def parse_cron(expression: str, *, field: str | None = "cron") -> CronFields:
    """Parse ``expression``; a bad one raises :class:`DefinitionError` naming the field."""
    text = " ".join(str(expression).split())
    text = _MACROS.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise DefinitionError(f"cron expression {expression!r} must have 5 fields (minute hour "
                              f"day-of-month month day-of-week), not {len(parts)}", field=field)
    values = [_parse_field(part, spec, expression, field) for part, spec in zip(parts, _FIELDS,
                                                                                strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    fields = CronFields(frozenset(values[0]), frozenset(values[1]), frozenset(values[2]),
                        frozenset(values[3]), weekdays, parts[2] == "*", parts[4] == "*")
    if fields.any_weekday and not any(d <= _MONTH_DAYS[m - 1] for m in fields.months
                                      for d in fields.days):
        raise DefinitionError(f"cron expression {expression!r} names no day that exists",
                              field=field)
    return fields


def _parse_field(part: str, spec: tuple[str, int, int, dict[str, int]], expression: str,
                 field: str | None) -> set[int]:
    name, low, high, names = spec
    out: set[int] = set()
    for item in part.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            step = _number(step_text, {}, name, expression, field)
            if step < 1:
                raise DefinitionError(f"cron {name} step must be at least 1 in {expression!r}",
                                      field=field)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first = _number(a, names, name, expression, field)
            last = _number(b, names, name, expression, field)
        else:
            first = _number(base, names, name, expression, field)
            last = high if step_text else first
        for value in (first, last):
            if not low <= value <= high:
                raise DefinitionError(f"cron {name} {value} is out of range {low}-{high} in "
                                      f"{expression!r}", field=field)
        if first > last:
            raise DefinitionError(f"cron {name} range {base!r} runs backwards in "
                                  f"{expression!r}", field=field)
        out.update(range(first, last + 1, step))
    return out


def _number(text: str, names: dict[str, int], name: str, expression: str,
            field: str | None) -> int:
    key = text.strip().lower()
    if key in names:
        return names[key]
    if not key.isdigit():
        raise DefinitionError(f"cron {name} {text!r} is not a number in {expression!r}",
                              field=field)
    return int(key)
