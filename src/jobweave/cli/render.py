"""Tables, job details and plain formatting for the command line, from store records."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Container, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from jobweave.durations import duration as duration
from jobweave.store import RunRecord
from jobweave.store.history import Attempt, active_time

if TYPE_CHECKING:
    from jobweave.store.access import Action

PROBLEM_STATES = ("faulted", "cancelled", "skipped", "interrupted")
"""Job states that are not a success: final ones, and jobs a crash interrupted."""
NOT_COMPLETED = ("faulted", "cancelled", "skipped", "interrupted", "running", "pending")
"""Every job state but ``completed``, as the CLI shows them."""
STATE_STYLES = {
    "completed": "green", "faulted": "bold red", "failed": "bold red", "cancelled": "yellow",
    "skipped": "dim", "running": "cyan", "pending": "dim", "crashed": "bold magenta",
    "interrupted": "magenta", "paused": "yellow",
}
ERROR_WIDTH = 70
"""Characters of an error line shown in a table cell."""
PIPE_WIDTH = 200
"""Line width when stdout is not a terminal: tables stay on one line per row for grep."""


class JobLike(Protocol):
    """What a table row needs from a job: a JobRecord from the store or a JobResult."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def duration(self) -> float | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def output(self) -> Any: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def started_at(self) -> float | None: ...
    @property
    def finished_at(self) -> float | None: ...


class _Results(Console):
    """A console whose reader may go away (``jobweave run ... | head``): the rest of the
    output is dropped, and the command still exits with its own code (the run's), where
    rich would exit 1, the code of a failed run."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def out_console() -> Console:
    """The console for results on stdout: the terminal's width, or wide when piped (and
    then without the spaces a table pads its lines' ends with)."""
    console = _Results(highlight=False)
    if console.is_terminal:
        return console
    return _Results(highlight=False, file=cast(TextIO, _Trimmed(sys.stdout)),
                    width=None if "COLUMNS" in os.environ else PIPE_WIDTH)


class _Trimmed:
    """A text stream that writes whole lines to ``out``, each without trailing spaces."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tail = ""

    def write(self, text: str) -> int:
        lines = (self._tail + text).split("\n")
        self._tail = lines.pop()
        if lines:
            self._out.write("\n".join(line.rstrip(" ") for line in lines) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._tail:
            self._out.write(self._tail)
            self._tail = ""
        self._out.flush()

    def isatty(self) -> bool:
        return False


# -- plain formatting ----------------------------------------------------------------------
def moment(ts: float | None) -> str:
    """A local timestamp, to the second; empty when unknown."""
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def short_moment(ts: float, now: float | None = None) -> str:
    """A local timestamp for a table cell: ``18:37:18`` today, ``11-24 18:37`` this year."""
    at, today = time.localtime(ts), time.localtime(now)
    if at[:3] == today[:3]:
        return time.strftime("%H:%M:%S", at)
    if at.tm_year == today.tm_year:
        return time.strftime("%m-%d %H:%M", at)
    return time.strftime("%Y-%m-%d", at)


def error_line(error: str | None) -> str:
    """The line of an error that says what went wrong.

    For a traceback that is the exception's own line (the first unindented line after
    the last frame); for a plain message, its first line.
    """
    if not error:
        return ""
    lines = [ln.rstrip() for ln in error.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    if lines[0].lstrip("…").startswith("Traceback") or lines[0].startswith("…"):
        heads = [i for i in range(1, len(lines))
                 if not lines[i].startswith(" ") and lines[i - 1].startswith(" ")]
        if heads:
            return lines[heads[-1]].strip()
    return lines[0].strip()


def counts_text(counts: dict[str, int], total: int) -> str:
    """``3/5 completed, 1 faulted, 1 running``."""
    parts = [f"{counts.get('completed', 0)}/{total} completed"]
    for state in ("faulted", "cancelled", "skipped", "interrupted", "running", "pending"):
        if counts.get(state):
            parts.append(f"{counts[state]} {state}")
    return ", ".join(parts)


Spans = list[tuple[float, float | None]]
"""A run's executions as (start, end) times, from ``SqlStore.spans``."""


def run_duration(record: RunRecord, spans: Spans | None = None) -> float | None:
    """How long the run ran: until it finished, paused or was last heard of, or until now.

    With ``spans``, the sum of its executions' spans: a run resumed after a pause or a
    crash did not run in between.
    """
    if record.started_at is None:
        return None
    if spans:
        return active_time(spans)
    if record.finished_at is not None:
        end = record.finished_at
    elif record.status in ("crashed", "paused") and record.last_seen_at is not None:
        end = max(record.last_seen_at, record.started_at)
    else:
        end = time.time()
    return end - record.started_at


