"""Whether callers must sign in, decided per request rather than once at start.

``--auth`` and ``--no-auth`` fix it. By default it follows the store: auth is off while
the store holds no token and turns on at the first request that finds one (made by
``jobweave token create`` in any process, or by the API), and from then on it stays on
until the server stops. Revoking every token does not turn it off again (that would open
the dashboard to anyone just when a leaked token is revoked): every request is then
refused until a new token is made, or the server is restarted.

While auth is off each request costs one read of the token table (about 0.1 ms on
SQLite); once it is on, none. A store that cannot be read fails the request (503), never
opens it. An event stream opened while auth was off ends within 2 s of auth turning on
(it looks every second; its browser reconnects, and is asked to sign in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from jobweave.store.access import token_count

if TYPE_CHECKING:
    from jobweave.store.sql import SqlStore


class AuthGate:
    """Whether auth is on: fixed (``True``/``False``), or ``None`` to follow the store."""

    def __init__(self, store: SqlStore, fixed: bool | None = None) -> None:
        self.store = store
        self.fixed = fixed
        self._on = False

    def on(self) -> bool:
        """Whether callers must sign in now (once on by the store's tokens, for good)."""
        if self.fixed is not None:
            return self.fixed
        if not self._on and token_count(self.store) > 0:
            self._on = True
        return self._on


def closing_when_on(gate: AuthGate, anonymous: bool, gone: Callable[[], Awaitable[bool]],
                    every: float = 1.0) -> Callable[[], Awaitable[bool]]:
    """An event stream's ``gone``: for a stream opened while auth was off, also true once
    auth is on (looked at every ``every`` seconds at most)."""
    if not anonymous or gate.fixed is not None:
        return gone
    last = time.monotonic()

    async def ended() -> bool:
        nonlocal last
        if await gone():
            return True
        if time.monotonic() - last < every:
            return False
        last = time.monotonic()
        return await asyncio.to_thread(gate.on)

    return ended
