"""Commands that carry runs across stops: resume, pause, recover.

``resume`` continues a stopped run as the same run; ``pause`` stops one without losing
its place; ``recover`` replays a journal (a run in the store, or an exported JSONL file)
as a new run, reusing what the journal recorded.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from jobweave.cli.app import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CommandError,
    JsonOption,
    RunArgument,
    StoreOption,
    app,
    cli_actor,
    engine_for,
    resolve_run,
    settings_for,
    store_for,
)
from jobweave.cli.progress import Tally
from jobweave.cli.render import out_console, run_json
from jobweave.cli.run import (
    POLL,
    ConcurrencyOption,
    ExecutorOption,
    ProgressOption,
    QuietOption,
    WorkersOption,
    follow_here,
    report,
)
from jobweave.cli.signals import Signals
from jobweave.errors import DefinitionChanged, RunOwnedError
from jobweave.loader.target import missing_file
from jobweave.store import RunRecord

if TYPE_CHECKING:  # the engine brings SQLAlchemy: imported when a command runs, not for --help
    from jobweave.engine.replay import RecoveryPlan
    from jobweave.store import SqlStore

JOURNAL_SUFFIXES = (".jsonl", ".ndjson", ".json")
"""A SOURCE ending like this names a journal file, never a run id."""
ACTION_STYLES = {"replay": "green", "rerun": "yellow", "execute": "cyan", "run": "bold"}
"""How ``recover --plan`` shows each action of ``jobweave.engine.replay``."""

ChangedOption = Annotated[list[str] | None, typer.Option(
    "--changed", metavar="SELECTOR",
    help="What changed: name=PATTERN, tag=PATTERN or data=PATTERN (a bare PATTERN is a "
         "name; globs allowed). Those jobs and everything downstream run again. Repeatable.")]


# -- resume -----------------------------------------------------------------------------
@app.command()
def resume(
    run_ref: RunArgument,
    store: StoreOption = None,
    accept_changes: Annotated[bool, typer.Option(
        "--accept-changes",
        help="Run the definition as it is now although it changed since the run was made: "
             "unchanged completed jobs are kept, new and changed ones run.")] = False,
    concurrency: ConcurrencyOption = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    progress: ProgressOption = None,
) -> int:
    """Continue RUN here where it stopped and wait: completed jobs are kept, the rest run."""
    from jobweave.api import current_definition
    from jobweave.engine import Engine

    db = store_for(store)
    run_id = resolve_run(db, run_ref)
    record = db.get_run(run_id)
    if record.status == "completed":
        raise CommandError(f"run {run_id} already completed; nothing to resume")
    done = record.counts.get("completed", 0)
    # The run keeps the executor it was made with, like a submitted run's worker does.
    options = record.options
    engine = Engine(settings_for(store, executor=options.get("executor"),
                                 workers=options.get("workers")), store=db)
    # Loaded from its file or module again, so that a fix made since is picked up.
    _warn_if_gone(record.source)
    definition, source = current_definition(record.source, None)
    tally = Tally()
    with Signals() as signals:
        try:
            handle = engine.resume(run_id, definition, source=source,
                                   accept_changes=accept_changes, concurrency=concurrency,
                                   listeners=[tally], by=cli_actor())
        except DefinitionChanged as exc:
            _print_diff(run_id, exc)
            raise CommandError(f"run {run_id} was made from a different definition; "
                               "resume with --accept-changes to run it as it is now") from None
        except RunOwnedError as exc:
            raise CommandError(f"run {run_id} is still running in {exc.owner}; pause or "
                               "cancel it there first, or wait for it") from None
        what = "nodes" if record.kind == "graph" else "jobs"
        result = follow_here(handle, tally, signals, quiet=quiet, progress=progress,
                             started=f"resumed: {done} of {record.total} {what} had completed")
    return report(engine.store, result, interrupted=bool(signals.count), quiet=quiet,
                  json_out=json_out, graph=record.kind == "graph")


def _print_diff(run_id: str, exc: DefinitionChanged) -> None:
    """The jobs that differ, one a line on stderr: ``+`` added, ``-`` removed, ``~`` changed."""
    lines = [f"run {run_id}: the definition changed since the run was made:"]
    for mark, what, names in (("+", "added", exc.added), ("-", "removed", exc.removed),
                              ("~", "changed", exc.changed)):
        lines += [f"  {mark} {name}  ({what})" for name in names]
    if len(lines) == 1:
        lines.append("  (no job differs; the run's name or options do)")
    sys.stderr.write("\n".join(lines) + "\n")


# -- pause ------------------------------------------------------------------------------
@app.command()
def pause(
    run_ref: RunArgument,
    store: StoreOption = None,
    wait_: Annotated[bool, typer.Option(
        "--wait", help="Wait until the run shows paused (its running jobs have ended).")
    ] = False,
    json_out: JsonOption = False,
) -> int:
    """Pause RUN: running jobs finish, no new ones start; 'jobweave resume RUN' continues it."""
    db = store_for(store)
    run_id = resolve_run(db, run_ref)
    record = db.request_pause(run_id, by=cli_actor())
    if wait_ and record.status != "paused":
        outcome = _wait_paused(db, run_id)
        if isinstance(outcome, int):
            return outcome
        record = outcome
    if json_out:
        sys.stdout.write(json.dumps(run_json(record)) + "\n")
    elif record.status == "paused":
        sys.stdout.write(f"run {run_id} paused; continue it with: jobweave resume {run_id}\n")
    elif record.final:
        sys.stdout.write(f"run {run_id} {record.status} before it could pause\n")
    else:
        sys.stdout.write(f"pause requested: run {run_id} is {record.status}; running jobs "
                         "finish, no new ones start\n")
    # Waiting for a pause that never came (the run finished first) did not do what was asked.
    return EXIT_FAILED if wait_ and record.status != "paused" else EXIT_OK


def _wait_paused(db: SqlStore, run_id: str) -> RunRecord | int:
    """Poll until the run is paused or final; an exit code when waiting has to stop."""
    with Signals(force=False) as signals:
        while True:
            record = db.get_run(run_id)
            if record.status == "paused" or record.final:
                return record
            if record.status == "crashed":
                raise CommandError(f"run {run_id} crashed before it paused: its owner "
                                   f"{record.owner} stopped; it can be resumed",
                                   EXIT_FAILED)
            if signals.count:
                sys.stderr.write(f"stopped waiting; run {run_id} is still {record.status} "
                                 "and will pause\n")
                return EXIT_INTERRUPTED
            signals.event.wait(POLL)


# -- recover ----------------------------------------------------------------------------
@app.command()
def recover(
    source: Annotated[str, typer.Argument(
        metavar="SOURCE",
        help="A run (id, unique prefix or 'last') or a journal file from 'jobweave journal'.")],
    store: StoreOption = None,
    changed: ChangedOption = None,
    plan_only: Annotated[bool, typer.Option(
        "--plan", help="Print what would be replayed and run, and why; run and store nothing.")
    ] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replay although the definition differs from the journal's.")] = False,
    concurrency: ConcurrencyOption = None,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    progress: ProgressOption = None,
) -> int:
    """Replay SOURCE's journal as a new run and wait: recorded jobs are not run again."""
    from jobweave.api import current_definition
    from jobweave.engine.replay import parse_selector

    selectors = list(changed or ())
    for text in selectors:  # refuse a bad selector before reading anything
        parse_selector(text)
    if not os.path.isfile(source):
        store_for(store)  # a run of the store: with no store there is none (none is made)
    engine = engine_for(store)
    view = engine.journal_view(_journal_ref(engine.store, source))
    for note in view.dropped:
        sys.stderr.write(f"jobweave: warning: {note}\n")
    _warn_if_gone(view.source)
    definition, loaded_from = current_definition(view.source, None)
    engine = engine.for_journal(view, executor=executor, workers=workers)
    if plan_only:
        _, decisions = engine.recovery_plan(view, definition, source=loaded_from,
                                            changed=selectors, force=force)
        if json_out:
            sys.stdout.write(json.dumps(decisions.as_dict()) + "\n")
        else:
            _print_plan(decisions, graph=view.definition.get("kind") == "graph")
        return EXIT_OK
    tally = Tally()
    with Signals() as signals:
        try:
            decisions, handle = engine.recover(view, definition, source=loaded_from,
                                               changed=selectors, force=force,
                                               concurrency=concurrency, listeners=[tally],
                                               by=cli_actor())
        except RunOwnedError as exc:
            raise CommandError(f"run {view.run_id} is still running in {exc.owner}; "
                               "recovering it now would run its unfinished jobs twice: "
                               "pause or cancel it first, or wait for it") from None
        started = f"started: recovering run {view.run_id} ({_plan_counts(decisions)})"
        result = follow_here(handle, tally, signals, quiet=quiet, progress=progress,
                             started=started)
    return report(engine.store, result, interrupted=bool(signals.count), quiet=quiet,
                  json_out=json_out, extra={"recovery": decisions.as_dict()},
                  graph=view.definition.get("kind") == "graph")


