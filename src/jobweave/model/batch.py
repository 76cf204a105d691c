"""Batches: jobs flattened from nested lists, run concurrently."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jobweave.errors import DefinitionError
from jobweave.model.job import Job
from jobweave.model.triggers import check_triggers
from jobweave.triggers import Trigger


@dataclass(frozen=True, eq=False, slots=True)
class Batch:
    """A flat, ordered set of jobs that run concurrently."""

    jobs: tuple[Job, ...]
    """Every job of the batch, nested lists already flattened."""
    name: str | None = None
    """A label for listings; the run's name when the batch is run on its own."""
    continue_on_failure: bool = False
    """In a schedule: start the next batch even if a job of this one did not complete."""
    concurrency: int | None = None
    """Jobs running at once when the batch is run on its own and the caller sets none."""
    triggers: tuple[Trigger, ...] = ()
    """When ``jobweave serve`` starts it; not part of the run's definition (nor its digest)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "triggers", check_triggers(self.triggers, self.name or "batch"))

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)


def flatten(items: Any) -> Iterator[Job]:
    """Yield the jobs in ``items``: jobs, batches, lists, tuples, generators, at any depth."""
    stack: list[Iterator[Any]] = [iter((items,))]
    while stack:
        try:
            item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if isinstance(item, Job):
            yield item
        elif isinstance(item, Batch):
            stack.append(iter(item.jobs))
        elif isinstance(item, (str, bytes, dict)) or not isinstance(item, Iterable):
            raise DefinitionError(
                f"a batch takes jobs, batches and lists of them, got {type(item).__name__}: "
                f"{item!r:.60}"
            )
        else:
            stack.append(iter(item))


def batch(
    *items: Any,
    name: str | None = None,
    continue_on_failure: bool = False,
    concurrency: int | None = None,
    triggers: Iterable[Trigger] = (),
) -> Batch:
    """Flatten jobs, lists, tuples, generators and batches, at any depth, into one batch."""
    return Batch(tuple(flatten(items)), name, continue_on_failure, concurrency,
                 check_triggers(triggers, name or "batch"))
