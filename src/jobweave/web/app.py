"""The ASGI application: routes, errors as problem JSON, security headers, shutdown."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobweave import __version__
from jobweave.errors import (
    AccessDenied,
    DefinitionError,
    JobNotFoundError,
    JobweaveError,
    RunNotFoundError,
    RunStateError,
    StoreError,
    StoreUnavailable,
    one_line,
)
from jobweave.store import open_store
from jobweave.store.triggers import TriggerNotFoundError
from jobweave.web.actions import Actions
from jobweave.web.config import WebConfig
from jobweave.web.gate import AuthGate

HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
PROBLEM = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          409: "Conflict", 422: "Invalid request", 503: "Store unavailable",
          500: "Internal error"}


def status_of(exc: JobweaveError) -> int:
    if isinstance(exc, AccessDenied):
        return exc.status
    if isinstance(exc, RunNotFoundError | JobNotFoundError | TriggerNotFoundError):
        return 404
    if isinstance(exc, RunStateError):
        return 409
    if isinstance(exc, StoreUnavailable | StoreError):
        return 503
    if isinstance(exc, DefinitionError):
        return 400
    return 400


def problem(status: int, detail: str, kind: str = "about:blank") -> JSONResponse:
    return JSONResponse({"type": kind, "title": TITLES.get(status, "Error"),
                         "status": status, "detail": one_line(detail)},
                        status_code=status, media_type=PROBLEM)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and \
        "text/html" in request.headers.get("accept", "")


def _error(request: Request, status: int, detail: str, kind: str) -> Response:
    if not _wants_html(request):
        return problem(status, detail, kind)
    if status == 401:
        target = quote(str(request.url.path) + (f"?{request.url.query}"
                                                if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    from jobweave.web.render import page

    return page(request, "error.html", {"status": status, "title": TITLES.get(status),
                                        "detail": one_line(detail)}, status=status)


class Headers:
    """Security headers on every response (a plain ASGI wrapper: streams pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-frame-options", b"DENY"),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin")]
                msg["headers"] = headers
            await send(msg)

        await self.app(scope, receive, wrapped)


def create_app(config: WebConfig, *, stopping: threading.Event | None = None) -> FastAPI:
    """The dashboard and REST API over the store ``config.store`` names."""
    store = open_store(config.store)
    stop = stopping or threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        stop.set()  # open event streams end, so shutdown does not wait for them

    app = FastAPI(title="jobweave", version=__version__, lifespan=lifespan,
                  description="The REST API of jobweave: runs, jobs, graphs, triggers "
                              "and the actions operators take on them.",
                  openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    app.state.config = config
    app.state.store = store
    app.state.auth = AuthGate(store, config.auth)
    app.state.actions = Actions(store)
    app.state.stopping = stop
    app.state.nudge = None
    """Set by ``jobweave serve --web``: makes its trigger loop look at the rows at once."""

    @app.exception_handler(JobweaveError)
    async def on_jobweave(request: Request, exc: JobweaveError) -> Response:
        return _error(request, status_of(exc), str(exc), "about:blank")

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(request, 422, f"{where}: {first.get('msg', 'invalid')}", "about:blank")

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), "about:blank")

    from jobweave.web.api_routes import router as api_router
    from jobweave.web.pages import router as pages_router

    app.include_router(api_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(Headers)
    return app
