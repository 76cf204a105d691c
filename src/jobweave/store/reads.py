"""The store's queries: runs, jobs and journals as plain records."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, case, func, or_, select

from jobweave.errors import RunNotFoundError
from jobweave.store import schema as s
from jobweave.store.base import (
    HAND_OFF,
    INTERRUPTED,
    JOB_STATES,
    JobRecord,
    Leases,
    RunRecord,
    RunStatus,
    is_handed_off,
    process_gone,
)
from jobweave.store.history import (
    ATTEMPT_EVENTS,
    SEGMENT_EVENTS,
    TAKEN_OVER,
    Attempt,
    attempts_of,
    segments,
)


class Orphan(NamedTuple):
    """A run an engine may continue (see :meth:`RunReads.orphans`)."""

    run_id: str
    status: str
    """``crashed`` (its owner's lease ran out), ``pending`` (never claimed) or ``handed
    off`` (paused by a serving engine that stopped)."""
    owner: str | None
    """The owner whose lease ran out."""
    control: str | None
    """A request the owner never answered (``cancel`` or ``pause``)."""
    owner_gone: bool = False
    """A crashed run's owner is a process of this host that no longer exists (its lease
    ended at once); False: its lease ran out (no heartbeat for the lease)."""


class RunReads(Leases):
    """Read-only queries, shared by every database (mixed into ``SqlStore``)."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def get_run(self, run_id: str, *, counts: bool = True) -> RunRecord:
        with self._read() as conn:
            row = conn.execute(select(s.runs).where(s.runs.c.run_id == run_id)).first()
            if row is None:
                raise RunNotFoundError(run_id)
            tally = self._counts(conn, [run_id]).get(run_id, {}) if counts else {}
            crashed = self._crashed(row)
            seen = self._last_seen(conn, [row], {run_id} if crashed else set())
        return _run_record(row, tally, crashed, seen.get(run_id))

    def _crashed(self, row: Any, now: float | None = None) -> bool:
        """Whether a stored run row reads ``crashed``: running, its owner's lease gone."""
        return bool(row.status == "running" and not self.alive(row.owner, row.heartbeat_at,
                                                                now))

    def orphans(self, *, pending_after: float, now: float | None = None) -> list[Orphan]:
        """Runs no live process executes that an engine may continue: stored running with
        their owner's lease gone (crashed), pending with no owner for ``pending_after``
        seconds (no worker ever claimed them), or paused by a serving engine that stopped
        (``HAND_OFF`` in their ``control``). Child runs (``RUN.FIRING``) are left to
        their parent's owner, which resumes them itself."""
        now = self.now() if now is None else now
        c = s.runs.c
        q = select(c.run_id, c.status, c.owner, c.heartbeat_at, c.control, c.created_at
                   ).where(or_(c.status.in_(("running", "pending")),
                               and_(c.status == "paused", c.control == HAND_OFF)))
        with self._read() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            if "." in r.run_id:
                continue
            if r.status == "running" and not self.alive(r.owner, r.heartbeat_at, now):
                gone = bool(r.owner) and process_gone(r.owner)
                out.append(Orphan(r.run_id, "crashed", r.owner, r.control, gone))
            elif (r.status == "pending" and r.owner is None
                  and now - r.created_at > pending_after):
                out.append(Orphan(r.run_id, "pending", None, r.control))
            elif is_handed_off(r.status, r.control) and r.owner is None:
                out.append(Orphan(r.run_id, "handed off", None, None))
        return out

    def find_runs(self, prefix: str) -> list[str]:
        """Run ids starting with ``prefix`` (for short ids on the command line)."""
        with self._read() as conn:
            rows = conn.execute(select(s.runs.c.run_id).where(
                s.runs.c.run_id.startswith(prefix, autoescape=True)).limit(5)).all()
        return [r.run_id for r in rows]

    def list_runs(self, limit: int = 20, status: str | None = None,
                  name: str | None = None, *, kind: str | None = None,
                  before: tuple[float, str] | None = None,
                  exact: bool = False, children: bool = True) -> list[RunRecord]:
        """The most recent runs first; only those in ``status``, of ``kind``, and whose
        name matches the glob ``name`` (``*`` and ``?``, any case), when given; with
        ``exact``, whose name is ``name``; without ``children``, no graph's child runs
        (``RUN.FIRING``).

        ``before`` is a keyset cursor, the (created_at, run_id) of the last run of the
        previous page: the page starts after it, as fast deep as on top.
        """
        # A crashed run is stored as running: only its owner's lease tells them apart, so
        # for those two states the limit applies after the lease is read (few runs are
        # stored as running at a time).
        live = status in ("running", "crashed")
        c = s.runs.c
        with self._read() as conn:
            q = select(s.runs).order_by(c.created_at.desc(), c.run_id.desc())
            if not live:
                q = q.limit(limit)
            if name is not None and exact:
                q = q.where(c.name == name)
            elif name is not None:
                q = q.where(c.name.ilike(_like(name), escape="\\"))
            if kind is not None:
                q = q.where(c.kind == kind)
            if not children:
                q = q.where(~c.run_id.contains(".", autoescape=True))
            if before is not None:
                q = q.where((c.created_at < before[0])
                            | ((c.created_at == before[0]) & (c.run_id < before[1])))
            if status is not None:
                q = q.where(c.status == ("running" if live else status))
            rows = conn.execute(q).all()
            tally = self._counts(conn, [r.run_id for r in rows])
            now = self.now()
            crashed = {r.run_id for r in rows if self._crashed(r, now)}
            seen = self._last_seen(conn, rows, crashed)
        records = [_run_record(r, tally.get(r.run_id, {}), r.run_id in crashed,
                               seen.get(r.run_id)) for r in rows]
        if live:
            records = [r for r in records if r.status == status][:limit]
        return records

    def _counts(self, conn: Connection, run_ids: list[str]) -> dict[str, dict[str, int]]:
        if not run_ids:
            return {}
        rows = conn.execute(select(s.jobs.c.run_id, s.jobs.c.status, func.count())
                            .where(s.jobs.c.run_id.in_(run_ids))
                            .group_by(s.jobs.c.run_id, s.jobs.c.status)).all()
        out: dict[str, dict[str, int]] = {}
        for run_id, status, n in rows:
            out.setdefault(run_id, {})[status] = n
        return out

    def _last_seen(self, conn: Connection, rows: Sequence[Any],
                   crashed: set[str]) -> dict[str, float]:
        """When each crashed (ids in ``crashed``) or paused run of ``rows`` last did anything."""
        stopped = [r for r in rows if r.status == "paused" or r.run_id in crashed]
        if not stopped:
            return {}
        last = dict(conn.execute(select(s.journal.c.run_id, func.max(s.journal.c.ts))
                                 .where(s.journal.c.run_id.in_([r.run_id for r in stopped]))
                                 .group_by(s.journal.c.run_id)).all())
        return {r.run_id: max(r.heartbeat_at or 0.0, last.get(r.run_id) or 0.0)
                for r in stopped}

    def get_jobs(self, run_id: str) -> list[JobRecord]:
        """Every job of the run, in order."""
        return self.find_jobs(run_id)

    def find_jobs(
        self,
        run_id: str,
        *,
        statuses: Sequence[str] | None = None,
        name: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        after: int | None = None,
        names: Sequence[str] | None = None,
    ) -> list[JobRecord]:
        """A page of a run's jobs in order, only those in ``statuses`` (and the one called
        ``name``, or those in ``names``) when given; ``after``: only jobs whose index is
        greater (a keyset cursor).

        For listings of big runs: the problem jobs, or the first N, without loading all.
        """
        q = select(s.jobs).where(s.jobs.c.run_id == run_id).order_by(s.jobs.c.idx)
        if name is not None:
            q = q.where(s.jobs.c.name == name)
        if names is not None:
            q = q.where(s.jobs.c.name.in_(list(names)))
        if after is not None:
            q = q.where(s.jobs.c.idx > after)
        if statuses is not None:
            q = q.where(s.jobs.c.status.in_(list(statuses)))
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset)
        with self._read() as conn:
            rows = conn.execute(q).all()
        if not rows:
            self.get_run(run_id, counts=False)  # raises RunNotFoundError when absent
        return [JobRecord(r.idx, r.name, r.kind, JOB_STATES.get(r.status, r.status), r.attempts,
                          json.loads(r.output) if r.output is not None else None, r.error,
                          r.started_at, r.finished_at,
                          tuple(json.loads(r.tags)) if r.tags else ()) for r in rows]

    def job_states(self, run_id: str) -> list[tuple[Any, ...]]:
        """(name, status, attempts, output JSON text, error, started, finished, lost) of
        every job that has done anything (never-started jobs have nothing to carry over),
        undecoded: what a resume needs, at the cost of one query."""
        cols = s.jobs.c
        query = select(cols.name, cols.status, cols.attempts, cols.output, cols.error,
                       cols.started_at, cols.finished_at, cols.lost).where(
            cols.run_id == run_id, (cols.status != "pending") | (cols.attempts > 0))
        with self._read() as conn:
            # plain driver tuples: 100,000 result rows cost a third as much as Row objects
            return list(conn.execute(query).cursor.fetchall())

    def journal(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The run's journal records in order, each a plain dict with decoded data."""
        self.get_run(run_id, counts=False)
        with self._read() as conn:
            result = conn.execute(select(s.journal).where(s.journal.c.run_id == run_id)
                                  .order_by(s.journal.c.seq)).yield_per(2000)
            for r in result:
                yield {"run": r.run_id, "seq": r.seq, "ts": r.ts, "event": r.event,
                       "node": r.node, "attempt": r.attempt,
                       "data": json.loads(r.data) if r.data is not None else None}

    def firings(self, run_id: str, node: str | None = None) -> list[tuple[float, str, str]]:
        """A graph run's ``fired`` records in order, as ``(ts, node, data)``: every
        firing of the run (of ``node`` only, when given)."""
        j = s.journal.c
        q = select(j.ts, j.node, j.data).where(j.run_id == run_id, j.event == "fired")
        if node is not None:
            q = q.where(j.node == node)
        with self._read() as conn:
            return [(r.ts, r.node, r.data) for r in conn.execute(q.order_by(j.seq)).all()]

    def taken_over(self, run_id: str) -> dict[str, tuple[int, int]]:
        """Per node of a graph run: its firings, and how many of them a recovery took
        over from the run it recovered (``fired`` records marked ``replayed_from``)."""
        j = s.journal.c
        taken = func.sum(case((j.data.startswith(TAKEN_OVER, autoescape=True), 1), else_=0))
        q = (select(j.node, func.count(), taken)
             .where(j.run_id == run_id, j.event == "fired").group_by(j.node))
        with self._read() as conn:
            return {str(n): (int(k), int(t or 0)) for n, k, t in conn.execute(q).all()}

    def execution_starts(self, run_id: str) -> list[float]:
        """When each execution of the run started (its ``run_started`` records), in order."""
        j = s.journal.c
        q = select(j.ts).where(j.run_id == run_id, j.event == "run_started").order_by(j.seq)
        with self._read() as conn:
            return [float(ts) for ts in conn.execute(q).scalars().all()]

    def attempts(self, run_id: str, names: Sequence[str] | None = None, *,
                 live: bool = False) -> dict[str, list[Attempt]]:
        """Each job's attempts (of the jobs ``names``, or all), oldest first: status,
        times, error and what it printed, as the journal recorded them. ``live``: the
        run's owner is running it (an open attempt is running, not interrupted)."""
        j = s.journal.c
        which = j.node.in_(list(names)) if names is not None else j.node.is_not(None)
        q = (select(j.seq, j.ts, j.event, j.node, j.attempt, j.data)
             .where(j.run_id == run_id,
                    (which & j.event.in_(ATTEMPT_EVENTS)) | (j.event == "run_started"))
             .order_by(j.seq))
        with self._read() as conn:
            rows = conn.execute(q).all()
        return attempts_of(({"seq": r.seq, "ts": r.ts, "event": r.event, "node": r.node,
                             "attempt": r.attempt,
                             "data": json.loads(r.data) if r.data else None} for r in rows),
                           live=live)

    def executed(self, run_id: str, names: Sequence[str] | None = None) -> set[str]:
        """The jobs (of ``names``, or all) that completed by running in this run, as
        opposed to completions a recovery took over from the journal it replayed."""
        j = s.journal.c
        q = select(j.node).distinct().where(j.run_id == run_id, j.event == "completed")
        if names is not None:
            q = q.where(j.node.in_(list(names)))
        with self._read() as conn:
            return {r.node for r in conn.execute(q).all()}

    def executed_count(self, run_id: str) -> int:
        """How many jobs completed by running in this run (see :meth:`executed`)."""
        j = s.journal.c
        q = select(func.count(j.node.distinct())).where(j.run_id == run_id,
                                                         j.event == "completed")
        with self._read() as conn:
            return int(conn.execute(q).scalar() or 0)

    def resumed(self, run_ids: Sequence[str]) -> set[str]:
        """Which of these runs ran in more than one execution (they were resumed): only
        theirs need :meth:`spans` for a duration that leaves out the time between."""
        if not run_ids:
            return set()
        j = s.journal.c
        q = (select(j.run_id).where(j.run_id.in_(list(run_ids)), j.event == "run_started")
             .group_by(j.run_id).having(func.count() > 1))
        with self._read() as conn:
            return set(conn.execute(q).scalars().all())

    def spans(self, record: RunRecord) -> list[tuple[float, float | None]]:
        """The run's executions as (start, end) times; the end of the one still running
        is None. A run resumed after a pause or a crash has one per execution."""
        j = s.journal.c
        with self._read() as conn:
            rows = conn.execute(select(j.seq, j.ts, j.event).where(
                j.run_id == record.run_id, j.event.in_(SEGMENT_EVENTS))
                .order_by(j.seq)).all()
            parts = segments({"seq": r.seq, "ts": r.ts, "event": r.event} for r in rows)
            out: list[tuple[float, float | None]] = []
            for k, (first, began, last, ended) in enumerate(parts):
                if ended is None and last is not None:
                    # an owner that died: its execution ended with its last record
                    ended = conn.execute(select(func.max(j.ts)).where(
                        j.run_id == record.run_id, j.seq > first, j.seq <= last,
                        j.event.not_in(("redefined", "cancel_requested", "run_paused"))
                    )).scalar()
                elif ended is None and k == len(parts) - 1 and record.status != "running":
                    ended = record.last_seen_at or record.finished_at
                out.append((began, ended if ended is not None else
                            (began if last is not None else None)))
        return out

    def submitted(self, run_id: str) -> dict[str, Any]:
        """The run's current definition record: definition, digest, options, source.

        That is the ``submitted`` record, or the latest ``redefined`` one after a resume
        that accepted changes.
        """
        with self._read() as conn:
            data = conn.execute(select(s.journal.c.data).where(and_(
                s.journal.c.run_id == run_id,
                s.journal.c.event.in_(("submitted", "redefined"))))
                .order_by(s.journal.c.seq.desc()).limit(1)).scalar()
        if data is None:
            raise RunNotFoundError(run_id)
        return json.loads(data)  # type: ignore[no-any-return]

    def find_resumable(self, name: str, digest: str) -> str | None:
        """The newest run of this name and definition that did not complete."""
        with self._read() as conn:
            rows = conn.execute(select(s.runs.c.run_id, s.runs.c.status).where(and_(
                s.runs.c.name == name, s.runs.c.digest == digest))
                .order_by(s.runs.c.created_at.desc()).limit(1)).all()
        if rows and rows[0].status != "completed":
            return str(rows[0].run_id)
        return None



def _like(glob: str) -> str:
    """A glob as a SQL LIKE pattern: ``*`` and ``?`` are wild, everything else literal."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _run_record(row: Any, counts: dict[str, int], crashed: bool,
                last_seen: float | None = None) -> RunRecord:
    status = row.status
    if crashed:
        status = "crashed"
        if "running" in counts:
            counts = {(INTERRUPTED if k == "running" else k): v for k, v in counts.items()}
    return RunRecord(
        run_id=row.run_id, name=row.name, kind=row.kind, status=RunStatus(status),
        source=row.source,
        digest=row.digest, options=json.loads(row.options), total=row.total,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        exit_code=row.exit_code, owner=row.owner, heartbeat_at=row.heartbeat_at,
        control=row.control, parent_run=row.parent_run, counts=counts,
        last_seen_at=last_seen if status in ("crashed", "paused") else None,
    )
