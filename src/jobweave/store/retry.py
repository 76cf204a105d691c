"""Riding out a store that is briefly unreachable (a database restart, a dropped
connection) and transactions the database chose to abort (a deadlock, a serialization
failure). Only those are retried; anything else is the caller's."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from jobweave.errors import StoreUnavailable

log = logging.getLogger("jobweave.store")

RECONNECT_SECONDS = 30.0
"""How long an owner keeps retrying a write whose connection failed before it gives up."""
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 2.0

CONFLICT_RETRIES = 3
"""How many times a transaction the database aborted as a deadlock or a serialization
failure is run again before the error is let through."""
CONFLICT_PAUSE = 0.05
"""The mean pause before such a retry, doubled each time, with jitter: the two
transactions that deadlocked must not meet again in step."""
CONFLICT_STATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure."""

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def connection_error(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` (or an error it wraps) is one of the driver's connection errors."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if isinstance(seen, kinds):
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else seen.__cause__
    return False


def conflict(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it wraps) is a deadlock or a serialization failure:
    the database aborted the transaction, and running it again is the cure."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return False
        if getattr(seen, "sqlstate", None) in CONFLICT_STATES:
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else seen.__cause__
    return False


def retry_conflicts(attempt: Callable[[], T], what: str) -> T:
    """Call ``attempt`` again when the database aborted its transaction as a deadlock or
    a serialization failure, up to ``CONFLICT_RETRIES`` times, logging each; the caller
    never sees one that a retry cured. ``attempt`` must be one whole transaction."""
    pause = CONFLICT_PAUSE
    for tries in range(CONFLICT_RETRIES + 1):
        try:
            return attempt()
        except Exception as exc:
            if tries == CONFLICT_RETRIES or not conflict(exc):
                raise
            log.warning("%s: %s; running the transaction again (%d of %d)", what,
                        _first_line(exc), tries + 1, CONFLICT_RETRIES)
        time.sleep(random.uniform(0.5, 1.5) * pause)
        pause *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def conflicts_retried(method: F) -> F:
    """A store method that is one transaction, run again on a deadlock or a
    serialization failure (see :func:`retry_conflicts`)."""
    @functools.wraps(method)
    def retried(owner: Any, *args: Any, **kwargs: Any) -> Any:
        # a store's method, a table's beside it (``.store``), or a function taking a store
        url = getattr(owner, "url", None) or getattr(getattr(owner, "store", None), "url", "")
        return retry_conflicts(lambda: method(owner, *args, **kwargs),
                               f"store {url}: {method.__name__}")
    return retried  # type: ignore[return-value]


def persist(attempt: Callable[[bool], T], transient: Callable[[BaseException], bool],
            what: str, *, seconds: float | None = None) -> T:
    """Call ``attempt(retrying)`` until it returns, retrying transient errors with backoff
    for up to ``seconds`` (``RECONNECT_SECONDS``); then raise :class:`StoreUnavailable`
    naming ``what``.

    ``retrying`` is True from the second call on: a commit whose connection died during
    COMMIT first finds out whether it was committed.
    """
    seconds = RECONNECT_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    pause = FIRST_PAUSE
    retrying = False
    while True:
        try:
            return attempt(retrying)
        except Exception as exc:
            if not transient(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise StoreUnavailable(f"{what}: the store stayed unreachable for "
                                       f"{seconds:.0f}s ({_first_line(exc)})") from exc
            log.warning("%s: %s; retrying in %.2fs", what, _first_line(exc), pause)
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
        retrying = True


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
