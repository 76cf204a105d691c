"""Outcomes handled on the thread that delivers them, when the loop waits and the job
was the only one running (mixed into :class:`~jobweave.engine.runtime.Runtime`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from queue import SimpleQueue

from jobweave.engine.outcomes import Outcomes
from jobweave.executors.base import Outcome


class Delivery(Outcomes):
    """``_deliver``, the callback executors call from their threads."""

    inbox: SimpleQueue[Outcome | None]
    stop: threading.Event
    pausing: bool
    _pause_requested: bool
    _lock: threading.Lock
    _wake_at: float
    _closed: bool
    _failure: BaseException | None
    _dispatch: Callable[[], None]
    _stale: Callable[[], bool]
    _starved: Callable[[], bool]
    _release: Callable[..., None]

    def _deliver(self, o: Outcome) -> None:
        """Take an outcome from an executor's thread.

        When it is the only job running and the loop is waiting, handle the outcome here,
        as the loop would (commit, release, start what became ready), rather than hand it
        over: a hand-off between threads costs more than the engine's own work for a short
        job, and a chain of jobs pays it on every link. With other jobs running, the loop
        takes it: it handles the outcomes that arrive together in one pass and one commit,
        where workers each taking the lock would contend for it and commit one by one.
        """
        if len(self.inflight) > 1 or not self._lock.acquire(blocking=False):
            self.inbox.put(o)
            return
        try:
            if self._closed or self._failure is not None:
                self.inbox.put(o)
                return
            self._handle_here(o)
        except BaseException as exc:  # the loop raises it, as if it had failed itself
            self._failure = exc
            self.inbox.put(None)
        finally:
            self._lock.release()

    def _handle_here(self, o: Outcome) -> None:
        self._on_outcome(o)
        # a lease that may be lost: start nothing until the loop's heartbeat says
        stopping = self.stop.is_set() or self._pause_requested or self._stale()
        if not stopping:
            self._dispatch()
        now = time.monotonic()
        pending = self.pending
        if pending.due(now, idle=not self.inflight, hurry=self._starved()):
            self._commit()
            self._release()
            if not stopping:
                self._dispatch()
        # wake the loop if it now has something to do before it would wake anyway
        if stopping or not self.remaining or (self.pausing and not self.inflight):
            wake = now
        else:
            wake = self._wake_at
            if pending.rows and (not self.inflight or (pending.urgent and self._starved())):
                wake = now
            elif pending.waiting:
                wake = min(wake, pending.next_at())
            if self.timers:
                wake = min(wake, self.timers.next_at)
        if wake < self._wake_at:
            self._wake_at = wake
            self.inbox.put(None)
