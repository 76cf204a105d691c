"""The REST API under ``/api/v1`` (see docs/api.md). Errors are problem JSON whose
``detail`` is the one line the CLI prints for the same problem."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, Field

from jobweave.store.access import (
    ROLES,
    create_token,
    list_tokens,
    requests_of,
    revoke_token,
)
from jobweave.web import views
from jobweave.web.auth import Principal, auth_on, require
from jobweave.web.gate import closing_when_on
from jobweave.web.graph import dominant, layout, with_counts
from jobweave.web.history import MAX_RUNS, RUNS, flow_history, history_dict
from jobweave.web.live import run_events, store_events
from jobweave.web.triggers_view import (
    find_trigger,
    trigger_action,
    trigger_dict,
    trigger_log,
    trigger_rows,
)

router = APIRouter(prefix="/api/v1")
Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Limit = Annotated[int, Query(ge=1, le=views.PAGE)]


class Bulk(BaseModel):
    action: str = Field(description="cancel, pause, resume or retry-failed")
    ids: list[str] = Field(max_length=500)


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(description="viewer, operator or admin")


@router.get("/runs", tags=["runs"])
def list_runs(request: Request, who: Viewer, state: str | None = None,
              name: str | None = None, kind: str | None = None, after: str | None = None,
              limit: Limit = views.PAGE) -> dict[str, Any]:
    """Runs newest first, a keyset page at a time (``after`` = the last page's ``next``),
    with the counts by state of every run that matches."""
    page = views.runs_page(request.app.state.store, status=state, name=name, kind=kind,
                           after=after, limit=limit)
    return {**page, "runs": [views.run_dict(r) for r in page["runs"]]}


@router.get("/runs/{run}", tags=["runs"])
def get_run(request: Request, run: str, who: Viewer) -> dict[str, Any]:
    """One run (an id, a unique prefix, or ``last``) with its jobs counted by state."""
    return views.run_dict(views.get_run(request.app.state.store, run))


@router.get("/runs/{run}/jobs", tags=["runs"])
def list_jobs(request: Request, run: str, who: Viewer, state: str | None = None,
              after: Annotated[int | None, Query(ge=-1)] = None,
              limit: Limit = views.PAGE) -> dict[str, Any]:
    """A page of the run's jobs in order (``after`` = the last page's ``next``)."""
    store = request.app.state.store
    record = views.get_run(store, run)
    page = views.jobs_page(store, record, state=state, after=after, limit=limit)
    return {"jobs": [views.job_dict(j) for j in page["jobs"]], "next": page["next"]}


@router.get("/runs/{run}/jobs/{job}", tags=["runs"])
def get_job(request: Request, run: str, job: str, who: Viewer) -> dict[str, Any]:
    """One job: every attempt (from the journal), parameters with secrets masked,
    output and error. While a shell job runs on this host, ``live`` is true and its last
    attempt's ``stdout`` and ``stderr`` are the output so far."""
    d = views.job_detail(request.app.state.store, run, job)
    return {"run_id": d["run"].run_id, **views.job_dict(d["job"]), "target": d["target"],
            "params": d["params"], "after": d["after"], "output": d["output"],
            "live": d["live"], "history": d["attempts"]}


@router.get("/runs/{run}/jobs/{job}/log", tags=["runs"], response_class=PlainTextResponse)
def job_log(request: Request, run: str, job: str, who: Viewer,
            stream: Annotated[str, Query(pattern="^(stdout|stderr)$")] = "stdout",
            limit: Annotated[int, Query(ge=1, le=1 << 20)] = 64 * 1024) -> str:
    """The tail of what the job's last attempt wrote to ``stream`` (so far, while a shell
    job runs on this host)."""
    return views.log_tail(views.job_detail(request.app.state.store, run, job), stream, limit)


@router.get("/runs/{run}/nodes", tags=["graphs"])
def run_nodes(request: Request, run: str, who: Viewer) -> dict[str, Any]:
    """The run's definition nodes (numbered siblings folded on big runs), laid out in
    layers, with their jobs counted by state and a graph run's firings per node."""
    store = request.app.state.store
    record = views.get_run(store, run)
    lay = layout(store.submitted(record.run_id)["definition"], record.digest)
    boxes = with_counts(lay, store.job_states_by_name(record.run_id))
    fired = store.firing_counts(record.run_id) if record.kind == "graph" else {}
    return {"folded": lay.folded, "edges": [list(e) for e in lay.edges],
            "nodes": [{**asdict(b), "state": dominant(b), "firings": fired.get(b.key, 0)}
                      for b in boxes]}


@router.get("/runs/{run}/firings", tags=["graphs"])
def run_firings(request: Request, run: str, who: Viewer, node: str | None = None,
                after: Annotated[int, Query(ge=0)] = 0,
                limit: Limit = views.PAGE) -> dict[str, Any]:
    """A page of a graph run's firings in record order (``after`` = a journal seq)."""
    store = request.app.state.store
    record = views.get_run(store, run)
    rows = store.firing_page(record.run_id, after=after, limit=limit, node=node)
    out = [{**{k: r[k] for k in ("seq", "ts", "node", "attempt")},
            "data": views.masked(json.loads(r["data"]) if r["data"] else None)} for r in rows]
    return {"firings": out, "next": out[-1]["seq"] if len(out) == limit else None}


@router.get("/runs/{run}/actions", tags=["runs"])
def run_actions(request: Request, run: str, who: Viewer) -> dict[str, Any]:
    """Who asked what of the run, newest first."""
    store = request.app.state.store
    record = views.get_run(store, run)
    return {"actions": [asdict(a) for a in requests_of(store, record.run_id)]}


