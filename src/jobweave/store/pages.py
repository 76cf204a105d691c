"""Reads for the dashboard: counts by state, change marks, windows of a big run.

Each is one or two indexed queries, so a page of a run with 10,000 jobs, or of a store
with 10,000 runs, costs about what a page of a small one does.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, literal_column, select

from jobweave.errors import RunNotFoundError
from jobweave.store import schema as s
from jobweave.store.base import Leases


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a run stands, cheaply: its last journal record and its row's state.

    Two equal marks mean nothing was committed for the run in between."""

    seq: int
    status: str
    control: str | None
    total: int


@dataclass(frozen=True, slots=True)
class JobSpan:
    """One job's place on a timeline: its name, state and last attempt's times."""

    index: int
    name: str
    status: str
    attempts: int
    started_at: float | None
    finished_at: float | None


class PageReads(Leases):
    """Queries of the dashboard (mixed into ``SqlStore``)."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def run_state_counts(self, *, name: str | None = None,
                         kind: str | None = None) -> dict[str, int]:
        """How many runs are in each state (``crashed`` told apart from ``running``), of
        those of ``kind`` whose name matches the glob ``name`` when given."""
        from jobweave.store.reads import _like

        name_like = None if name is None else _like(name)
        c = s.runs.c
        q = select(c.status, func.count()).group_by(c.status)
        live = select(c.owner, c.heartbeat_at).where(c.status == "running")
        if name_like is not None:
            q = q.where(c.name.ilike(name_like, escape="\\"))
            live = live.where(c.name.ilike(name_like, escape="\\"))
        if kind is not None:
            q, live = q.where(c.kind == kind), live.where(c.kind == kind)
        with self._read() as conn:
            counts = {str(k): int(n) for k, n in conn.execute(q).all()}
            if counts.get("running"):
                now = self.now()
                dead = sum(1 for r in conn.execute(live).all()
                           if not self.alive(r.owner, r.heartbeat_at, now))
                if dead:
                    counts["running"] -= dead
                    counts["crashed"] = dead
                    if not counts["running"]:
                        del counts["running"]
        return counts

    def run_kinds(self) -> list[str]:
        """The kinds of run the store holds (batch, schedule, flow, graph, ...)."""
        with self._read() as conn:
            return sorted(str(k) for k in conn.execute(
                select(s.runs.c.kind).distinct()).scalars())

    def mark(self, run_id: str) -> Mark:
        """The run's :class:`Mark`; raises :class:`RunNotFoundError` when absent."""
        c, j = s.runs.c, s.journal.c
        top = select(func.max(j.seq)).where(j.run_id == run_id).scalar_subquery()
        with self._read() as conn:
            row = conn.execute(select(c.status, c.control, c.total, top)
                               .where(c.run_id == run_id)).first()
        if row is None:
            raise RunNotFoundError(run_id)
        return Mark(int(row[3] or 0), str(row[0]), row[1], int(row[2]))

    def store_mark(self) -> tuple[int, float]:
        """(how many runs, newest journal time) of the whole store: changes when a run is
        made, deleted, or any run commits."""
        with self._read() as conn:
            count = conn.execute(select(func.count()).select_from(s.runs)).scalar()
            newest = conn.execute(select(func.max(s.journal.c.ts))).scalar()
        return int(count or 0), float(newest or 0.0)

    def touched_since(self, run_id: str, seq: int, limit: int = 500) -> set[str]:
        """The jobs (nodes) named by the run's journal records after ``seq``."""
        j = s.journal.c
        q = (select(j.node).distinct().where(j.run_id == run_id, j.seq > seq,
                                             j.node.is_not(None)).limit(limit))
        with self._read() as conn:
            return {str(n) for n in conn.execute(q).scalars()}

    def job_states_by_name(self, run_id: str,
                           names: AbstractSet[str] | None = None) -> list[tuple[str, str, int]]:
        """(name, status, attempts) of every job of the run (of ``names`` when given)."""
        c = s.jobs.c
        q = select(c.name, c.status, c.attempts).where(c.run_id == run_id).order_by(c.idx)
        if names is not None:
            q = q.where(c.name.in_(sorted(names)))
        with self._read() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q).cursor.fetchall()]

    def timeline_window(self, run_id: str, *, after: float | None = None,
                        limit: int = 500) -> list[JobSpan]:
        """The ``limit`` jobs that started first (after ``after``, a start time), in start
        order: what a timeline draws one window of."""
        c = s.jobs.c
        q = (select(c.idx, c.name, c.status, c.attempts, c.started_at, c.finished_at)
             .where(c.run_id == run_id, c.started_at.is_not(None))
             .order_by(c.started_at, c.idx).limit(limit))
        if after is not None:
            q = q.where(c.started_at > after)
        with self._read() as conn:
            return [JobSpan(*r) for r in conn.execute(q).all()]

    def firing_counts(self, run_id: str) -> dict[str, int]:
        """A graph run's firings per node, from its ``fired`` records."""
        j = s.journal.c
        q = (select(j.node, func.count()).where(j.run_id == run_id, j.event == "fired")
             .group_by(j.node))
        with self._read() as conn:
            return {str(n): int(k) for n, k in conn.execute(q).all()}

    def firing_page(self, run_id: str, *, after: int = 0, limit: int = 100,
                    node: str | None = None) -> list[dict[str, Any]]:
        """A page of a graph run's ``fired`` records (seq, ts, node, attempt, data text),
        in record order after journal record ``after``."""
        j = s.journal.c
        q = (select(j.seq, j.ts, j.node, j.attempt, j.data)
             .where(j.run_id == run_id, j.event == "fired", j.seq > after)
             .order_by(j.seq).limit(limit))
        if node is not None:
            q = q.where(j.node == node)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(q).all()]

    def step_states(self, run_ids: Sequence[str]) -> list[tuple[str, str, str, int, int]]:
        """(run id, step, status, jobs, first job index) of the runs' jobs, grouped by
        step: a job's name up to its first ``[`` (``drain[db1]`` and ``drain[db2]`` are
        step ``drain``; a graph run's nodes and plain jobs are their own step). One
        aggregate query, however many jobs the runs hold."""
        if not run_ids:
            return []
        c = s.jobs.c
        with self._read() as conn:
            at = (func.instr(c.name, "[") if conn.dialect.name == "sqlite"
                  else func.strpos(c.name, "["))
            step = case((at > 0, func.substr(c.name, 1, at - 1)), else_=c.name)
            # grouped by position: the step's expression holds bound values, and PostgreSQL
            # would not see two copies of it as the same expression
            by: list[Any] = [literal_column(str(k)) for k in (1, 2, 3)]
            q = (select(c.run_id, step, c.status, func.count(), func.min(c.idx))
                 .where(c.run_id.in_(list(run_ids))).group_by(*by))
            return [(str(r[0]), str(r[1]), str(r[2]), int(r[3]), int(r[4]))
                    for r in conn.execute(q).all()]

