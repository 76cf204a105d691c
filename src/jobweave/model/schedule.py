"""Schedules: an ordered list of batches, run one batch after another."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobweave.errors import DefinitionError
from jobweave.model.batch import Batch, batch
from jobweave.model.job import Job
from jobweave.model.triggers import check_triggers
from jobweave.triggers import Trigger

_submitters: list[Callable[..., Any]] = []
"""How :meth:`Schedule.submit` runs a schedule: set by ``jobweave.api`` when jobweave is
imported (this layer holds definitions only and cannot import the engine)."""


def set_submitter(submit: Callable[..., Any]) -> None:
    """Make :meth:`Schedule.submit` call ``submit(schedule, **options)``."""
    _submitters[:] = [submit]


@dataclass(frozen=True, eq=False, slots=True)
class Schedule:
    """Batches in order: batch k+1 starts when batch k completed.

    A batch with ``continue_on_failure`` lets the next batch start even if one of its
    jobs did not complete; otherwise the schedule stops at the end of that batch.

    The same class comes from :func:`jobweave.schedule` and from a ``kind: schedule``
    file; :meth:`submit` runs it, or resumes its unfinished run.
    """

    batches: tuple[Batch, ...]
    """The batches, in the order they run."""
    name: str | None = None
    """The run's name; resubmitting a schedule of the same name and definition resumes it."""
    concurrency: int | None = None
    """Jobs running at once within a batch when the caller sets none."""
    triggers: tuple[Trigger, ...] = ()
    """When ``jobweave serve`` starts it; not part of the run's definition (nor its digest)."""
    _run_id: str | None = field(default=None, init=False, repr=False, compare=False)
    """The run :meth:`submit` last started or resumed."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "triggers",
                           check_triggers(self.triggers, self.name or "schedule"))
        if not self.batches:
            raise DefinitionError("a schedule needs at least one batch", field="batches")
        seen: set[int] = set()
        for k, b in enumerate(self.batches, 1):
            if not b.jobs:
                raise DefinitionError(f"batch {k} of the schedule has no jobs",
                                      field=f"batches[{k - 1}]")
            for j in b.jobs:
                if id(j) in seen:
                    raise DefinitionError(f"job {j.name or j.target!r} appears in two batches",
                                          field=f"batches[{k - 1}]")
                seen.add(id(j))

    @property
    def jobs(self) -> tuple[Job, ...]:
        """Every job, batch by batch."""
        return tuple(j for b in self.batches for j in b.jobs)

    @property
    def run_id(self) -> str | None:
        """The run this schedule last submitted, if any."""
        return self._run_id

    def submit(
        self,
        *,
        store: str | None = None,
        executor: str | None = None,
        concurrency: int | None = None,
        accept_changes: bool = False,
        listeners: Sequence[Any] = (),
    ) -> Any:
        """Run the schedule, or resume its unfinished run, and wait; return its RunResult.

        The run is found by this object's memory of it, or else as the newest run of the
        same name and definition in the store that did not complete.
        """
        if not _submitters:  # jobweave's API loads on first use, and then registers
            importlib.import_module("jobweave.api")
        return _submitters[0](self, store=store, executor=executor, concurrency=concurrency,
                              accept_changes=accept_changes, listeners=listeners)


def schedule(items: Iterable[Any], *, name: str | None = None,
             concurrency: int | None = None, triggers: Iterable[Trigger] = ()) -> Schedule:
    """An ordered schedule of batches; a plain list or job becomes a batch of its own."""
    batches = tuple(item if isinstance(item, Batch) else batch(item) for item in items)
    return Schedule(batches, name, concurrency, check_triggers(triggers, name or "schedule"))
