"""Who may do what, and who did: API tokens (kept hashed), the requests made of a run
(read from its journal), the actions log of triggers, and marking a job completed by hand.

A token is shown once, when it is made; the store keeps its sha256 only. Every request
made of a run (cancel, pause, resume, retry failed, mark completed; from the dashboard,
the REST API or the CLI) is journaled in the run's own journal with who made it
(``{"by": ...}``): :func:`requests_of` reads them back. Triggers have no journal: their
pause, resume and fire-now go to the actions log (``jobweave_actions``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select

from jobweave.errors import JobNotFoundError, JobweaveError, RunNotFoundError, RunStateError
from jobweave.store import schema as s
from jobweave.store.history import MARKED, REQUESTS, requested
from jobweave.store.ownership import is_live
from jobweave.store.retry import conflicts_retried

if TYPE_CHECKING:
    from jobweave.store.sql import SqlStore

ROLES = ("viewer", "operator", "admin")
"""Each role may do what the ones before it may: read; act on runs; manage tokens."""
TOKEN_PREFIX = "jw_"
MARKABLE = ("pending", "faulted", "cancelled", "skipped")
"""Job states that can be marked completed by hand."""


@dataclass(frozen=True, slots=True)
class Token:
    """A token as stored: never the token itself."""

    digest: str
    name: str
    role: str
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True, slots=True)
class Action:
    """One request made of a run, and who made it."""

    ts: float
    run_id: str
    job: str | None
    actor: str | None
    """Who asked; None for a request journaled before requests said who."""
    what: str
    detail: dict[str, Any]


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@conflicts_retried
def create_token(store: SqlStore, role: str, name: str, *, now: float | None = None) -> str:
    """Make a token of ``role`` called ``name``; return it (the only time it is seen)."""
    if role not in ROLES:
        raise JobweaveError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if not name.strip():
        raise JobweaveError("a token needs a name (who or what uses it)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store._tx() as conn:
        conn.execute(s.tokens.insert().values(digest=digest_of(token), name=name.strip(),
                                              role=role, created_at=time.time()
                                              if now is None else now))
    return token


def check_token(store: SqlStore, token: str) -> Token | None:
    """The stored token ``token`` is, or None."""
    return token_by_digest(store, digest_of(token))


def token_by_digest(store: SqlStore, digest: str) -> Token | None:
    """The stored token of that sha256, or None."""
    with store._read() as conn:
        row = conn.execute(select(s.tokens).where(s.tokens.c.digest == digest)).first()
    if row is None or not hmac.compare_digest(row.digest, digest):
        return None
    return Token(row.digest, row.name, row.role, row.created_at, row.last_used_at)


def list_tokens(store: SqlStore) -> list[Token]:
    with store._read() as conn:
        rows = conn.execute(select(s.tokens).order_by(s.tokens.c.created_at)).all()
    return [Token(r.digest, r.name, r.role, r.created_at, r.last_used_at) for r in rows]


def token_count(store: SqlStore) -> int:
    with store._read() as conn:
        return int(conn.execute(select(func.count()).select_from(s.tokens)).scalar() or 0)


@conflicts_retried
def revoke_token(store: SqlStore, name_or_digest: str) -> int:
    """Delete the tokens of that name (or digest prefix of 8+ characters); how many went."""
    c = s.tokens.c
    which = c.name == name_or_digest
    if len(name_or_digest) >= 8:
        which = which | c.digest.startswith(name_or_digest, autoescape=True)
    with store._tx() as conn:
        return int(conn.execute(s.tokens.delete().where(which)).rowcount or 0)


@conflicts_retried
def record_action(store: SqlStore, run_id: str, actor: str, what: str, *,
                  job: str | None = None, detail: dict[str, Any] | None = None,
                  now: float | None = None) -> None:
    """Log that ``actor`` asked ``what`` of the run (and job)."""
    with store._tx() as conn:
        conn.execute(s.actions.insert().values(
            id=uuid.uuid4().hex, ts=time.time() if now is None else now, run_id=run_id,
            job=job, actor=actor, what=what, detail=json.dumps(detail or {})))


def actions_of(store: SqlStore, run_id: str, limit: int = 50) -> list[Action]:
    """The run's logged actions, newest first."""
    c = s.actions.c
    with store._read() as conn:
        rows = conn.execute(select(s.actions).where(c.run_id == run_id)
                            .order_by(c.ts.desc()).limit(limit)).all()
    return [Action(r.ts, r.run_id, r.job, r.actor, r.what, json.loads(r.detail or "{}"))
            for r in rows]


def requests_of(store: SqlStore, run_id: str, limit: int = 50) -> list[Action]:
    """The requests made of the run, newest first, as its journal records them: what,
    who asked (``actor``; None for a request journaled before requests said who), the
    job (mark completed), and the record (``detail``: its event and sequence number)."""
    j = s.journal.c
    which = or_(j.event.in_([e for e in REQUESTS if e != "completed"]),
                and_(j.event == "completed", j.data.startswith(MARKED, autoescape=True)))
    q = (select(j.seq, j.ts, j.event, j.node, j.data)
         .where(j.run_id == run_id, which).order_by(j.seq.desc()))
    out: list[Action] = []
    with store._read() as conn:
        for r in conn.execute(q).yield_per(200):
            found = requested(r.event, json.loads(r.data) if r.data else None)
            if found is None:
                continue
            what, by = found
            out.append(Action(r.ts, run_id, r.node, by, what,
                              {"event": r.event, "seq": r.seq}))
            if len(out) >= limit:
                break
    return out


@conflicts_retried
def mark_completed(store: SqlStore, run_id: str, job: str, actor: str, *,
                   now: float | None = None) -> None:
    """Record ``job`` of a stopped run as completed (output None) by ``actor``.

    Journaled as a ``completed`` record of a new attempt whose data says who marked it,
    so a resume keeps the job and runs what depends on it, and a recovery from the
    journal replays it. A run a live process owns is refused: pause it first.
    """
    now = store.now() if now is None else now
    with store._tx() as conn:
        row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)
                           .with_for_update()).first()
        if row is None:
            raise RunNotFoundError(run_id)
        if is_live(row, now, store.lease_seconds):
            raise RunStateError(f"run {run_id} is running; pause or cancel it before marking "
                                "a job completed", run_id=run_id)
        if row.status == "completed":
            raise RunStateError(f"run {run_id} already completed", run_id=run_id)
        if row.kind == "graph":
            raise RunStateError(f"run {run_id} is a graph: its nodes fire per message and "
                                "cannot be marked completed", run_id=run_id)
        c = s.jobs.c
        found = conn.execute(select(c.status, c.attempts).where(
            c.run_id == run_id, c.name == job)).first()
        if found is None:
            raise JobNotFoundError(run_id, job)
        if found.status not in MARKABLE:
            raise RunStateError(f"job {job!r} of run {run_id} is {found.status}; only "
                                f"{', '.join(MARKABLE)} jobs can be marked completed",
                                run_id=run_id)
        attempt = int(found.attempts) + 1
        seq = store._next_seq(conn, run_id)
        conn.execute(s.journal.insert().values(
            run_id=run_id, seq=seq, ts=now, event="completed", node=job, attempt=attempt,
            # "by" first: requests_of finds marked completions by how their data begins
            data=json.dumps({"by": actor, "started": now, "output": None})))
        conn.execute(s.jobs.update().where(c.run_id == run_id, c.name == job).values(
            status="completed", attempts=attempt, output="null", error=None, started_at=now,
            finished_at=now))
