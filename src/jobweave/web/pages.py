"""The dashboard's pages: server-rendered, readable with JavaScript off; forms for
actions (each with the session's CSRF token), live updates over server-sent events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from jobweave.errors import JobweaveError
from jobweave.store.access import check_token
from jobweave.web import views
from jobweave.web.auth import Principal, check_csrf, new_session, require, set_session
from jobweave.web.graph import BOX_H, BOX_W, dominant, layout, with_counts
from jobweave.web.history import flow_history
from jobweave.web.render import page
from jobweave.web.timeline import build as build_timeline
from jobweave.web.triggers_view import trigger_action, trigger_rows

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]


def _back(url: str, note: str | None = None) -> RedirectResponse:
    if note:
        url += ("&" if "?" in url else "?") + "note=" + quote(note)
    return RedirectResponse(url, status_code=303)


def _acted(url: str, what: str, act: Callable[[], str]) -> RedirectResponse:
    """Do ``act``; back to ``url`` with a note saying how it went."""
    try:
        note = f"{what}: run is {act()}"
    except JobweaveError as exc:
        note = f"{what} refused: {exc}"
    return _back(url, note)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/runs", status_code=303)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/runs")
def runs_page(request: Request, who: Viewer, state: str | None = None,
              name: str | None = None, kind: str | None = None,
              after: str | None = None) -> Response:
    store = request.app.state.store
    data = views.runs_page(store, status=state or None, name=name or None,
                           kind=kind or None, after=after)
    return page(request, "runs.html", {"who": who, **data, "states": views.RUN_STATES,
                                       "kinds": store.run_kinds(), "state": state or "",
                                       "name": name or "", "kind": kind or ""})


@router.get("/runs/{run}")
def run_page(request: Request, run: str, who: Viewer, state: str | None = None,
             after: Annotated[int | None, Query(ge=-1)] = None) -> Response:
    data = views.run_detail(request.app.state.store, run, state=state or None, after=after)
    return page(request, "run.html", {"who": who, **data, "state": state or "",
                                      "job_states": views.JOB_STATES})


@router.post("/runs/bulk")
async def bulk_form(request: Request, who: Operator,
                    action: Annotated[str, Form()]) -> Response:
    form = await request.form()
    ids = [str(v) for v in form.getlist("ids")]
    results = request.app.state.actions.bulk(action, ids, who.name)
    failed = [f"{k}: {v['error']}" for k, v in results.items() if not v["ok"]]
    note = f"{action}: {len(results) - len(failed)} of {len(results)} runs" + (
        "; " + "; ".join(failed) if failed else "")
    return _back("/runs", note)


@router.post("/runs/{run}/action")
def run_action(request: Request, run: str, who: Operator,
               action: Annotated[str, Form()]) -> Response:
    record = views.get_run(request.app.state.store, run)
    return _acted(f"/runs/{record.run_id}", action, lambda: request.app.state.actions
                  .run_action(record, action, who.name))


@router.post("/runs/{run}/jobs/{job}/mark-completed")
def mark_form(request: Request, run: str, job: str, who: Operator) -> Response:
    record = views.get_run(request.app.state.store, run)
    return _acted(f"/runs/{record.run_id}/jobs/{quote(job)}", f"mark {job} completed",
                  lambda: request.app.state.actions.mark_completed(record, job, who.name))


@router.get("/runs/{run}/jobs/{job}")
def job_page(request: Request, run: str, job: str, who: Viewer) -> Response:
    d = views.job_detail(request.app.state.store, run, job)
    return page(request, "job.html", {"who": who, **d, "log": views.log_tail(d),
                                      "errlog": views.log_tail(d, "stderr")})


@router.get("/runs/{run}/graph")
def graph_page(request: Request, run: str, who: Viewer) -> Response:
    store = request.app.state.store
    record = views.get_run(store, run)
    lay = layout(store.submitted(record.run_id)["definition"], record.digest)
    boxes = with_counts(lay, store.job_states_by_name(record.run_id))
    where = {b.key: b for b in boxes}
    edges = [(where[a], where[b]) for a, b in lay.edges if a in where and b in where]
    fired = store.firing_counts(record.run_id) if record.kind == "graph" else {}
    return page(request, "graph.html", {
        "who": who, "run": record, "layout": lay, "boxes": boxes, "edges": edges,
        "state_of": dominant, "fired": fired, "bw": BOX_W, "bh": BOX_H})


@router.get("/runs/{run}/timeline")
def timeline_page(request: Request, run: str, who: Viewer,
                  after: float | None = None) -> Response:
    store = request.app.state.store
    record = views.get_run(store, run)
    line = build_timeline(store, record.run_id, live=record.status == "running",
                          now=time.time(), tz=request.app.state.config.tz, after=after)
    return page(request, "timeline.html", {"who": who, "run": record, "line": line})


@router.get("/flows/{name:path}")
def flow_page(request: Request, name: str, who: Viewer, after: str | None = None) -> Response:
    data = flow_history(request.app.state.store, name, after=after)
    return page(request, "flow.html", {"who": who, **data})


@router.get("/triggers")
def triggers_page(request: Request, who: Viewer) -> Response:
    return page(request, "triggers.html", {"who": who,
                                           "rows": trigger_rows(request.app.state.store)})


@router.post("/triggers/{trigger}/action")
def trigger_form(request: Request, trigger: str, who: Operator,
                 action: Annotated[str, Form()]) -> Response:
    try:
        done = trigger_action(request.app.state.store, trigger, action, who.name,
                              request.app.state.nudge)
        note = f"{action} {trigger}: " + (done["note"] or ("paused" if done["paused"]
                                                          else "active"))
    except JobweaveError as exc:
        note = f"{action} refused: {exc}"
    return _back("/triggers", note)


@router.get("/login")
def login_page(request: Request, next: str = "/runs") -> Response:
    return page(request, "login.html", {"next": _local(next), "who": None, "error": None})


@router.post("/login")
async def login(request: Request, token: Annotated[str, Form()],
                next: Annotated[str, Form()] = "/runs") -> Response:
    await check_csrf(request)
    found = check_token(request.app.state.store, token.strip())
    if found is None:
        return page(request, "login.html", {"next": _local(next), "who": None,
                                            "error": "that token is not valid"}, status=401)
    set_session(request, new_session(found.name, found.role, found.digest))
    response = page(request, "redirect.html", {"to": _local(next), "who": None})
    response.status_code = 303
    response.headers["location"] = _local(next)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    set_session(request, new_session())
    response = page(request, "redirect.html", {"to": "/login", "who": None})
    response.status_code = 303
    response.headers["location"] = "/login"
    return response


def _local(url: str) -> str:
    """Only a path on this server is a place to go after login."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/runs"
    return url
