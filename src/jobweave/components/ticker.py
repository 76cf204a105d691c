"""``ticker``: a source that emits on its own schedule, every ``interval`` or at the
times of a ``cron`` expression.

Settings (exactly one of ``interval`` and ``cron``):

- ``interval``: seconds (a number above 0) or duration text like ``"90s"``, ``"1h"``,
  ``"250ms"``. Emissions are ``interval`` apart, counted from the run's start: at the
  start (under ``emit_on_start``), then start + interval, start + 2·interval, ...
- ``cron``: a five-field cron expression (``*/5 * * * *``, ``@hourly``), read in ``tz``
  (default ``UTC``); emissions are at its fire times after the run's start.
- ``emit_on_start`` (default true): also emit once when the run starts.
- ``max_emissions`` (default 0: no limit): stop after this many emissions (the one at the
  start counts).
- ``payload`` (default ``{}``): any JSON value, carried by every emission.

Each emission goes to ``out`` as
``{"tick": n, "at": "2026-05-01T10:00:00.000Z", "payload": ...}``: ``n`` counts from 1,
``at`` is the scheduled time (UTC, milliseconds), not the moment it was served, so a
firing done again gives the same message, and ``payload`` is a copy of the setting. The
payload is nested rather than merged so that every emission has the same shape whatever
the payload is, and a payload field never hides ``tick`` or ``at``.

The runtime asks :meth:`Ticker.due_at` when emission number ``k`` is due and, at that
time, fires the ticker with :meth:`Ticker.tick_message`; ``in_ports`` is empty.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from jobweave.components import checks
from jobweave.components.node import OUT, Component, Emitted, register
from jobweave.durations import parse_duration
from jobweave.errors import ComponentError, DefinitionError
from jobweave.triggers import Cron, cron, next_fire


@register("ticker")
class Ticker(Component):
    """Emits on a schedule (module doc)."""

    source = True
    settings_names = frozenset({"interval", "cron", "tz", "emit_on_start", "max_emissions",
                                "payload"})

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        given = [name for name in ("interval", "cron") if name in self.settings]
        if len(given) != 1:
            raise self.error("interval", "give exactly one of interval and cron" +
                             (", not both" if given else ""))
        self.interval: float | None = None
        self.cron: Cron | None = None
        if "interval" in self.settings:
            if "tz" in self.settings:
                raise self.error("tz", "applies to cron only")
            self.interval = self._interval(self.settings["interval"])
        else:
            self.cron = self._cron(self.settings["cron"], self.settings.get("tz", "UTC"))
        self.emit_on_start = checks.flag(self, "emit_on_start", True)
        self.max_emissions = checks.whole(self, "max_emissions", 0, minimum=0)
        self.payload = checks.json_value(self, "payload", self.settings.get("payload", {}))
        self._last: tuple[float, int, datetime] | None = None
        """The latest cron emission computed: (started_at, emitted, at)."""

    def in_ports(self) -> tuple[str, ...]:
        return ()

    def due_at(self, started_at: float, emitted: int) -> float | None:
        """When emission number ``emitted`` (from 0) of a run that started at
        ``started_at`` is due (both seconds since the epoch), or None when there is none:
        ``max_emissions`` reached, or a cron expression with no more fire times."""
        if emitted < 0:
            raise ValueError(f"emitted must be >= 0, not {emitted}")
        if self.max_emissions and emitted >= self.max_emissions:
            return None
        if self.emit_on_start:
            if emitted == 0:
                return started_at
            emitted -= 1
        if self.interval is not None:
            return started_at + (emitted + 1) * self.interval
        at = self._cron_fire(started_at, emitted)
        return None if at is None else at.timestamp()

    def tick_message(self, emitted: int, at: float) -> dict[str, Any]:
        """The message the runtime fires the ticker with for emission ``emitted`` (from
        0), due at ``at`` (what :meth:`due_at` said)."""
        return {"emitted": emitted, "at": at}

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        if not isinstance(msg, Mapping) or not isinstance(msg.get("emitted"), int) \
                or not isinstance(msg.get("at"), int | float):
            raise ComponentError(f"a ticker fires with tick_message(emitted, at), not {msg!r}")
        at = datetime.fromtimestamp(msg["at"], UTC)
        stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return [(OUT, {"tick": msg["emitted"] + 1, "at": stamp,
                       "payload": copy.deepcopy(self.payload)})]

    # -- helpers ----------------------------------------------------------------------
    def _interval(self, value: Any) -> float:
        try:
            seconds = parse_duration(value, field="interval").total_seconds()
        except DefinitionError as exc:
            raise self.error("interval", exc.message) from None
        if not math.isfinite(seconds) or seconds <= 0:
            raise self.error("interval", f"must be more than 0 seconds, not {value!r}")
        return seconds

    def _cron(self, expression: Any, tz: Any) -> Cron:
        try:
            return cron(expression, tz=tz)
        except DefinitionError as exc:
            raise self.error("tz" if exc.field == "tz" else "cron", exc.message) from None

    def _cron_fire(self, started_at: float, index: int) -> datetime | None:
        """The cron fire number ``index`` (from 0) strictly after ``started_at``; walks on
        from the last one computed, so asking for emissions in order costs one step each."""
        assert self.cron is not None
        at = datetime.fromtimestamp(started_at, UTC)
        step = 0
        last = self._last
        if last is not None and last[0] == started_at and last[1] <= index:
            step, at = last[1] + 1, last[2]
            if last[1] == index:
                return at
        while step <= index:
            fire = next_fire(self.cron, at)
            if fire is None:
                return None
            at, step = fire, step + 1
        self._last = (started_at, index, at)
        return at