def _warn_if_gone(source: str | None) -> None:
    gone = missing_file(source) if source else None
    if gone is not None:
        sys.stderr.write(f"jobweave: warning: {gone} is gone: using the stored definition "
                         "(jobs whose code was in it cannot start)\n")


def _journal_ref(store: SqlStore, source: str) -> str:
    """What ``Engine.journal_view`` takes: an existing file, or a full run id."""
    if os.path.isfile(source):
        return source
    if source.endswith(JOURNAL_SUFFIXES) or os.sep in source or "/" in source:
        raise CommandError(f"no such journal file: {source}")
    return resolve_run(store, source)


def _plan_counts(plan: RecoveryPlan) -> str:
    """``3 replay, 1 rerun, 0 execute, 2 run``."""
    from jobweave.engine.replay import EXECUTE, REPLAY, RERUN, RUN

    return ", ".join(f"{plan.count(a)} {a}" for a in (REPLAY, RERUN, EXECUTE, RUN))


def _print_plan(plan: RecoveryPlan, *, graph: bool = False) -> None:
    """Every job (a graph's: every node) with its action and the reason, then the counts."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("node" if graph else "job", overflow="fold")
    table.add_column("action", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for d in plan.decisions:
        table.add_row(Text(d.name), Text(d.action, style=ACTION_STYLES.get(d.action, "")),
                      Text(d.reason))
    out = out_console()
    out.print(table)
    note = "" if plan.digest_matches else "; the definition differs from the journal's"
    out.print(f"recovering run {plan.source_run}: {_plan_counts(plan)}{note}",
              highlight=False, soft_wrap=True, markup=False)
