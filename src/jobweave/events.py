"""Typed events the engine emits while a run moves; the CLI renders them.

A listener is any callable taking one event. Listeners run on the engine thread,
so they must be quick; an exception in a listener is logged and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A run began (or resumed) executing."""

    run_id: str
    name: str
    total: int
    """Jobs in the run."""
    already_done: int
    """Jobs already completed before this start (resume)."""


@dataclass(frozen=True, slots=True)
class JobStarted:
    """An attempt of a job was handed to the executor."""

    run_id: str
    job: str
    attempt: int


@dataclass(frozen=True, slots=True)
class JobFinished:
    """A job reached a state, committed to the journal; ``state`` is a JobState value."""

    run_id: str
    job: str
    state: str
    attempt: int
    error: str | None
    retrying: bool
    """True when the attempt faulted and another attempt will follow."""


@dataclass(frozen=True, slots=True)
class NodesFired:
    """A graph run's firings so far, by node: sent at most every ``FIRED_EVERY`` seconds
    while the run moves, and when it stops."""

    run_id: str
    firings: dict[str, int]


FIRED_EVERY = 0.1
"""Seconds between two :class:`NodesFired` events of one run."""


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A run stopped; ``status`` is the run's final status."""

    run_id: str
    status: str
    exit_code: int


Event = RunStarted | JobStarted | JobFinished | NodesFired | RunFinished
Listener = Callable[[Any], None]
