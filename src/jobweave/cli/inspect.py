"""Commands that look without running: status, list, show, journal, validate, schema."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from jobweave.cli.app import (
    EXIT_OK,
    CommandError,
    JsonOption,
    NoStore,
    RunArgument,
    StoreOption,
    app,
    resolve_run,
    store_for,
)
from jobweave.cli.render import (
    NOT_COMPLETED,
    Spans,
    job_detail,
    job_json,
    jobs_table,
    out_console,
    requests_grid,
    run_header,
    run_json,
    runs_table,
    status_line,
)
from jobweave.store import JobRecord, RunRecord
from jobweave.store.base import as_seen
from jobweave.store.export import export_lines

if TYPE_CHECKING:
    from jobweave.store import SqlStore

NAMES_PER_QUERY = 500
"""Above this many job names, a query reads the whole run instead of naming them."""
SHOW_LIMIT = 50
"""Jobs ``show`` lists of a big run by default: this many problem jobs and first jobs."""
REQUESTS_SHOWN = 20
"""The newest requests made of a run that ``show`` lists (who cancelled, paused, ...)."""
RunState = Literal["pending", "running", "paused", "completed", "failed", "cancelled",
                   "crashed"]
PROBLEM_JOB_STATES = ("faulted", "cancelled", "skipped", "interrupted", "running")
"""Job states ``show`` always lists: what went wrong, and what is still going."""

HiddenStoreOption = Annotated[
    str | None, typer.Option("--store", metavar="URL", hidden=True,
                             help="Accepted for uniformity; this command opens no store.")]


def _dump(data: object) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


@app.command()
def status(run_ref: RunArgument, store: StoreOption = None, json_out: JsonOption = False) -> int:
    """One line about RUN: id, name, status, job counts and times."""
    db = store_for(store)
    record = db.get_run(resolve_run(db, run_ref))
    spans = _spans(db, record)
    if json_out:
        _dump(run_json(record, spans))
    else:
        sys.stdout.write(status_line(record, spans) + "\n")
    return EXIT_OK


@app.command("list")
def list_runs(
    store: StoreOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1,
                                       help="Show at most this many runs.")] = 20,
    status_: Annotated[RunState | None, typer.Option(
        "--status", help="Only runs in this state.")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", metavar="NAME", help="Only runs of this name (a glob: 'nightly-*').")] = None,
    json_out: JsonOption = False,
) -> int:
    """Recent runs, newest first."""
    try:
        db = store_for(store)
        records = db.list_runs(limit=limit, status=status_, name=name)
    except NoStore as exc:
        if json_out:
            _dump([])
        else:
            sys.stderr.write(f"{exc}\n")
        return EXIT_OK
    # a resumed run's duration is the sum of its executions, as `status` says
    resumed = db.resumed([r.run_id for r in records])
    spans = {r.run_id: db.spans(r) for r in records if r.run_id in resumed}
    if json_out:
        _dump([run_json(r, spans.get(r.run_id)) for r in records])
    elif not records:
        which = [f"with status {status_}"] if status_ else []
        which += [f"named {name!r}"] if name is not None else []
        sys.stderr.write(" ".join(["no runs", *which]) + "\n")
    else:
        out_console().print(runs_table(records, spans))
    return EXIT_OK


def _spans(db: SqlStore, record: RunRecord) -> Spans | None:
    """The run's executions, for a duration that leaves out the time between them."""
    return db.spans(record) if record.started_at is not None else None


def _replayed(db: SqlStore, record: RunRecord, jobs: list[JobRecord],
              taken: dict[str, tuple[int, int]] | None = None) -> set[str]:
    """Which of ``jobs`` a recovery took over completed rather than ran (none unless the
    run was recovered); of a graph, the completed nodes with every firing ``taken`` over
    (``SqlStore.taken_over``, read when not given)."""
    if not record.parent_run:
        return set()
    done = [j.name for j in jobs if j.status == "completed"]
    if record.kind == "graph":
        taken = db.taken_over(record.run_id) if taken is None else taken
        return {n for n in done if n in taken and taken[n][0] == taken[n][1]}
    if not done:
        return set()
    ran = db.executed(record.run_id, None if len(done) > NAMES_PER_QUERY else done)
    return {n for n in done if n not in ran}


