"""Riding out a store that is briefly unreachable: a database restart, a dropped
connection. Only errors of the connection are retried; anything else is the caller's."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from jobweave.errors import StoreUnavailable

log = logging.getLogger("jobweave.store")

RECONNECT_SECONDS = 30.0
"""How long an owner keeps retrying a write whose connection failed before it gives up."""
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 2.0

T = TypeVar("T")


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
