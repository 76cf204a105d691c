"""Commands that execute runs: run, submit, wait, cancel, and the internal ``_work``."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from jobweave.cli.app import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    CommandError,
    JsonOption,
    RunArgument,
    StoreOption,
    app,
    cli_actor,
    engine_for,
    lost_lease,
    resolve_run,
    settings_for,
    store_for,
)
from jobweave.cli.graph_input import InputOption, read_input
from jobweave.cli.progress import RunScreen, Tally
from jobweave.cli.render import (
    NOT_COMPLETED,
    counts_text,
    duration,
    job_json,
    jobs_table,
    out_console,
    run_json,
    status_line,
)
from jobweave.cli.signals import Signals
from jobweave.errors import RunOwnedError
from jobweave.model import Graph
from jobweave.store import RunRecord

if TYPE_CHECKING:  # the engine brings SQLAlchemy: imported when a command runs, not for --help
    from jobweave.engine import JobResult, RunHandle, RunResult
    from jobweave.store import SqlStore

SUMMARY_LIMIT = 30
"""Jobs listed after a run; a bigger run lists only its problem jobs, up to this many."""
TICK = 0.2
"""Seconds between redraws while a run executes here."""
SIGNAL_CHECK = 0.05
"""Seconds between looks at Ctrl-C and SIGTERM while a run executes here: the cancel
starts within this of the signal."""
POLL = 0.25
"""Seconds between store reads while waiting on a run another process executes."""
NEVER_STARTED = 30.0
"""A submitted run still pending with no owner after this long was never picked up."""

ConcurrencyOption = Annotated[int | None, typer.Option(
    "--concurrency", "-c", min=1, help="At most this many jobs at once.")]
ExecutorOption = Annotated[Literal["threads", "processes", "celery"] | None, typer.Option(
    "--executor",
    help="Where job code runs (default: $JOBWEAVE_EXECUTOR, else threads).")]
WorkersOption = Annotated[int | None, typer.Option(
    "--workers", min=1, help="Size of the executor's pool.")]
NameOption = Annotated[str | None, typer.Option("--name", help="The run's name in listings.")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress and no summary; only the exit code tells.")]
ProgressOption = Annotated[bool | None, typer.Option(
    "--progress/--no-progress",
    help="Force the progress bar on or off (default: on when stderr is a terminal).")]
TargetArgument = Annotated[str, typer.Argument(
    metavar="TARGET", help="path/file.py:name, package.module:name, or a YAML/JSON file.")]


def _load(target: str) -> tuple[object, str]:
    from jobweave.loader import load_target

    return load_target(target)


def _progress_console(progress: bool | None, quiet: bool) -> Console | None:
    """The console for a live bar, or None when there should be none."""
    if quiet or progress is False:
        return None
    if progress:
        return Console(stderr=True, force_terminal=True)
    console = Console(stderr=True)
    return console if console.is_terminal else None


def _follow(handle: RunHandle, signals: Signals, redraw: Callable[[str], None]) -> RunResult:
    """Wait for a run executing here; the first signal cancels it cleanly."""
    note = ""
    cancelled = False
    next_draw = time.monotonic() + TICK
    while True:
        if signals.count and not cancelled:
            cancelled = True
            note = "cancelling…"
            handle.cancel(by=cli_actor())
            next_draw = 0.0
        try:
            return handle.wait(timeout=SIGNAL_CHECK)
        except TimeoutError:
            if time.monotonic() >= next_draw:
                redraw(note)
                next_draw = time.monotonic() + TICK


def _print_summary(console: Console, line: str, shown: Sequence[Any], *, total: int,
                   problems: int, run_id: str, graph: bool = False) -> None:
    """The closing line and table of a run: every job if few, else the problem jobs."""
    console.print(line, highlight=False, soft_wrap=True, markup=False)
    if not shown:
        return
    title = None if len(shown) == total else f"problem jobs ({len(shown)} of {problems})"
    console.print(jobs_table(shown, title=title, graph=graph))
    hidden = problems - len(shown) if title else 0
    if hidden > 0:
        console.print(f"... and {hidden} more: jobweave show {run_id} --problems",
                      highlight=False)


def _result_summary(console: Console, result: RunResult, *, graph: bool = False) -> None:
    jobs = result.jobs
    counts = result.counts()
    line = (f"run {result.run_id} {result.status} in {duration(result.duration)}: "
            f"{counts_text(counts, len(jobs))}")
    problems = [j for j in jobs if j.status != "completed"]
    shown: Sequence[JobResult] = jobs if len(jobs) <= SUMMARY_LIMIT else problems[:SUMMARY_LIMIT]
    _print_summary(console, line, shown, total=len(jobs), problems=len(problems),
                   run_id=result.run_id, graph=graph)


def _result_json(store: SqlStore, result: RunResult) -> dict[str, Any]:
    data = run_json(store.get_run(result.run_id))
    data["jobs"] = [job_json(j, index=i) for i, j in enumerate(result.jobs)]
    return data


@app.command()
def run(
    target: TargetArgument,
    store: StoreOption = None,
    concurrency: ConcurrencyOption = None,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    name: NameOption = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    progress: ProgressOption = None,
    input_: InputOption = None,
) -> int:
    """Run TARGET here and wait for it: exit 0 if every job completed, 1 if not."""
    definition, source = _load(target)
    graph = isinstance(definition, Graph)
    engine = engine_for(store, executor=executor, workers=workers)
    value = read_input(input_, definition)
    if value is not None:
        definition = engine.plan(definition, name=name, source=source, input=value)
    tally = Tally()
    with Signals() as signals:
        # A signal during submit is kept and acted on as soon as the handle exists.
        handle = engine.submit(definition, source=source, name=name,
                               concurrency=concurrency, listeners=[tally])
        result = follow_here(handle, tally, signals, quiet=quiet, progress=progress)
    return report(engine.store, result, interrupted=bool(signals.count), quiet=quiet,
                  json_out=json_out, graph=graph)


def follow_here(handle: RunHandle, tally: Tally, signals: Signals, *, quiet: bool,
                progress: bool | None, started: str = "started") -> RunResult:
    """Draw a run executing in this process until it stops; the first signal cancels it.

    ``tally`` must be a listener of the run; ``started`` completes the opening line
    ``run ID ...`` on stderr.
    """
    signals.run_id = handle.run_id
    if not quiet:
        Console(stderr=True, highlight=False).print(f"run {handle.run_id} {started}",
                                                    soft_wrap=True)
    with RunScreen(_progress_console(progress, quiet), handle.run_id) as screen:
        try:
            result = _follow(handle, signals, lambda note: screen.show_tally(tally, note))
        except RunOwnedError as exc:  # another process took the run over: not ours to report
            raise lost_lease(handle.run_id, exc.owner) from None
        screen.show_tally(tally, "cancelled" if result.status == "cancelled" else "")
    return result


def report(store: SqlStore, result: RunResult, *, interrupted: bool, quiet: bool,
           json_out: bool, extra: dict[str, Any] | None = None, graph: bool = False) -> int:
    """Print a finished run's summary (or JSON, with ``extra`` keys); return the exit code.
    A ``graph`` run's table lists nodes and their firings."""
    if json_out:
        data = _result_json(store, result)
        data.update(extra or {})
        sys.stdout.write(json.dumps(data) + "\n")
    elif not quiet:
        _result_summary(out_console(), result, graph=graph)
    if interrupted:
        _say_interrupted(Console(stderr=True, highlight=False), result)
        return EXIT_INTERRUPTED
    return result.exit_code


