"""How the web server is set up: its store, whether callers must sign in, its keys."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field

LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The web server's settings.

    ``auth``: callers need a token (API) or a session from the login form (pages).
    Without it every caller is the local admin, so the server only binds loopback.
    ``None`` (the default): off while the store holds no token, on from the first
    request that finds one, and then until the server stops (see :mod:`jobweave.web.gate`).
    ``secret``: signs session cookies (a new one per process unless given, so sessions
    end with the server). ``tz``: the zone times are shown in (IANA name).
    """

    store: str
    auth: bool | None = None
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    tz: str = "UTC"
    session_seconds: int = 12 * 3600
    poll_seconds: float = 0.1
    """How often a live page's event stream looks at the store."""
    keepalive_seconds: float = 15.0


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only reaches this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