def _pick(db_jobs: list[JobRecord], more: list[JobRecord]) -> list[JobRecord]:
    """Two pages of jobs merged in run order, each job once."""
    seen = {j.index: j for j in db_jobs}
    for j in more:
        seen.setdefault(j.index, j)
    return [seen[i] for i in sorted(seen)]


@app.command()
def show(
    run_ref: RunArgument,
    store: StoreOption = None,
    all_: Annotated[bool, typer.Option("--all", "-a",
                                       help="List every job, however many.")] = False,
    problems_only: Annotated[bool, typer.Option(
        "--problems", "-p", help="List every job that did not complete, and no other.")
    ] = False,
    limit: Annotated[int, typer.Option(
        "--limit", "-n", min=1,
        help="For big runs: list this many problem jobs and this many first jobs.")
    ] = SHOW_LIMIT,
    job: Annotated[str | None, typer.Option(
        "--job", "-j", metavar="NAME",
        help="Show this job in full instead: its whole error and output (a glob shows "
             "every job it matches).")] = None,
    node: Annotated[str | None, typer.Option(
        "--node", metavar="NAME",
        help="A graph run: list this node's firings (id, time, input, outputs, error).")
    ] = None,
    json_out: JsonOption = False,
) -> int:
    """RUN's details and its jobs (a big run: problem jobs first); --job NAME: one in full."""
    from jobweave.store.access import requests_of  # SQLAlchemy: not for --help

    db = store_for(store)
    run_id = resolve_run(db, run_ref)
    record = db.get_run(run_id)
    if node is not None:
        from jobweave.cli.firings import show_firings

        return show_firings(db, record, node, json_out=json_out)
    if job is not None:
        # a plain name is looked up; only a glob needs every job of the run
        jobs = (db.get_jobs(run_id) if any(c in job for c in "*?[")
                else db.find_jobs(run_id, name=job))
        return _show_jobs(db, jobs, record, job, json_out=json_out)
    spans = _spans(db, record)
    if json_out:
        # JSON is for programs: every job, with full errors and outputs.
        data = run_json(record, spans)
        every = db.get_jobs(run_id)
        replayed = _replayed(db, record, every)
        data["jobs"] = [job_json(j, index=j.index, kind=j.kind, replayed=j.name in replayed)
                        for j in (as_seen(j, record) for j in every)]
        data["requests"] = [{"ts": a.ts, "what": a.what, "job": a.job, "by": a.actor}
                            for a in requests_of(db, run_id, limit=REQUESTS_SHOWN)]
        _dump(data)
        return EXIT_OK
    if problems_only:
        jobs = db.find_jobs(run_id, statuses=NOT_COMPLETED)
        what = "node" if record.kind == "graph" else "job"
        note = "" if jobs else f"every {what} completed"
    elif all_ or record.total <= limit:
        jobs = db.get_jobs(run_id) if all_ else db.find_jobs(run_id, limit=limit)
        note = ""
    else:
        problems = db.find_jobs(run_id, statuses=PROBLEM_JOB_STATES, limit=limit)
        jobs = _pick(problems, db.find_jobs(run_id, limit=limit))
        n_problems = sum(record.counts.get(s, 0) for s in PROBLEM_JOB_STATES)
        which = ("every problem or running job" if n_problems <= limit
                 else f"the first {limit} of {n_problems} problem or running jobs")
        note = (f"showing {len(jobs)} of {record.total} jobs: {which} and the first {limit}; "
                f"--problems lists every problem job, --all every job")
    firings: tuple[int, int] | None = None
    if not record.parent_run:
        replayed, n_replayed = set(), 0
    elif record.kind == "graph":  # nodes whose firings were all taken over, and firings
        taken = db.taken_over(run_id)  # read once, for the shown nodes and the count
        firings = (sum(t for _, t in taken.values()), sum(k for k, _ in taken.values()))
        replayed = _replayed(db, record, jobs, taken)
        every = jobs if len(jobs) == record.total else db.get_jobs(run_id)
        n_replayed = len(_replayed(db, record, every, taken))
    else:
        replayed = _replayed(db, record, jobs)
        n_replayed = record.counts.get("completed", 0) - db.executed_count(run_id)
    out = out_console()
    out.print(run_header(record, spans, replayed=n_replayed, firings=firings))
    requests = requests_of(db, run_id, limit=REQUESTS_SHOWN)
    if requests:
        out.print()
        out.print("requests", style="bold")
        out.print(requests_grid(requests))
    out.print()
    if jobs or not problems_only:  # no problem jobs: the note alone says so, not a bare header
        out.print(jobs_table((as_seen(j, record) for j in jobs), replayed=replayed,
                             graph=record.kind == "graph"))
    if note:
        out.print(note, style="dim")
    return EXIT_OK


