"""Control of a run from outside its loop: cancel and pause (asked on this process, or
brought in by the lease heartbeat from another), the lease's renewal, and the cancel path
(mixed into :class:`~jobweave.engine.runtime.Runtime`)."""

from __future__ import annotations

import threading
import time
from queue import SimpleQueue

from jobweave.engine.outcomes import Outcomes
from jobweave.engine.state import CANCELLED, PENDING
from jobweave.executors.base import Outcome
from jobweave.store.base import asked_by

CANCEL_GRACE = 5.0
"""Seconds running jobs get to stop after a cancel before they are recorded cancelled."""


class RunControl(Outcomes):
    """Requests, the heartbeat and cancelling (the runtime sets these attributes)."""

    owner: str
    stop: threading.Event
    inbox: SimpleQueue[Outcome | None]
    pausing: bool
    _pause_requested: bool
    _hand_off: bool | None
    _asked_by: dict[str, str | None]
    cancel_deadline: float
    _stale_after: float

    # -- requests from other threads ---------------------------------------------------
    def cancel(self, by: str | None = None) -> None:
        """Stop starting jobs, ask running ones to stop, finish as ``cancelled``; ``by``
        (who asked) is journaled with the ``cancelling`` record."""
        self._asked_by.setdefault("cancel", by)
        self.stop.set()
        self.inbox.put(None)  # wake the loop now rather than at its next heartbeat

    def pause(self, by: str | None = None, *, hand_off: bool = False) -> None:
        """Start no new jobs; once running ones finished, stop as ``paused``; ``by``
        (who asked) is journaled with the ``pausing`` record. ``hand_off``: the asker
        pauses the run only because it stops (``jobweave serve``): unless someone else
        asks for a pause too, the paused run is left for any serving engine to continue."""
        self._asked_by.setdefault("pause", by)
        self._hand_off = hand_off if self._hand_off is None else self._hand_off and hand_off
        self._pause_requested = True
        self.inbox.put(None)

    def _by(self, what: str) -> str | None:
        """The data of the record that answers a request: who made it."""
        return asked_by(self._asked_by.get(what))

    def _stale(self) -> bool:
        """Whether the lease went unrenewed long enough that it may be someone else's."""
        return time.monotonic() - self._renewed > self._stale_after

    def _beat(self) -> None:
        """Renew the lease (``RunOwnedError`` if it was lost) and take in requests."""
        control = self.store.heartbeat(self.run_id, self.owner, epoch=self.epoch)
        self._renewed = time.monotonic()
        if control is None or control.what not in ("pause", "cancel"):
            return
        self._asked_by.setdefault(control.what, control.by)
        if control.what == "pause":
            self._hand_off = False  # someone wants it paused: it stays paused
            if not self.pausing:
                self._pause_requested = True
        else:
            self.stop.set()

    # -- cancel ------------------------------------------------------------------------
    def _begin_cancel(self) -> None:
        self.cancelling = True
        self.cancel_deadline = time.monotonic() + CANCEL_GRACE
        now = time.time()
        self._row(now, "cancelling", None, None, self._by("cancel"))
        for i, state in enumerate(self.status):
            if state == PENDING:
                self._final(i, CANCELLED, None, now)
        self._stop_inflight()
        self.ready.clear()

    def _stop_inflight(self) -> None:
        """Ask every running job to stop; an executor that can kill them does so now."""
        kill = getattr(self.executor, "kills_on_abandon", False)
        for task in list(self.inflight.values()):
            task.context.request_stop()
            if kill:
                self.executor.abandon(task)

    def _expire_inflight(self) -> None:
        now = time.time()
        for i, task in list(self.inflight.items()):
            del self.inflight[i]
            self.executor.abandon(task)
            self._final(i, CANCELLED, "did not stop within the cancel grace period", now)