@router.get("/runs/{run}/events", tags=["live"])
def run_stream(request: Request, run: str, who: Viewer,
               since: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
    """Server-sent events: the run's state after each commit after journal record
    ``since`` (the page's; ``Last-Event-ID`` wins on a reconnect)."""
    store = request.app.state.store
    record = views.get_run(store, run)
    last = request.headers.get("last-event-id", "")
    if last.isdigit():
        since = int(last)
    elif since is None:
        since = store.mark(record.run_id).seq
    cfg = request.app.state.config
    return StreamingResponse(run_events(
        store, record.run_id, since=since, stopping=request.app.state.stopping,
        poll=cfg.poll_seconds, keepalive=cfg.keepalive_seconds,
        gone=_gone(request)), media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"})


@router.get("/events", tags=["live"])
def all_stream(request: Request, who: Viewer) -> StreamingResponse:
    """Server-sent events: ``changed`` whenever runs are made, deleted or commit."""
    cfg = request.app.state.config
    return StreamingResponse(store_events(
        request.app.state.store, stopping=request.app.state.stopping,
        poll=cfg.poll_seconds, keepalive=cfg.keepalive_seconds,
        gone=_gone(request)), media_type="text/event-stream",
        headers={"cache-control": "no-store"})


def _gone(request: Request) -> Callable[[], Awaitable[bool]]:
    """The client left, or (a stream opened without auth) auth is now on."""
    return closing_when_on(request.app.state.auth, not auth_on(request),
                           request.is_disconnected)


@router.post("/runs/bulk", tags=["actions"])
def bulk(request: Request, who: Operator, body: Annotated[Bulk, Body()]) -> dict[str, Any]:
    """One action on several runs: each run's new status, or its one-line error."""
    return {"results": request.app.state.actions.bulk(body.action, body.ids, who.name)}


@router.post("/runs/{run}/{action}", tags=["actions"])
def act(request: Request, run: str, action: str, who: Operator) -> dict[str, Any]:
    """``cancel``, ``pause``, ``resume`` or ``retry-failed`` (resume re-runs faulted,
    cancelled and skipped jobs with what depends on them; completed ones are kept)."""
    record = views.get_run(request.app.state.store, run)
    status = request.app.state.actions.run_action(record, action, who.name)
    return {"run_id": record.run_id, "action": action, "status": status}


@router.post("/runs/{run}/jobs/{job}/mark-completed", tags=["actions"])
def mark(request: Request, run: str, job: str, who: Operator,
         release: bool = True) -> dict[str, Any]:
    """Record a job of a stopped run completed; ``release`` resumes the run so the jobs
    waiting for it run."""
    record = views.get_run(request.app.state.store, run)
    status = request.app.state.actions.mark_completed(record, job, who.name, release=release)
    return {"run_id": record.run_id, "job": job, "status": status}


@router.get("/triggers", tags=["triggers"])
def triggers(request: Request, who: Viewer) -> dict[str, Any]:
    """Every trigger served on this store: its last and next fires, and its last run."""
    return {"triggers": trigger_rows(request.app.state.store)}


@router.get("/triggers/{trigger}", tags=["triggers"])
def get_trigger(request: Request, trigger: str, who: Viewer) -> dict[str, Any]:
    """One trigger (its id, from the list) and who paused, resumed or fired it."""
    store = request.app.state.store
    row = find_trigger(store, trigger)
    return {**trigger_dict(row, datetime.now(UTC)), "actions": trigger_log(store, row.key)}


@router.post("/triggers/{trigger}/{action}", tags=["actions"])
def act_on_trigger(request: Request, trigger: str, action: str,
                   who: Operator) -> dict[str, Any]:
    """``pause`` (no scheduled fire starts until resumed), ``resume`` (fire times that
    passed while paused are skipped) or ``fire-now`` (the serving process starts one run
    at its next round, whatever the overlap policy; each asked fire starts once)."""
    return trigger_action(request.app.state.store, trigger, action, who.name,
                          request.app.state.nudge)


@router.get("/flows/{name:path}", tags=["runs"])
def flow_runs(request: Request, name: str, who: Viewer, after: str | None = None,
              limit: Annotated[int, Query(ge=1, le=MAX_RUNS)] = RUNS) -> dict[str, Any]:
    """The last runs of the definition ``name`` by its steps (a job's name up to its
    first ``[``; a graph run's nodes): each cell's jobs counted by state and the worst
    state. ``after`` = the last page's ``next``."""
    return history_dict(flow_history(request.app.state.store, name, limit=limit,
                                     after=after))


@router.get("/whoami", tags=["auth"])
def whoami(who: Viewer) -> dict[str, Any]:
    return {"name": who.name, "role": who.role, "via": who.via}


@router.get("/tokens", tags=["auth"])
def tokens(request: Request, who: Admin) -> dict[str, Any]:
    """The API tokens (their names, roles and digests' prefixes; never the tokens)."""
    return {"tokens": [{"name": t.name, "role": t.role, "id": t.digest[:12],
                        "created_at": t.created_at}
                       for t in list_tokens(request.app.state.store)]}


@router.post("/tokens", tags=["auth"])
def new_token(request: Request, who: Admin, body: Annotated[NewToken, Body()]) -> dict[str, Any]:
    """Make a token; the answer is the only time it is shown."""
    token = create_token(request.app.state.store, body.role, body.name)
    return {"name": body.name, "role": body.role, "token": token, "roles": list(ROLES)}


@router.delete("/tokens/{name}", tags=["auth"])
def delete_token(request: Request, name: str, who: Admin) -> dict[str, Any]:
    """Revoke the tokens of that name (or id)."""
    return {"revoked": revoke_token(request.app.state.store, name)}
