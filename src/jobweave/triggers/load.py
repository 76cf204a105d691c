"""Triggers written as plain data, the way YAML and JSON definitions carry them::

    triggers:
      - cron: "0 2 * * 1-5"
        tz: Europe/Warsaw
        missed: once
      - every: 1h
        emit_on_start: true
        max_fires: 10
      - at: "02:00"            # or a list of times
        days: [mon, wed]
        tz: UTC
        overlap: queue
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jobweave.durations import format_duration
from jobweave.errors import DefinitionError, a_or_an
from jobweave.triggers.spec import (
    DAY_NAMES,
    Cron,
    Every,
    Missed,
    Overlap,
    Trigger,
    at,
    cron,
    every,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_COMMON = {"missed", "overlap", "max_fires", "name"}
_KEYS = {
    "cron": _COMMON | {"cron", "tz"},
    "every": _COMMON | {"every", "emit_on_start", "anchor"},
    "at": _COMMON | {"at", "days", "tz"},
}


def trigger_from_data(data: object, *, field: str = "trigger") -> Trigger:
    """A trigger from a mapping with exactly one of the keys ``cron``, ``every``, ``at``.

    Errors are :class:`DefinitionError` naming the field (``triggers[1].tz``).
    """
    if not isinstance(data, Mapping):
        raise DefinitionError(f"a trigger must be a mapping with 'cron', 'every' or 'at', "
                              f"not {type(data).__name__}", field=field)
    kinds = [k for k in _KEYS if k in data]
    if len(kinds) != 1:
        raise DefinitionError("a trigger needs exactly one of 'cron', 'every', 'at'"
                              + (f" (it has {', '.join(kinds)})" if kinds else ""), field=field)
    kind = kinds[0]
    unknown = sorted(str(k) for k in data if k not in _KEYS[kind])
    if unknown:
        raise DefinitionError(f"unknown key {unknown[0]!r} for {a_or_an(kind)} trigger "
                              f"(allowed: {', '.join(sorted(_KEYS[kind]))})",
                              field=f"{field}.{unknown[0]}")
    options: dict[str, Any] = {k: v for k, v in data.items() if k != kind}
    try:
        if kind == "cron":
            return cron(data["cron"], **options)
        if kind == "every":
            if isinstance(options.get("anchor"), str):
                options["anchor"] = _instant(options["anchor"])
            return every(data["every"], **options)
        return at(data["at"], **options)
    except DefinitionError as exc:
        inner = exc.field if exc.field and exc.field != kind else None
        raise DefinitionError(exc.message, path=exc.path, line=exc.line,
                              field=f"{field}.{inner}" if inner else f"{field}.{kind}") \
            from None


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DefinitionError(f"anchor {text!r} is not an ISO 8601 time",
                              field="anchor") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def trigger_to_data(trigger: Trigger) -> dict[str, Any]:
    """Plain JSON data that :func:`trigger_from_data` reads back as an equal trigger
    (options at their defaults are left out)."""
    data: dict[str, Any]
    if isinstance(trigger, Cron):
        data = {"cron": trigger.expression, "tz": trigger.tz}
    elif isinstance(trigger, Every):
        data = {"every": format_duration(trigger.interval)}
        if trigger.emit_on_start:
            data["emit_on_start"] = True
        if trigger.anchor != _EPOCH:
            data["anchor"] = trigger.anchor.isoformat()
    else:
        data = {"at": list(trigger.times), "tz": trigger.tz}
        if trigger.days != DAY_NAMES:
            data["days"] = list(trigger.days)
    if trigger.missed is not Missed.SKIP:
        data["missed"] = trigger.missed.value
    if trigger.overlap is not Overlap.SKIP:
        data["overlap"] = trigger.overlap.value
    if trigger.max_fires:
        data["max_fires"] = trigger.max_fires
    if trigger.name is not None:
        data["name"] = trigger.name
    return data
