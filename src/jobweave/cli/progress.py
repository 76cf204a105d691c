"""The live progress of a run on stderr, fed by engine events or by store records."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from jobweave.events import JobFinished, JobStarted, NodesFired, RunFinished, RunStarted
from jobweave.store import RunRecord


class Tally:
    """Counts a run's progress from its events.

    It is a listener: the engine calls it on its own thread, so it only updates a
    few counters; the screen reads them from the main thread.
    """

    def __init__(self) -> None:
        self.run_id = ""
        self.name = ""
        self.total = 0
        self.done = 0
        self.faulted = 0
        self.retries = 0
        self.running: set[str] = set()
        self.finished = False
        self.firings: dict[str, int] = {}
        """A graph run's firings by node."""

    def __call__(self, event: object) -> None:
        if isinstance(event, JobStarted):
            self.running.add(event.job)
        elif isinstance(event, JobFinished):
            self.running.discard(event.job)
            if event.retrying:
                self.retries += 1
                return
            self.done += 1
            if event.state == "faulted":
                self.faulted += 1
        elif isinstance(event, NodesFired):
            self.firings = event.firings
            self.done = sum(event.firings.values())
        elif isinstance(event, RunStarted):
            self.run_id, self.name = event.run_id, event.name
            self.total, self.done = event.total, event.already_done
        elif isinstance(event, RunFinished):
            self.finished = True


class RunScreen:
    """A live progress bar on stderr while a run executes; silent when not enabled."""

    def __init__(self, console: Console | None, label: str) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if console is None:
            return
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[cyan]{task.fields[running]} running"),
            TextColumn("{task.fields[faulted]}"),
            TimeElapsedColumn(),
            TextColumn("[yellow]{task.fields[note]}"),
            console=console,
            auto_refresh=False,
            # jobs' prints are captured per attempt by the executors: nothing to redirect
            redirect_stdout=False,
            redirect_stderr=False,
            transient=False,
        )
        self._task = self._progress.add_task(label, total=None, running=0, faulted="", note="")

    def __enter__(self) -> RunScreen:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._progress.stop()

    def show(self, *, done: int, total: int, running: int, faulted: int, note: str = "",
             label: str | None = None) -> None:
        """Redraw the bar with the latest counters."""
        if self._progress is None or self._task is None:
            return
        if label:
            self._progress.update(self._task, description=label)
        self._progress.update(
            self._task, completed=done, total=total or None, running=running,
            faulted=f"[bold red]{faulted} faulted" if faulted else "", note=note)
        self._progress.refresh()

    def show_tally(self, tally: Tally, note: str = "") -> None:
        if tally.firings and not note:
            note = per_node(tally.firings)
        self.show(done=tally.done, total=tally.total, running=len(tally.running),
                  faulted=tally.faulted, note=note, label=tally.name)

    def show_record(self, record: RunRecord, note: str = "") -> None:
        counts = record.counts
        done = sum(n for s, n in counts.items() if s not in ("pending", "running", "interrupted"))
        self.show(done=done, total=record.total, running=counts.get("running", 0),
                  faulted=counts.get("faulted", 0), note=note, label=record.name)


SHOWN_NODES = 6
"""Nodes named in a graph run's progress line (the busiest)."""


def per_node(firings: dict[str, int]) -> str:
    """``fetch 12 · more 12 · done 1``: the busiest nodes' firings so far."""
    busiest = sorted(firings.items(), key=lambda kv: -kv[1])[:SHOWN_NODES]
    text = " · ".join(f"{name} {n:,}" for name, n in busiest if n)
    return text + (" · …" if len(firings) > SHOWN_NODES else "")
