"""The run loop of an execution that resumes a run whose owner died while jobs ran.

A job that ends its own process (``os._exit``, a crash in native code, the
out-of-memory killer) under the threads executor takes the engine with it: no outcome,
no message, and every resume would die the same way. Such an execution therefore:

- commits each dispatch wave's ``started`` records before the jobs run, so every death
  leaves the jobs that were running marked ``running`` (the normal loop group-commits
  starts and drops those of jobs that finish first, so a job that kills its process at
  once could leave no trace);
- runs a job that was interrupted ``SOLO_AFTER`` times or more alone, once the jobs
  running beside it finished, so that a death can be blamed on the job that caused it
  and not on its neighbours;
- faults, before anything runs, a job interrupted ``lost_limit(retries)`` times, with a
  message that says why.

The resume counts the interruptions (``SqlStore.mark_interrupted``): each job left
``running`` by a dead owner gets one more ``lost`` attempt.
"""

from __future__ import annotations

import time
from typing import Any

from jobweave.engine.retry import lost_limit
from jobweave.engine.runtime import Runtime
from jobweave.engine.state import COMPLETED, FAULTED, PENDING
from jobweave.executors.base import Deliver, Executor, Task

SOLO_AFTER = 2
"""Interruptions after which a job runs alone, so the next death is surely its own."""


def lost_reason(times: int, isolated: bool) -> str:
    """The error of a job given up because its process kept dying while it ran."""
    text = (f"the process running this job died {times} times while it ran (maximum "
            "recovery attempts)")
    if isolated:
        return text + "; each time the whole engine process died, not only the job's worker"
    return (text + "; run code that can end its process (os._exit, a crash in native code, "
            "running out of memory) with executor=\"processes\", where only a worker dies")


class _Holding:
    """The executor as the after-crash loop sees it: a submitted task waits until the
    loop has committed its start (``flush``)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.size = inner.size
        self.tasks: list[Task] = []

    @property
    def kills_on_abandon(self) -> bool:
        return bool(getattr(self.inner, "kills_on_abandon", False))

    def start(self, deliver: Deliver) -> None:
        self.inner.start(deliver)

    def submit(self, task: Task) -> None:
        self.tasks.append(task)

    def flush(self) -> None:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            self.inner.submit(task)

    def abandon(self, task: Task) -> None:
        self.inner.abandon(task)

    def shutdown(self) -> None:
        self.tasks.clear()
        self.inner.shutdown()


class AfterCrashRuntime(Runtime):
    """A :class:`Runtime` that makes every death of its process count (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._isolated = bool(getattr(self.executor, "isolates_jobs", False))
        self._holding = _Holding(self.executor)
        self.executor = self._holding
        self._lost = {i: p.lost for i, p in self._prior.items() if p.lost}
        self._suspects = {i for i, n in self._lost.items() if n >= SOLO_AFTER}
        self._shelf: list[int] = []
        """Suspects waiting for the jobs running beside them to finish."""
        self._deferred: list[int] = []
        """Jobs that became ready while a suspect ran alone."""
        self._solo: int | None = None
        """The suspect running alone, if any."""

    def _seed(self) -> None:
        super()._seed()
        now = time.time()
        for i, n in self._lost.items():
            p = self._prior[i]
            if (p.status != COMPLETED and self.status[i] == PENDING
                    and n >= lost_limit(self.nodes[i].retries)):
                self.started[i] = p.started_at
                self._final(i, FAULTED, lost_reason(n, self._isolated), now)

    def _start(self, i: int) -> None:
        if self._solo is not None:
            self._deferred.append(i)
        elif i not in self._suspects:
            self._begin(i)
        elif self.inflight:
            self._shelf.append(i)
        else:
            self._solo = i
            self._begin(i)

    def _begin(self, i: int) -> None:
        super()._start(i)
        # journaled now, not once the job has run a while: its start must be committed
        # before it runs (the held executor releases it after that commit)
        self._journal_start(i)

    def _dispatch(self) -> None:
        while not (self.cancelling or self.pausing):
            if self._solo is not None:
                if self._solo in self.inflight:
                    return
                self._solo = None
                self.ready.extendleft(reversed(self._deferred))
                self._deferred.clear()
            if self._shelf:
                if self.inflight:
                    return  # the suspect waits for its neighbours to finish
                i = min(self._shelf, key=self._lost.__getitem__)  # likely innocents first
                self._shelf.remove(i)
                if self.status[i] == PENDING:
                    self._start(i)
            else:
                super()._dispatch()
            if not self._holding.tasks:
                return
            # the starts reach the store before the jobs run; completions committed with
            # them are released now, which may make more jobs ready for this wave
            self._commit()
            self._release()
            self._holding.flush()
