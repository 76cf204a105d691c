"""The helpers of expressions: ``now()``, ``today()``, ``duration()``, ``fromiso()``,
a bounded ``range()``, ``fromjson()``, and the ``strftime``, ``isoformat`` and ``in_tz``
filters."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from jobweave.durations import parse_duration
from jobweave.errors import DefinitionError
from jobweave.expr.bounds import MAX_RANGE, MAX_SIZE, STATE, Limit


def bounded_range(*args: int) -> range:
    for arg in args:
        if isinstance(arg, int) and arg.bit_length() > 64:
            raise Limit(f"range argument {arg} is too large")
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise Limit(f"range of {len(rng):,} items is over the limit of {MAX_RANGE:,}")
    return rng


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ValueError, OSError, KeyError) as exc:
        raise Limit(f"unknown time zone {tz!r}") from exc


def now(tz: str | None = None) -> datetime:
    """The evaluation's time (the injected clock, else the wall clock), aware, in ``tz``."""
    fixed: datetime | None = getattr(STATE, "now", None)
    current = fixed if fixed is not None else datetime.now(UTC)
    return current.astimezone(_zone(tz))


def today(tz: str | None = None) -> date:
    return now(tz).date()


def duration(text: Any) -> timedelta:
    try:
        return parse_duration(text)
    except DefinitionError as exc:
        raise Limit(exc.message) from exc


def fromiso(text: str) -> datetime:
    """An ISO 8601 time; one without an offset is read as UTC."""
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise Limit(f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fromjson(text: Any) -> Any:
    """The JSON value ``text`` holds (at most ``MAX_SIZE`` characters): how a list of
    mappings built by a ``{% for %}`` template with ``tojson`` becomes a value again."""
    if not isinstance(text, str):
        raise Limit(f"fromjson takes text, not {type(text).__name__}")
    if len(text) > MAX_SIZE:
        raise Limit(f"fromjson: text of {len(text):,} characters is over the size limit "
                    f"of {MAX_SIZE:,}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Limit(f"fromjson: not JSON: {exc}") from None


def strftime(value: datetime | date, fmt: str = "%Y-%m-%dT%H:%M:%S%z") -> str:
    if re.search(r"%[-_0^#]*\d", fmt):
        raise Limit("widths in strftime formats are not allowed")
    return value.strftime(fmt)


def isoformat(value: datetime | date) -> str:
    return value.isoformat()


def in_tz(value: datetime, tz: str) -> datetime:
    return value.astimezone(_zone(tz))