def _show_jobs(db: SqlStore, jobs: list[JobRecord], record: RunRecord, pattern: str, *,
               json_out: bool) -> int:
    """The jobs named by ``pattern``, each in full, with every attempt."""
    from jobweave.engine.replay import glob_match

    found = [as_seen(j, record) for j in jobs if glob_match(j.name, pattern)]
    if not found:
        raise CommandError(f"no job of run {record.run_id} is named {pattern!r}")
    names = [j.name for j in found]
    history = db.attempts(record.run_id, None if len(names) > NAMES_PER_QUERY else names,
                          live=record.status == "running")
    # a completed job of a recovered run with no completed attempt here was replayed
    replayed = (_replayed(db, record, found) if record.kind == "graph" else
                {j.name for j in found if record.parent_run and j.status == "completed"
                 and not any(a.status == "completed" for a in history.get(j.name, ()))})
    if json_out:
        _dump([job_json(j, index=j.index, kind=j.kind, replayed=j.name in replayed,
                        history=[a.as_dict() for a in history.get(j.name, ())])
               for j in found])
        return EXIT_OK
    out = out_console()
    for k, j in enumerate(found):
        if k:
            out.print()
        for part in job_detail(j, history.get(j.name, []),
                               record.parent_run if j.name in replayed else None,
                               graph=record.kind == "graph"):
            out.print(part)
    return EXIT_OK


@app.command()
def journal(run_ref: RunArgument, store: StoreOption = None) -> int:
    """RUN's journal as JSON lines, oldest first, each sealed with a checksum (crc)."""
    db = store_for(store)
    run_id = resolve_run(db, run_ref)
    # `jobweave recover FILE` reads these lines back and checks each one's crc.
    sys.stdout.writelines(export_lines(db.journal(run_id)))
    return EXIT_OK


@app.command()
def validate(
    target: Annotated[str, typer.Argument(
        metavar="FILE_OR_TARGET",
        help="A YAML/JSON file, path/file.py:name or package.module:name.")],
    store: HiddenStoreOption = None,
) -> int:
    """Load and compile a definition without storing or running anything."""
    from jobweave.loader import load_target
    from jobweave.plan import Plan, compile_plan

    definition, source = load_target(target)
    plan = definition if isinstance(definition, Plan) else compile_plan(definition, source=source)
    n = plan.job_count
    what = "node" if plan.kind == "graph" else "job"
    sys.stdout.write(f"ok: {n} {what}{'' if n == 1 else 's'} ({plan.kind} {plan.name!r})\n")
    return EXIT_OK


@app.command()
def schema(store: HiddenStoreOption = None) -> int:
    """Print the JSON Schema of definition files (for editors and CI checks)."""
    from jobweave.loader import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return EXIT_OK
