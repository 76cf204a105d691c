"""Durations written as text: ``"90s"``, ``"1h30m"``, ``"2d"``, ``"250ms"``.

One parser for every place a user writes a length of time (trigger intervals, the
``duration()`` helper of expressions). Units: ``w`` weeks, ``d`` days, ``h`` hours,
``m`` minutes, ``s`` seconds, ``ms`` milliseconds; parts in any order, each unit once.
A bare number is seconds.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

from jobweave.errors import DefinitionError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)", re.IGNORECASE)
_UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
MAX_SECONDS = 100 * 366 * 86400
"""The longest duration accepted: about a hundred years."""


def parse_duration(value: object, *, field: str | None = None) -> timedelta:
    """A ``timedelta`` from text, a number of seconds or a ``timedelta``.

    Raises :class:`DefinitionError` (naming ``field``) for anything else, for negative
    durations and for durations over :data:`MAX_SECONDS`.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise DefinitionError(f"a duration must be text like '1h30m' or seconds, not {value!r}",
                              field=field)
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value, field)
    else:
        raise DefinitionError(f"a duration must be text like '1h30m' or seconds, "
                              f"not {type(value).__name__}", field=field)
    if not math.isfinite(seconds) or seconds < 0:
        raise DefinitionError(f"duration {value!r} must not be negative", field=field)
    if seconds > MAX_SECONDS:
        raise DefinitionError(f"duration {value!r} is over a hundred years", field=field)
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


def _parse_text(text: str, field: str | None) -> float:
    stripped = text.strip()
    try:
        return float(stripped)
    except ValueError:
        pass
    total, seen, pos = 0.0, set(), 0
    compact = stripped.replace(" ", "")
    for match in _PART.finditer(compact):
        unit = match.group(2).lower()
        if match.start() != pos or unit in seen:
            break
        seen.add(unit)
        total += float(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if not compact or pos != len(compact):
        raise DefinitionError(f"bad duration {text!r}: write it like '90s', '15m', '1h30m' "
                              "or '2d' (units w, d, h, m, s, ms)", field=field)
    return total


def format_duration(delta: timedelta) -> str:
    """The shortest text :func:`parse_duration` reads back as ``delta`` (whole ms)."""
    ms = round(delta.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000),
                       ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h03m``; empty when unknown."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
