"""Who is calling: a bearer token (scripts), or a signed session cookie (browsers).

Every browser gets a session cookie (signed, HttpOnly, SameSite=Lax) carrying a CSRF
token; a state-changing request authenticated by that cookie must echo the token (form
field ``csrf`` or header ``X-CSRF-Token``). Bearer-token requests carry no ambient
credential and need no CSRF token. Without auth configured every caller is the local
admin, and a request with neither a cookie nor a token is refused when it comes from
another origin.
"""

from __future__ import annotations

import getpass
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jobweave.errors import AccessDenied
from jobweave.store.access import ROLES, check_token, token_by_digest

COOKIE = "jobweave_session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its name (in the actions log) and role."""

    name: str
    role: str
    via: str
    """``token``, ``session`` or ``local`` (no auth configured)."""

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="jobweave-session")


def new_session(name: str | None = None, role: str | None = None,
                digest: str | None = None) -> dict[str, Any]:
    return {"n": name, "r": role, "d": digest, "c": secrets.token_urlsafe(24)}


def session_of(request: Request) -> dict[str, Any]:
    """The request's session (a new anonymous one when it has no valid cookie)."""
    found = getattr(request.state, "session", None)
    if found is not None:
        return dict(found)
    cfg = request.app.state.config
    raw = request.cookies.get(COOKIE)
    session: dict[str, Any] | None = None
    if raw:
        try:
            loaded = serializer(cfg.secret).loads(raw, max_age=cfg.session_seconds)
            session = loaded if isinstance(loaded, dict) else None
        except BadSignature:
            session = None
    if session is None:
        session = new_session()
        request.state.new_session = True
    request.state.session = session
    return dict(session)


def set_session(request: Request, session: dict[str, Any]) -> None:
    request.state.session = session
    request.state.new_session = True


def cookie_value(request: Request) -> str | None:
    """The cookie to set on the response, when the session is new or changed."""
    if not getattr(request.state, "new_session", False):
        return None
    return serializer(request.app.state.config.secret).dumps(request.state.session)


def csrf_token(request: Request) -> str:
    return str(session_of(request)["c"])


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing cookie request without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    expected = str(session_of(request)["c"])
    if not given or not hmac.compare_digest(given, expected):
        raise AccessDenied("missing or wrong CSRF token: reload the page and try again")


def auth_on(request: Request) -> bool:
    """Whether callers must sign in, as decided once for this request."""
    found = getattr(request.state, "auth", None)
    if found is None:
        found = request.state.auth = request.app.state.auth.on()
    return bool(found)


async def principal(request: Request) -> Principal:
    """The caller, or :class:`AccessDenied` (401) when auth is on and it has no
    credentials; state-changing requests by cookie are checked for their CSRF token."""
    auth = auth_on(request)
    token = _bearer(request)
    if token is not None:
        if not auth:
            return Principal(_local_name(), "admin", "token")
        found = check_token(request.app.state.store, token)
        if found is None:
            raise AccessDenied("invalid API token", status=401)
        return Principal(found.name, found.role, "token")
    has_cookie = COOKIE in request.cookies
    session = session_of(request)
    if has_cookie or request.method in SAFE_METHODS:
        if request.method not in SAFE_METHODS:
            await check_csrf(request)
    elif not _same_origin(request):
        raise AccessDenied("cross-origin request without credentials")
    if not auth:
        return Principal(_local_name(), "admin", "local")
    if not session.get("n") or not session.get("d"):
        raise AccessDenied("sign in first (a token from 'jobweave token create')",
                           status=401)
    found = token_by_digest(request.app.state.store, str(session["d"]))
    if found is None:
        raise AccessDenied("the token of this session was revoked: sign in again",
                           status=401)
    return Principal(found.name, found.role, "session")


def _local_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def require(role: str) -> Any:
    """A FastAPI dependency: the caller, who must have at least ``role``."""

    async def dependency(request: Request) -> Principal:
        who = await principal(request)
        if not who.may(role):
            raise AccessDenied(f"{who.name} ({who.role}) may not do this: it needs the "
                               f"{role} role")
        return who

    return dependency
