"""Live updates as server-sent events: each stream looks at the store every
``poll_seconds`` (one indexed query) and sends only what changed.

A run's stream sends ``state`` events, ``{"seq", "status", "counts", "jobs": [[name,
status, attempts], ...]}`` with the jobs the journal named since the last event, each
with ``id: <seq>`` so a reconnecting browser (``Last-Event-ID``) misses nothing. The
runs list's stream sends ``changed`` when runs were made, deleted, or committed. Idle
streams send a comment every ``keepalive_seconds``. Every stream ends when the server
stops (``stopping``), so shutdown never waits for open pages.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from jobweave.errors import JobweaveError
from jobweave.store import SqlStore


def message(data: Any, *, event: str | None = None, id: int | None = None) -> str:
    lines = []
    if event:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


async def _ticks(stopping: threading.Event, poll: float, keepalive: float,
                 gone: Callable[[], Any]) -> AsyncIterator[bool]:
    """Yield every ``poll`` seconds: True when a keep-alive is due, until the server
    stops or the client left."""
    last = time.monotonic()
    while not stopping.is_set():
        await asyncio.sleep(poll)
        if await gone():
            return
        now = time.monotonic()
        due = now - last >= keepalive
        if due:
            last = now
        yield due


async def run_events(store: SqlStore, run_id: str, *, since: int, stopping: threading.Event,
                     poll: float, keepalive: float,
                     gone: Callable[[], Any]) -> AsyncIterator[str]:
    """The run's state changes after journal record ``since``."""
    seen = since
    status = ""
    yield "retry: 1000\n\n"
    async for keep in _ticks(stopping, poll, keepalive, gone):
        try:
            mark = await asyncio.to_thread(store.mark, run_id)
        except JobweaveError:
            return
        if mark.seq == seen and mark.status == status:
            if keep:
                yield ": keep-alive\n\n"
            continue
        payload = await asyncio.to_thread(_state, store, run_id, seen)
        seen, status = mark.seq, mark.status
        yield message(payload, event="state", id=mark.seq)


def _state(store: SqlStore, run_id: str, since: int) -> dict[str, Any]:
    run = store.get_run(run_id)
    names = store.touched_since(run_id, since)
    jobs = store.job_states_by_name(run_id, names) if names else []
    if run.status == "crashed":
        jobs = [(n, "interrupted" if s == "running" else s, a) for n, s, a in jobs]
    return {"seq": store.mark(run_id).seq, "status": str(run.status),
            "counts": dict(run.counts), "jobs": jobs}


async def store_events(store: SqlStore, *, stopping: threading.Event, poll: float,
                       keepalive: float, gone: Callable[[], Any]) -> AsyncIterator[str]:
    """``changed`` whenever the store's runs change."""
    before = await asyncio.to_thread(store.store_mark)
    yield "retry: 1000\n\n"
    async for keep in _ticks(stopping, max(poll, 0.5), keepalive, gone):
        now = await asyncio.to_thread(store.store_mark)
        if now != before:
            before = now
            yield message({"runs": now[0], "ts": now[1]}, event="changed")
        elif keep:
            yield ": keep-alive\n\n"
