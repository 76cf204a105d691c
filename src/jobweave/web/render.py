"""Rendering pages: the Jinja2 environment (autoescaped), its filters, the session cookie."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from jobweave.durations import duration
from jobweave.errors import JobweaveError
from jobweave.web.auth import COOKIE, auth_on, cookie_value, csrf_token


@functools.cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("jobweave.web", "templates"),
                      autoescape=select_autoescape(("html",)), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["duration"] = duration
    return env


def stamp_in(tz: str) -> Any:
    zone = ZoneInfo(tz)

    def stamp(value: float | None) -> str:
        if value is None:
            return ""
        return datetime.fromtimestamp(value, zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    return stamp


def query(request: Request, **changes: Any) -> str:
    """The page's query string with ``changes`` (None removes a key)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return ("?" + urlencode(params)) if params else "?"


def _signed_in(request: Request) -> bool:
    """Whether to offer "Sign out" (not on the error page of a store that cannot be read)."""
    try:
        return auth_on(request)
    except JobweaveError:
        return False


def page(request: Request, template: str, context: dict[str, Any], *,
         status: int = 200) -> Response:
    """Render ``template``; set the session cookie when the session is new."""
    cfg = request.app.state.config
    body = environment().get_template(template).render(
        request=request, csrf=csrf_token(request), stamp=stamp_in(cfg.tz), tz=cfg.tz,
        query=functools.partial(query, request), auth=_signed_in(request), **context)
    response = HTMLResponse(body, status_code=status)
    cookie = cookie_value(request)
    if cookie is not None:
        response.set_cookie(COOKIE, cookie, max_age=cfg.session_seconds, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
    return response
