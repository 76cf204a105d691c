"""Element flows: ordered steps applied to a list of elements, serially or in parallel."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jobweave.errors import DefinitionError
from jobweave.model.job import Job, OutputRef
from jobweave.model.triggers import check_triggers
from jobweave.triggers import Trigger

MAX_NESTING = 32
"""Child flows nested deeper than this are refused (a flow that contains itself)."""


class FlowMode(enum.StrEnum):
    """How a flow walks its elements."""

    SERIAL = "serial"
    """Each element runs every step before the next element starts."""
    PARALLEL = "parallel"
    """Each step runs for every element before the next step starts."""


Predicate = Callable[[Any], Any]
"""A callable on a context (``when=``) or an element (``filter=``, ``order_by=``)."""
Locate = Callable[[DefinitionError, int, tuple[str, ...]], DefinitionError]
"""For a flow read from a file: an error found in step ``k``'s field (``("shell",)``,
``("params", "key")``) when the run is created, pointed at that field's file and line."""


@dataclass(frozen=True, eq=False, slots=True)
class Flow:
    """Steps (jobs and child flows) applied to elements in a mode.

    ``elements`` is a list of mappings with a ``name`` and a ``context``, a path to a
    YAML, JSON or CSV file, a callable returning the list when the run is created, or
    ``None``: a child flow then runs on the elements its parent runs the step for.
    """

    steps: tuple[Job | Flow, ...]
    """Jobs and child flows, in order."""
    elements: tuple[dict[str, Any], ...] | str | Callable[[], Any] | None = None
    """The elements, or where they come from (see the class docstring)."""
    mode: FlowMode = FlowMode.SERIAL
    """Serial (element by element) or parallel (step by step)."""
    name: str | None = None
    """The flow's name: the run's name, and the prefix of a child flow's job names."""
    filter: Predicate | None = None
    """Keeps the elements it returns true for."""
    order_by: Predicate | None = None
    """Sort key of the elements (after filtering); ``reverse`` flips the order."""
    reverse: bool = False
    """Walk the elements in the reverse of their (sorted) order."""
    concurrency: int | None = None
    """Jobs running at once when the caller sets none."""
    continue_on_failure: bool = False
    """Keep going after a step faulted (every step of this flow tolerates failure)."""
    triggers: tuple[Trigger, ...] = ()
    """When ``jobweave serve`` starts it; not part of the run's definition (nor its digest)."""
    locate: Locate | None = None
    """Where a step's fields are written, for a flow read from a file (see ``Locate``)."""

    def __post_init__(self) -> None:
        where = self.name or "flow"
        object.__setattr__(self, "triggers", check_triggers(self.triggers, where))
        if not self.steps:
            raise DefinitionError("a flow needs at least one step", field=f"{where}.steps")
        for k, step in enumerate(self.steps):
            if isinstance(step, Flow):
                continue
            if not isinstance(step, Job):
                raise DefinitionError(f"a flow step is a job or a flow, got {step!r}",
                                      field=f"{where}.steps[{k}]")
            if step.after or any(isinstance(v, OutputRef) for v in step.params.values()):
                raise DefinitionError("a flow orders its steps itself: after= and output() "
                                      "are not used inside flows", field=f"{where}.steps[{k}]")
        if not isinstance(self.mode, FlowMode):
            raise DefinitionError(f"mode must be serial or parallel, got {self.mode!r}",
                                  field=f"{where}.mode")
        for attr in ("filter", "order_by"):
            value = getattr(self, attr)
            if value is not None and not callable(value):
                raise DefinitionError(f"{attr} must be a callable, got {value!r}",
                                      field=f"{where}.{attr}")
        if self.concurrency is not None and (isinstance(self.concurrency, bool) or not
                                             isinstance(self.concurrency, int)
                                             or self.concurrency < 1):
            raise DefinitionError(f"concurrency must be a whole number >= 1, got "
                                  f"{self.concurrency!r}", field=f"{where}.concurrency")
        _check_nesting(self, (), where)


def _check_nesting(flow: Flow, path: tuple[int, ...], where: str) -> None:
    if id(flow) in path:
        raise DefinitionError(f"flow {flow.name or 'flow'!r} contains itself",
                              field=f"{where}.steps")
    if len(path) >= MAX_NESTING:
        raise DefinitionError(f"child flows nest deeper than {MAX_NESTING}", field=where)
    for step in flow.steps:
        if isinstance(step, Flow):
            _check_nesting(step, (*path, id(flow)), where)


def element(value: Any, where: str) -> dict[str, Any]:
    """One element as a mapping with a ``name`` (text) and a ``context`` (a mapping)."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise DefinitionError(f"an element is a mapping with a name, got {value!r}",
                              field=where)
    name = value.get("name")
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError(f"an element needs a non-empty name, got {name!r}",
                              field=f"{where}.name")
    context = value.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        raise DefinitionError(f"an element's context is a mapping, got {context!r}",
                              field=f"{where}.context")
    return {"name": name, "context": dict(context)}


def flow(
    steps: Iterable[Job | Flow],
    *,
    elements: Iterable[Any] | str | Callable[[], Any] | None = None,
    mode: FlowMode | str = FlowMode.SERIAL,
    name: str | None = None,
    filter: Predicate | None = None,
    order_by: Predicate | None = None,
    reverse: bool = False,
    concurrency: int | None = None,
    continue_on_failure: bool = False,
    triggers: Iterable[Trigger] = (),
    locate: Locate | None = None,
) -> Flow:
    """A flow of ``steps`` over ``elements`` in ``mode`` (``"serial"`` or ``"parallel"``);
    ``locate`` is a definition file's (see ``Locate``)."""
    where = name or "flow"
    try:
        mode = FlowMode(mode)
    except ValueError:
        raise DefinitionError(f"mode must be serial or parallel, got {mode!r}",
                              field=f"{where}.mode") from None
    source: tuple[dict[str, Any], ...] | str | Callable[[], Any] | None
    if elements is None or isinstance(elements, str) or callable(elements):
        source = elements
    else:
        source = tuple(element(e, f"{where}.elements[{k}]") for k, e in enumerate(elements))
    return Flow(tuple(steps), source, mode, name, filter, order_by, bool(reverse), concurrency,
                bool(continue_on_failure), check_triggers(triggers, where), locate)