def status_line(record: RunRecord, spans: Spans | None = None) -> str:
    """One line about a run: id, name, status, counts and times (with its executions'
    ``spans``, the time it ran is their sum)."""
    parts = [record.run_id, repr(record.name), record.status,
             counts_text(record.counts, record.total)]
    if record.started_at is not None:
        parts.append(f"started {moment(record.started_at)}")
    else:
        parts.append(f"created {moment(record.created_at)}")
    if record.finished_at is not None:
        parts.append(f"took {duration(run_duration(record, spans))}")
    elif record.status == "crashed" and record.last_seen_at is not None:
        parts.append(f"last heard of {moment(record.last_seen_at)}")
    elif record.status == "paused" and record.started_at is not None:
        parts.append(f"paused after {duration(run_duration(record, spans))}")
    elif record.started_at is not None:
        parts.append(f"running for {duration(run_duration(record, spans))}")
    return "  ".join(parts)


def styled(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


# -- tables -----------------------------------------------------------------------------
def jobs_table(jobs: Iterable[JobLike], *, title: str | None = None,
               replayed: Container[str] = (), graph: bool = False) -> Table:
    """Job, status, attempts, duration and the error's telling line.

    Jobs named in ``replayed`` completed in the run a recovery replayed, not here: their
    status says so. A ``graph`` run's rows are its nodes, with their component (when the
    rows know it) and how many times each fired.
    """
    table = Table(title=Text(title) if title else None, title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    rows = list(jobs)
    kinds = graph and all(hasattr(j, "kind") for j in rows)
    table.add_column("node" if graph else "job", overflow="fold")
    if kinds:
        table.add_column("component", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("firings" if graph else "attempts", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    errors = any(j.error for j in rows)
    if errors:
        table.add_column("error", overflow="ellipsis", no_wrap=True, max_width=ERROR_WIDTH)
    for j in rows:
        # Text, not str: a job named "load[orders]" must not be read as Rich markup
        status = styled(j.status)
        if j.name in replayed:
            status.append(" (replayed)", style="dim")
        cells: list[str | Text] = [Text(j.name), status, str(j.attempts),
                                   duration(j.duration)]
        if kinds:
            cells.insert(1, Text(getattr(j, "kind", "")))
        if errors:
            cells.append(Text(error_line(j.error), style="red"))
        table.add_row(*cells)
    return table


def runs_table(records: Sequence[RunRecord],
               spans: dict[str, Spans] | None = None) -> Table:
    """Recent runs, one per row (``spans``: the executions of those that were resumed)."""
    # fits 80 columns: ids and states are never cut, a long name folds onto more lines
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1))
    table.add_column("run", no_wrap=True, min_width=len(records[0].run_id) if records else 0)
    table.add_column("name", overflow="fold", min_width=8)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("jobs", justify="right", no_wrap=True)
    table.add_column("problems", justify="right", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    now = time.time()
    for r in records:
        problems = sum(r.counts.get(s, 0) for s in PROBLEM_STATES)
        table.add_row(r.run_id, Text(r.name), styled(r.status),
                      f"{r.counts.get('completed', 0)}/{r.total}",
                      Text(str(problems), style="red") if problems else "",
                      short_moment(r.created_at, now),
                      duration(run_duration(r, (spans or {}).get(r.run_id))))
    return table


def run_header(record: RunRecord, spans: Spans | None = None, replayed: int = 0,
               firings: tuple[int, int] | None = None) -> Table:
    """A run's fields as a two-column grid; with its executions' ``spans`` (a resumed
    run ran in several) and how many of its jobs a recovery ``replayed`` (of a graph:
    nodes whose firings it all took over, and ``firings``: how many of how many it
    took over)."""
    rows: list[tuple[str, str | Text]] = [
        ("run", record.run_id), ("name", record.name), ("kind", record.kind),
        ("status", styled(record.status)),
        ("nodes" if record.kind == "graph" else "jobs", counts_text(record.counts, record.total)),
        ("created", moment(record.created_at)),
    ]
    if record.started_at is not None:
        rows.append(("started", moment(record.started_at)))
    if record.finished_at is not None:
        rows.append(("finished", moment(record.finished_at)))
    if record.started_at is not None:
        rows.append(("duration", duration(run_duration(record, spans))))
    if spans and len(spans) > 1:
        rows.append(("executions", f"{len(spans)} (it was resumed; the duration is their sum)"))
    if record.owner and not record.final:
        rows.append(("owner", record.owner))
    if record.cancel_requested and not record.final:
        rows.append(("cancel", "requested"))
    if record.handed_off:
        rows.append(("handed off", "its engine stopped; the next `jobweave serve` round "
                                   "continues it (`jobweave pause` keeps it paused)"))
    if record.source:
        rows.append(("source", record.source))
    if record.parent_run:
        rows.append(("recovered from", record.parent_run))
        what = "node" if record.kind == "graph" else "job"
        text = (f"{replayed} {what}{'' if replayed == 1 else 's'}: outputs taken over "
                "from that run, not invoked" if replayed else "")
        if firings and firings[0]:
            text += (f"{'; ' if text else ''}{firings[0]} of {firings[1]} "
                     f"firing{'' if firings[1] == 1 else 's'} taken over in all")
        if text:
            rows.append(("replayed", text))
    return _grid(rows)


def requests_grid(requests: Sequence[Action]) -> Table:
    """Who asked what of the run (newest last), one request a line: when, what, by whom."""
    rows: list[tuple[str, str | Text]] = []
    for a in reversed(requests):
        what = a.what + (f" {a.job}" if a.job else "")
        rows.append((moment(a.ts), Text(f"{what}  by {a.actor or 'someone unrecorded'}")))
    grid = _grid(rows)
    grid.columns[0].style = "dim"
    return grid


def _grid(rows: Sequence[tuple[str, str | Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in rows:
        grid.add_row(key, Text(value) if isinstance(value, str) else value)
    return grid


def job_detail(job: JobLike, attempts: Sequence[Attempt] | None = None,
               replayed_from: str | None = None, *, graph: bool = False
               ) -> list[Table | Text]:
    """One job in full: its fields, its whole error, and its output; then, given its
    ``attempts``, each attempt with its own error and what it printed and logged.

    A shell job's output shows its exit status, then stdout and stderr as the command
    wrote them; any other output is shown as indented JSON. ``replayed_from``: the run
    whose completion a recovery took over (the job was not invoked). ``graph``: the job is
    a graph's node, whose count is of firings.
    """
    status = styled(job.status)
    if replayed_from:
        status.append(f" (replayed from {replayed_from}, not invoked)", style="dim")
    rows: list[tuple[str, str | Text]] = [
        ("node" if graph else "job", job.name), ("status", status),
        ("firings" if graph else "attempts", str(job.attempts))]
    if job.started_at is not None:
        rows.append(("started", moment(job.started_at)))
    if job.finished_at is not None:
        rows.append(("finished", moment(job.finished_at)))
    if job.duration is not None:
        rows.append(("duration", duration(job.duration)))
    if job.tags:
        rows.append(("tags", ", ".join(job.tags)))
    out: list[Table | Text] = []
    output = job.output
    shell = isinstance(output, dict) and {"returncode", "stdout", "stderr"} <= set(output)
    if shell:
        rows.append(("exit status", str(output["returncode"])))
    out.append(_grid(rows))
    last_error = attempts[-1].error if attempts else None
    if job.error and job.error != last_error:  # e.g. skipped: not an attempt's error
        out += [Text("error", style="bold"), Text(job.error.rstrip(), style="red")]
    if shell:
        for stream in ("stdout", "stderr"):
            if output[stream]:
                out += [Text(stream, style="bold"), Text(str(output[stream]).rstrip())]
    elif output is not None:
        out += [Text("output", style="bold"), Text(json.dumps(output, indent=2))]
    for a in attempts or ():
        out += attempt_detail(a, executions=max(x.execution for x in attempts or ()))
    return out


def attempt_detail(a: Attempt, *, executions: int = 1) -> list[Table | Text]:
    """One attempt: a heading line, then its error and what it printed, each in full."""
    head = Text(f"attempt {a.number}", style="bold")
    if executions > 1:
        head.append(f" (execution {a.execution})")
    head.append("  ")
    head.append_text(styled(a.status.split(",")[0]))
    if "," in a.status:
        head.append(a.status[a.status.index(","):], style=STATE_STYLES.get("faulted", ""))
    if a.started_at is not None:
        head.append(f"  started {moment(a.started_at)}")
    if a.duration is not None:
        head.append(f"  took {duration(a.duration)}")
    out: list[Table | Text] = [Text(), head]
    for label, body, style in (("error", a.error, "red"), ("stdout", a.stdout, ""),
                               ("stderr", a.stderr, "")):
        if body:
            out += [Text(label, style="bold"), Text(body.rstrip(), style=style)]
    return out


# -- JSON ---------------------------------------------------------------------------------
def run_json(record: RunRecord, spans: Spans | None = None) -> dict[str, Any]:
    """A run as plain JSON data (its duration the sum of ``spans``, when given)."""
    return {
        "run_id": record.run_id, "name": record.name, "kind": record.kind,
        "status": record.status, "total": record.total, "counts": record.counts,
        "created_at": record.created_at, "started_at": record.started_at,
        "finished_at": record.finished_at, "duration": run_duration(record, spans),
        "exit_code": record.exit_code, "owner": record.owner,
        "cancel_requested": record.cancel_requested, "handed_off": record.handed_off,
        "source": record.source,
        "parent_run": record.parent_run,
    }


def job_json(job: JobLike, **extra: Any) -> dict[str, Any]:
    """A job as plain JSON data, with its full error."""
    return {**extra, "name": job.name, "status": job.status, "attempts": job.attempts,
            "started_at": job.started_at, "finished_at": job.finished_at,
            "duration": job.duration, "error": job.error, "output": job.output,
            "tags": list(job.tags)}
