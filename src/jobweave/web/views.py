"""What the pages and the REST API show, built once for both from the store's reads.

Runs and jobs come in keyset pages (``next`` is the cursor of the following page), with
counts by state from one aggregate query; nothing here loads a whole big run.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict
from typing import Any

from jobweave import api
from jobweave.components import livetail
from jobweave.errors import JobNotFoundError, JobweaveError, RunNotFoundError
from jobweave.secrets import MASK, Secrets, load_secrets
from jobweave.store import JobRecord, RunRecord, SqlStore
from jobweave.store.access import requests_of
from jobweave.store.base import as_seen

PAGE = 100
"""Rows of a page, at most."""
RUN_STATES = ("pending", "running", "paused", "completed", "failed", "cancelled", "crashed")
JOB_STATES = ("pending", "running", "completed", "faulted", "cancelled", "skipped",
              "interrupted")
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|private",
                         re.IGNORECASE)


@functools.cache
def _secrets() -> Secrets:
    return load_secrets()


def run_dict(r: RunRecord) -> dict[str, Any]:
    return {"run_id": r.run_id, "name": r.name, "kind": r.kind, "status": str(r.status),
            "total": r.total, "counts": dict(r.counts), "created_at": r.created_at,
            "started_at": r.started_at, "finished_at": r.finished_at,
            "exit_code": r.exit_code, "owner": r.owner, "control": r.control,
            "parent_run": r.parent_run, "source": r.source}


def job_dict(j: JobRecord) -> dict[str, Any]:
    return {"index": j.index, "name": j.name, "kind": j.kind, "status": str(j.status),
            "attempts": j.attempts, "started_at": j.started_at,
            "finished_at": j.finished_at, "duration": j.duration,
            "error": masked_text(j.error), "tags": list(j.tags)}


def masked_text(text: str | None) -> str | None:
    """``text`` with the values of the secrets this process knows as ``***``."""
    if not text:
        return text
    return _secrets().mask(text)


def masked(value: Any, key: str = "") -> Any:
    """Parameters with secrets hidden: values under secret-looking keys, and the values
    of known secrets anywhere."""
    if key and _SECRET_KEY.search(key) and value not in (None, ""):
        return MASK
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        return masked_text(value)
    return value


def run_cursor(r: RunRecord) -> str:
    return f"{r.created_at!r}~{r.run_id}"


def parse_run_cursor(text: str | None) -> tuple[float, str] | None:
    if not text:
        return None
    stamp, sep, run_id = text.partition("~")
    try:
        return float(stamp), run_id if sep else ""
    except ValueError:
        raise JobweaveError(f"bad cursor {text!r}: use the 'next' value of a page") from None


def runs_page(store: SqlStore, *, status: str | None = None, name: str | None = None,
              kind: str | None = None, after: str | None = None,
              limit: int = PAGE) -> dict[str, Any]:
    """A page of runs, newest first, with counts by state of the whole selection."""
    if status is not None and status not in RUN_STATES:
        raise JobweaveError(f"unknown run state {status!r}: use one of "
                            f"{', '.join(RUN_STATES)}")
    limit = max(1, min(limit, PAGE))
    rows = store.list_runs(limit + 1, status, name or None, kind=kind or None,
                           before=parse_run_cursor(after))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"runs": rows, "next": run_cursor(rows[-1]) if more and rows else None,
            "counts": store.run_state_counts(name=name or None, kind=kind or None)}


def get_run(store: SqlStore, ref: str) -> RunRecord:
    """The run ``ref`` names (an id, a unique prefix, or ``last``), as ``jobweave status``."""
    return api.get_run(ref, store=store.url)


def resolve(store: SqlStore, ref: str) -> str:
    """The full id of the run ``ref`` names, without counting its jobs."""
    try:
        return store.get_run(ref, counts=False).run_id
    except RunNotFoundError:
        return get_run(store, ref).run_id


def jobs_page(store: SqlStore, run: RunRecord, *, state: str | None = None,
              after: int | None = None, limit: int = PAGE) -> dict[str, Any]:
    """A page of the run's jobs in order (those in ``state`` when given)."""
    if state is not None and state not in JOB_STATES:
        raise JobweaveError(f"unknown job state {state!r}: use one of "
                            f"{', '.join(JOB_STATES)}")
    limit = max(1, min(limit, PAGE))
    stored = "running" if state == "interrupted" else state
    rows = store.find_jobs(run.run_id, statuses=None if stored is None else [stored],
                           after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = [as_seen(j, run) for j in rows[:limit]]
    return {"jobs": rows, "next": rows[-1].index if more and rows else None}


def run_detail(store: SqlStore, ref: str, *, state: str | None = None,
               after: int | None = None, limit: int = PAGE) -> dict[str, Any]:
    run_id = resolve(store, ref)
    mark = store.mark(run_id).seq  # before the reads: the page's stream starts here
    run = store.get_run(run_id)
    page = jobs_page(store, run, state=state, after=after, limit=limit)
    return {"run": run, **page, "mark": mark,
            "actions": requests_of(store, run.run_id, limit=20)}


def definition_node(store: SqlStore, run_id: str, name: str) -> dict[str, Any] | None:
    """The job's entry in the run's stored definition (target, params, options)."""
    for node in store.submitted(run_id)["definition"].get("nodes", ()):
        if node.get("name") == name:
            return dict(node)
    return None


def job_detail(store: SqlStore, ref: str, name: str) -> dict[str, Any]:
    """One job in full: its row, every attempt from the journal, its definition with
    secrets masked, its output."""
    run_id = resolve(store, ref)
    mark = store.mark(run_id).seq  # before the reads: the page's stream starts here
    run = store.get_run(run_id)
    found = store.find_jobs(run.run_id, name=name)
    if not found:
        raise JobNotFoundError(run.run_id, name)
    job = as_seen(found[0], run)
    attempts = store.attempts(run.run_id, [name], live=run.status == "running").get(name, [])
    node = definition_node(store, run.run_id, name) or {}
    target = node.get("target")
    rows = [{**asdict(a), "duration": a.duration, "live": False,
             "error": masked_text(a.error), "stdout": masked_text(a.stdout) or "",
             "stderr": masked_text(a.stderr) or ""} for a in attempts]
    if rows and rows[-1]["status"] == "running" and run.status == "running":
        rows[-1].update(live_output(run.run_id, name, rows[-1]["number"]))
    return {
        "run": run, "job": job, "mark": mark, "attempts": rows,
        "live": bool(rows) and rows[-1]["live"],
        "params": masked(node.get("params") or {}),
        "target": masked_text(target) if isinstance(target, str) else None,
        "after": node.get("after") or [],
        "output": masked(job.output),
        "output_text": masked_text(json.dumps(job.output, indent=2, default=str)),
    }


def live_output(run_id: str, job: str, attempt: int) -> dict[str, Any]:
    """What a running shell attempt wrote so far, from its live files (on this host),
    as ``live``, ``stdout`` and ``stderr``; nothing where there are no such files."""
    found = {stream: livetail.read(run_id, job, attempt, stream)
             for stream in livetail.STREAMS}
    if all(text is None for text in found.values()):
        return {}
    return {"live": True, **{stream: masked_text(text) or "" for stream, text in found.items()}}


def log_tail(detail: dict[str, Any], stream: str = "stdout",
             limit: int = 64 * 1024) -> str:
    """The last ``limit`` characters the job's last attempt wrote to ``stream`` (a shell
    job's output, else what a Python job printed)."""
    text = ""
    if detail["attempts"]:
        text = detail["attempts"][-1].get(stream) or ""
    output = detail["job"].output
    if not text and isinstance(output, dict) and isinstance(output.get(stream), str):
        text = masked_text(output[stream]) or ""
    return text[-limit:]