def _say_interrupted(err: Console, result: RunResult) -> None:
    if result.status == "cancelled":
        err.print(f"cancelled: run {result.run_id} was stopped and recorded as cancelled",
                  soft_wrap=True)
    else:
        err.print(f"interrupted: run {result.run_id} had already {result.status}",
                  soft_wrap=True)


def _log_path(store: SqlStore, run_id: str) -> str | None:
    """Where a detached worker writes its output: beside a SQLite store, else nowhere."""
    path = getattr(store, "path", None)
    if not isinstance(path, str):
        return None
    return os.path.join(os.path.dirname(os.path.abspath(path)), "logs", f"{run_id}.log")


_WORKERS: list[subprocess.Popen[bytes]] = []
"""Detached workers this process started. Nothing waits for them, but each new spawn reaps
the ones that ended, so a long-lived caller leaves no zombies (nor unreaped Popen objects)."""


def _spawn_worker(run_id: str, store_url: str, log_path: str | None) -> None:
    command = [sys.executable, "-m", "jobweave", "_work", run_id, "--store", store_url]
    _WORKERS[:] = [w for w in _WORKERS if w.poll() is None]
    if log_path is None:
        _WORKERS.append(subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, cwd=os.getcwd()))
        return
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "ab") as log:
        _WORKERS.append(subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, start_new_session=True, cwd=os.getcwd()))


@app.command()
def submit(
    target: TargetArgument,
    store: StoreOption = None,
    concurrency: ConcurrencyOption = None,
    executor: ExecutorOption = None,
    workers: WorkersOption = None,
    name: NameOption = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    progress: ProgressOption = None,
    input_: InputOption = None,
) -> int:
    """Store TARGET as a run, start it in the background, and print the run id."""
    definition, source = _load(target)
    engine = engine_for(store, executor=executor, workers=workers)
    value = read_input(input_, definition)
    if value is not None:
        definition = engine.plan(definition, name=name, source=source, input=value)
    run_id, plan = engine.create(definition, source=source, name=name, concurrency=concurrency)
    log_path = _log_path(engine.store, run_id)
    _spawn_worker(run_id, engine.settings.store, log_path)
    if json_out:
        sys.stdout.write(json.dumps({"run_id": run_id, "name": plan.name, "total": plan.job_count,
                                     "log": log_path}) + "\n")
    else:
        sys.stdout.write(run_id + "\n")
    return EXIT_OK


