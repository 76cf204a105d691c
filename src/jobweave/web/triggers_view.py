"""The triggers served on a store, as the triggers page and ``GET /api/v1/triggers`` show
them (each one's definition, spec, state, last fire, next fires and last run), and what
operators do to them: pause, resume, fire now.

A trigger is named in URLs by its id: the first 12 hex digits of its key's sha256 (a key
holds the definition's path). Each action is logged in the actions log under
``trigger:<id>`` with who asked; a fire asked for is started by the ``jobweave serve``
process that serves the trigger, at its next round, and logged on the run it starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from jobweave.errors import JobweaveError
from jobweave.store import SqlStore
from jobweave.store.access import actions_of, record_action
from jobweave.store.triggers import TriggerNotFoundError, TriggerRow, TriggerTable
from jobweave.triggers import fires_between, trigger_from_data

NEXT = 3
"""Next fire times shown per trigger."""
TRIGGER_ACTIONS = ("pause", "resume", "fire-now")


def trigger_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def log_key(key: str) -> str:
    """Where the actions log keeps the trigger's actions."""
    return f"trigger:{trigger_id(key)}"


def _next(spec: dict[str, Any], now: datetime, paused: bool, fired: int) -> list[float]:
    """Up to NEXT fire times after ``now``; none beyond ``max_fires`` (``fired`` made)."""
    if paused:
        return []
    try:
        return [f.timestamp() for f in fires_between(trigger_from_data(spec), now, limit=NEXT,
                                                     fired=fired)]
    except JobweaveError:
        return []


def trigger_dict(row: TriggerRow, now: datetime) -> dict[str, Any]:
    spec = json.loads(row.spec)
    return {"id": trigger_id(row.key), "key": row.key, "definition": row.definition,
            "spec": spec, "paused": row.paused, "fire_asked": row.fire_asked,
            "fire_asked_by": row.fire_asked_by, "last_fire": row.last_fire,
            "fires": row.fires, "last_run": row.last_run, "queued": row.queued_fire is not None,
            "served_by": row.lease_owner, "next": _next(spec, now, row.paused, row.fires)}


def trigger_rows(store: SqlStore, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    return [trigger_dict(row, now) for row in TriggerTable(store).all()]


def find_trigger(store: SqlStore, which: str) -> TriggerRow:
    """The trigger of that id (or whole key)."""
    for row in TriggerTable(store).all():
        if which in (row.key, trigger_id(row.key)):
            return row
    raise TriggerNotFoundError(f"no trigger {which!r} in this store: see "
                               "'jobweave triggers list' or GET /api/v1/triggers")


def trigger_action(store: SqlStore, which: str, what: str, actor: str,
                   nudge: Callable[[], None] | None = None) -> dict[str, Any]:
    """Pause, resume or fire the trigger now, logged with ``actor``; its row afterwards.

    ``nudge`` tells a serve process in this process to look at its triggers at once.
    """
    if what not in TRIGGER_ACTIONS:
        raise JobweaveError(f"unknown action {what!r}: use one of {', '.join(TRIGGER_ACTIONS)}")
    row = find_trigger(store, which)
    table = TriggerTable(store)
    detail: dict[str, Any] = {"key": row.key}
    if what == "fire-now":
        detail["asked"] = table.ask_fire(row.key, actor)
        if not detail["asked"]:
            detail["note"] = "a fire asked before is still waiting"
    else:
        table.set_paused(row.key, what == "pause")
    record_action(store, log_key(row.key), actor, what, detail=detail)
    if nudge is not None:
        nudge()
    after = find_trigger(store, row.key)
    return {**trigger_dict(after, datetime.now(UTC)), "action": what,
            "note": detail.get("note")}


def trigger_log(store: SqlStore, key: str, limit: int = 20) -> list[dict[str, Any]]:
    """Who paused, resumed or fired the trigger, newest first."""
    return [asdict(a) for a in actions_of(store, log_key(key), limit)]
