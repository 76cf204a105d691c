"""The end of a sync that fetched no page of users (its first page failed)."""

from __future__ import annotations

from typing import Any

import jobweave as jw


def sync_failed(msg: dict[str, Any]) -> None:
    """Fail the run, saying why. The sync has written its ``failed`` row to ``sync_logs``
    and left the incremental mark where the last good sync put it, so the next sync
    fetches again everything this one missed."""
    errors = (msg.get("context") or {}).get("errors") or [{}]
    first = errors[0]
    raise jw.JobFailure(
        "no page of users fetched (sync_logs: failed; the incremental mark is unchanged): "
        f"page {first.get('page')}: {first.get('error', 'no error recorded')}")
