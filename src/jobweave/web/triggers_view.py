"""The triggers served on a store, as the triggers page and ``GET /api/v1/triggers`` show
them: each one's definition, spec, last fire, next fires and last run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jobweave.errors import JobweaveError
from jobweave.store import SqlStore
from jobweave.store.triggers import TriggerTable
from jobweave.triggers import next_fire, trigger_from_data

NEXT = 3
"""Next fire times shown per trigger."""


def trigger_rows(store: SqlStore, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    out = []
    for row in TriggerTable(store).all():
        spec = json.loads(row.spec)
        fires: list[float] = []
        try:
            trigger = trigger_from_data(spec)
            at = now
            for _ in range(NEXT):
                found = next_fire(trigger, at)
                if found is None:
                    break
                fires.append(found.timestamp())
                at = found
        except JobweaveError:
            pass
        out.append({"key": row.key, "definition": row.definition, "spec": spec,
                    "last_fire": row.last_fire, "fires": row.fires,
                    "last_run": row.last_run, "queued": row.queued_fire is not None,
                    "served_by": row.lease_owner, "next": fires})
    return out