@app.command("_work", hidden=True)
def work(run_id: str, store: StoreOption = None) -> int:
    """Execute a submitted run in this (detached) process."""
    from jobweave.engine import Engine
    from jobweave.loader import load_target

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("jobweave.cli.work")
    base = store_for(store)
    data = base.submitted(run_id)
    options = data.get("options") or {}
    engine = Engine(settings_for(store, executor=options.get("executor"),
                                 workers=options.get("workers")), store=base)
    source = data.get("source")
    if not source:
        raise CommandError(f"run {run_id} has no source to load its definition from")
    record = base.get_run(run_id, counts=False)
    definition, _ = load_target(source)
    # a graph's input may have come from --input: the stored one is the run's
    recorded = data.get("definition") if isinstance(definition, Graph) else None
    plan = engine.plan(definition, name=record.name, source=source, recorded=recorded)
    if plan.digest != record.digest:
        raise CommandError(f"run {run_id}: the definition in {source} changed since it was "
                           "submitted; the run was not started")
    log.info("pid %s executing run %s from %s", os.getpid(), run_id, source)
    with Signals() as signals:
        signals.run_id = run_id
        handle = engine.start(run_id, plan, concurrency=options.get("concurrency"))
        try:
            result = _follow(handle, signals, lambda note: None)
        except RunOwnedError as exc:
            raise lost_lease(run_id, exc.owner) from None
    log.info("run %s %s", run_id, result.status)
    return EXIT_INTERRUPTED if signals.count else result.exit_code


def _wait_final(store: SqlStore, run_id: str, *, timeout: float | None,
                screen: RunScreen, signals: Signals) -> RunRecord | int:
    """Poll until the run is final; an exit code instead when waiting has to stop."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        record = store.get_run(run_id)
        if record.final:
            return record
        if record.status == "paused":
            raise CommandError(f"run {run_id} is paused: no owner will finish it until it "
                               "is resumed", EXIT_FAILED)
        if record.status == "crashed":
            raise CommandError(f"run {run_id} crashed: its owner {record.owner} stopped "
                               "without finishing it", EXIT_FAILED)
        if (record.status == "pending" and record.owner is None
                and time.time() - record.created_at > NEVER_STARTED):
            raise CommandError(f"run {run_id} was never started (is its worker log under "
                               "the store's logs/ folder telling why?)", EXIT_FAILED)
        if signals.count:
            sys.stderr.write(f"stopped waiting; run {run_id} is still {record.status}\n")
            return EXIT_INTERRUPTED
        if deadline is not None and time.monotonic() >= deadline:
            sys.stderr.write(f"timed out: run {run_id} is still {record.status} "
                             f"after {timeout:g}s\n")
            return EXIT_TIMEOUT
        screen.show_record(record)
        signals.event.wait(POLL)


@app.command()
def wait(
    run_ref: RunArgument,
    store: StoreOption = None,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0, help="Give up after this many seconds (exit 124).")] = None,
    quiet: QuietOption = False,
    json_out: JsonOption = False,
    progress: ProgressOption = None,
) -> int:
    """Wait until RUN is final: exit 0 if every job completed, 1 if not."""
    db = store_for(store)
    run_id = resolve_run(db, run_ref)
    with (Signals(force=False) as signals,
          RunScreen(_progress_console(progress, quiet), run_id) as screen):
        outcome = _wait_final(db, run_id, timeout=timeout, screen=screen, signals=signals)
    if isinstance(outcome, int):
        return outcome
    record = outcome
    if json_out:
        sys.stdout.write(json.dumps(run_json(record)) + "\n")
    elif not quiet:
        few = record.total <= SUMMARY_LIMIT
        shown = db.find_jobs(run_id, statuses=None if few else NOT_COMPLETED,
                             limit=SUMMARY_LIMIT)
        problems = sum(record.counts.get(s, 0) for s in NOT_COMPLETED)
        _print_summary(out_console(), status_line(record), shown,
                       total=record.total, problems=problems, run_id=run_id)
    return EXIT_OK if record.status == "completed" else EXIT_FAILED


@app.command()
def cancel(
    run_ref: RunArgument,
    store: StoreOption = None,
    wait_: Annotated[bool, typer.Option(
        "--wait", help="Wait until the run has stopped, then print its final state.")] = False,
    json_out: JsonOption = False,
) -> int:
    """Cancel RUN: its owner stops it within about a second."""
    db = store_for(store)
    run_id = resolve_run(db, run_ref)
    record = db.request_cancel(run_id, by=cli_actor())
    if wait_ and not record.final:
        with Signals(force=False) as signals, RunScreen(None, run_id) as screen:
            outcome = _wait_final(db, run_id, timeout=None, screen=screen, signals=signals)
        if isinstance(outcome, int):
            return outcome
        record = outcome
    if json_out:
        sys.stdout.write(json.dumps(run_json(record)) + "\n")
    elif record.final:
        sys.stdout.write(f"run {run_id} {record.status}\n")
    else:
        sys.stdout.write(f"cancel requested: run {run_id} is {record.status}; "
                         "its owner stops it within about a second\n")
    return EXIT_OK
