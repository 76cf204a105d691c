"""Schedules: an ordered list of batches, run one batch after another."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jobweave.errors import DefinitionError
from jobweave.model.batch import Batch, batch
from jobweave.model.job import Job
from jobweave.model.triggers import check_triggers
from jobweave.triggers import Trigger


@dataclass(frozen=True, eq=False, slots=True)
class Schedule:
    """Batches in order: batch k+1 starts when batch k completed.

    A batch with ``continue_on_failure`` lets the next batch start even if one of its
    jobs did not complete; otherwise the schedule stops at the end of that batch.
    """

    batches: tuple[Batch, ...]
    """The batches, in the order they run."""
    name: str | None = None
    """The run's name; resubmitting a schedule of the same name and definition resumes it."""
    concurrency: int | None = None
    """Jobs running at once within a batch when the caller sets none."""
    triggers: tuple[Trigger, ...] = ()
    """When ``jobweave serve`` starts it; not part of the run's definition (nor its digest)."""

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


def schedule(items: Iterable[Any], *, name: str | None = None,
             concurrency: int | None = None, triggers: Iterable[Trigger] = ()) -> Schedule:
    """An ordered schedule of batches; a plain list or job becomes a batch of its own."""
    batches = tuple(item if isinstance(item, Batch) else batch(item) for item in items)
    return Schedule(batches, name, concurrency, check_triggers(triggers, name or "schedule"))
