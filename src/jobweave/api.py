"""Facade functions over one Engine: ``jobweave.run(definition)`` and friends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobweave.engine import Engine, RunHandle, RunResult
from jobweave.events import Listener
from jobweave.settings import Settings


def _engine(store: str | None, executor: str | None, workers: int | None) -> Engine:
    settings = Settings.from_env().with_(store=store, executor=executor, workers=workers)
    return Engine(settings)


def submit(
    definition: Any,
    *,
    store: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
    concurrency: int | None = None,
    name: str | None = None,
    listeners: Sequence[Listener] = (),
) -> RunHandle:
    """Store a run and start it in the background; return its handle at once."""
    return _engine(store, executor, workers).submit(
        definition, name=name, concurrency=concurrency, listeners=listeners)


def run(
    definition: Any,
    *,
    store: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
    concurrency: int | None = None,
    name: str | None = None,
    listeners: Sequence[Listener] = (),
) -> RunResult:
    """Submit and wait: return when every job has stopped (``result.exit_code``)."""
    return _engine(store, executor, workers).run(
        definition, name=name, concurrency=concurrency, listeners=listeners)
