"""The context a job sees: who it is, which attempt, and whether it should stop.

A callable receives it by declaring a parameter named ``context``.
"""

from __future__ import annotations

import threading
from typing import Any

from jobweave.errors import Interrupted


class Context:
    """What a running job knows about its run; one per attempt."""

    __slots__ = (
        "_event",
        "_stopped",
        "attempt",
        "current",
        "element",
        "elements",
        "execution",
        "first",
        "job",
        "last",
        "previous_outputs",
        "recovered",
        "run_id",
        "tags",
    )

    def __init__(
        self,
        run_id: str,
        job: str,
        attempt: int,
        *,
        tags: tuple[str, ...] = (),
        recovered: bool = False,
        previous_outputs: Any = None,
        execution: int = 0,
    ) -> None:
        self.run_id = run_id
        """The run this attempt belongs to."""
        self.job = job
        """The job's unique name in the run."""
        self.attempt = attempt
        """1 for the first attempt, 2 for the first retry, and so on."""
        self.tags = tags
        """The job's tags."""
        self.recovered = recovered
        """True when a recovered journal already holds this job's outputs."""
        self.previous_outputs = previous_outputs
        """The outputs the recovered journal holds, when ``recovered``."""
        self.execution = execution
        """Which execution of the run this is: grows with every start and resume."""
        self.element: dict[str, Any] | None = None
        """In a flow: the element this job runs for (``name`` and ``context``)."""
        self.elements: tuple[dict[str, Any], ...] = ()
        """In a flow: every element of the step's flow, filtered and ordered."""
        self.current: int | None = None
        """In a flow: the index of ``element`` in ``elements``."""
        self.first: int | None = None
        """In a flow: the index of the element that runs first (0)."""
        self.last: int | None = None
        """In a flow: the index of the element that runs last."""
        # The event is made only when someone waits: most jobs never do, and an Event
        # per attempt is a measurable share of a no-op job's cost.
        self._stopped = False
        self._event: threading.Event | None = None

    @property
    def key(self) -> str:
        """An idempotency key for this job's work: the same for every attempt of the job in
        this run, in any process, so an outside system can recognise work done twice."""
        return f"{self.run_id}/{self.job}"

    @property
    def token(self) -> str:
        """Names this attempt and no other, even across a crash and resume (an attempt
        whose start was never committed may reuse its number; the execution differs)."""
        return f"{self.run_id}/{self.job}/e{self.execution}.a{self.attempt}"

    @property
    def cancelled(self) -> bool:
        """True once the run was cancelled or this attempt timed out."""
        return self._stopped

    def check(self) -> None:
        """Raise :class:`Interrupted` if the job should stop; call it in long loops."""
        if self._stopped:
            raise Interrupted(f"{self.job}: stop requested")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return True early if the job should stop."""
        if self._event is None:
            self._event = threading.Event()
        # request_stop sets the flag before it looks for the event, so checking the
        # flag after creating the event cannot miss a stop.
        if self._stopped:
            return True
        return self._event.wait(seconds)

    def request_stop(self) -> None:
        """Ask the job to stop (the engine calls this on cancel and timeout)."""
        self._stopped = True
        event = self._event
        if event is not None:
            event.set()

    def in_flow(self, elements: tuple[dict[str, Any], ...], current: int) -> Context:
        """Set the flow fields: the elements and which one this job runs for."""
        self.elements = elements
        self.element = elements[current]
        self.current = current
        self.first = 0
        self.last = len(elements) - 1
        return self

    def __repr__(self) -> str:
        return f"Context(run_id={self.run_id!r}, job={self.job!r}, attempt={self.attempt})"
