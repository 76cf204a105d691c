"""Taking over runs nobody runs: what every serving engine does each round.

A run is continued by a serving engine (``jobweave serve``, unless ``--no-takeover``)
when no live process runs it and nobody asked it to stop:

* *crashed*: stored ``running`` but its owner's lease ran out (the owner died, froze, or
  lost the database), or at once when its owner is a process of this host that is gone
  (SIGKILLed, say): the engine resumes it (:meth:`Engine.resume`), which claims it and
  counts the attempts the dead owner left running, in one transaction;
* *pending* for more than twice the lease with no owner: a submitted run whose worker
  never claimed it: the engine starts it;
* *handed off*: paused by a serving engine only because that engine stopped (``HAND_OFF``
  in its ``control``): the engine resumes it.

A crashed run whose owner was asked to cancel or pause (and died before it answered) is
cancelled or paused instead. Runs paused on request, failed and cancelled runs are left
alone: someone decided they should stop. The claim checks, under the run's lock, that
the run is still what the sweep found (someone may have paused it meanwhile). Child runs
(``RUN.FIRING``) are left to their parent's owner.

Several engines look at the same runs; each claim is one locked, epoch-bumping
transaction, so exactly one engine wins a run and the others get ``RunOwnedError``,
which is the normal outcome of the race and logged at debug level only. Each engine
takes at most ``TAKE_PER_ROUND`` runs a round, in random order, so that the runs of a
dead engine spread over the live ones.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from jobweave.engine.engine import Engine
from jobweave.engine.handle import RunHandle
from jobweave.errors import JobweaveError, RunNotFoundError, RunOwnedError, RunStateError
from jobweave.events import Listener
from jobweave.store import owner_id
from jobweave.store.reads import Orphan

log = logging.getLogger("jobweave.serve")

TAKE_PER_ROUND = 2
"""Runs one engine takes over in one round (the others wait for the next round, or for
another engine)."""
RETRY_REFUSED = 60.0
"""Seconds before an engine tries again a run it could not resume (its definition does
not load here, say)."""


class Takeover:
    """Finds the runs nobody runs and continues them on ``engine``.

    ``handles`` holds the runs this engine took over and still runs.
    """

    def __init__(self, engine: Engine, *, listeners: Sequence[Listener] = (),
                 per_round: int = TAKE_PER_ROUND, rng: random.Random | None = None) -> None:
        self.engine = engine
        self.store = engine.store
        self.listeners = tuple(listeners)
        self.per_round = per_round
        self.every = self.store.heartbeat_seconds
        """Seconds between sweeps: as often as owners renew their leases."""
        self.handles: dict[str, RunHandle] = {}
        self.actor = f"serve:{owner_id()}"
        """Who continues the runs, in their ``run_started`` records."""
        self._refused: dict[str, float] = {}
        self._rng = rng or random.Random()
        self._next = 0.0

    def due(self) -> bool:
        """Whether a sweep is due now."""
        return time.monotonic() >= self._next

    def sweep(self) -> list[str]:
        """Take over what this round may; return the runs this engine now runs."""
        self._next = time.monotonic() + self.every
        self.store.sync_clock()
        orphans = self.store.orphans(pending_after=2 * self.store.lease_seconds)
        self._rng.shuffle(orphans)
        taken: list[str] = []
        now = time.monotonic()
        for orphan in orphans:
            if len(taken) >= self.per_round:
                break
            if self._refused.get(orphan.run_id, 0.0) > now or orphan.run_id in self.handles:
                continue
            if self._take(orphan):
                taken.append(orphan.run_id)
        return taken

    def _take(self, orphan: Orphan) -> bool:
        run_id = orphan.run_id
        try:
            if orphan.control == "cancel":  # asked to cancel, its owner died first
                self.store.request_cancel(run_id)
                log.info("run %s: cancelled (its owner %s died before it could)", run_id,
                         orphan.owner)
                return False
            if orphan.control == "pause":
                self.store.request_pause(run_id)
                log.info("run %s: paused (its owner %s died before it could)", run_id,
                         orphan.owner)
                return False
            record = self.store.get_run(run_id, counts=False)
            engine = self._engine_for(record.options)
            if orphan.status == "pending":
                handle = engine.start(run_id, concurrency=record.options.get("concurrency"),
                                      listeners=self.listeners, by=self.actor,
                                      why="start-pending")
            else:  # crashed, or handed off by a serving engine that stopped
                handle = engine.resume(run_id, listeners=self.listeners, by=self.actor,
                                       why="take-over", expect=orphan.status)
        except (RunOwnedError, RunNotFoundError) as exc:  # another engine was quicker
            log.debug("run %s: not taken over: %s", run_id, exc)
            return False
        except RunStateError as exc:  # it finished, or was cancelled or paused meanwhile
            log.debug("run %s: not taken over: %s", run_id, exc)
            return False
        except JobweaveError as exc:
            self._refused[run_id] = time.monotonic() + RETRY_REFUSED
            log.error("run %s: could not take it over: %s", run_id, exc)
            return False
        self.handles[run_id] = handle
        if orphan.status == "pending":
            log.info("run %s: started (pending with no worker)", run_id)
        elif orphan.status == "handed off":
            log.info("run %s: continued (paused by a serving engine that stopped)", run_id)
        else:
            # a dead pid on this host ends the lease at once: say which of the two it was
            why = "its process is gone" if orphan.owner_gone else "its lease ran out"
            log.info("run %s: taken over from %s (%s)", run_id, orphan.owner, why)
        return True

    def _engine_for(self, options: dict[str, Any]) -> Engine:
        """The engine to continue a run on: this one, with the run's own executor (a run
        whose jobs went to Celery workers adopts their attempts there; one of threads
        runs here)."""
        executor, workers = options.get("executor"), options.get("workers")
        settings = self.engine.settings.with_(executor=executor, workers=workers)
        if settings == self.engine.settings:
            return self.engine
        return Engine(settings, store=self.store)

    def reap(self) -> None:
        """Forget the runs that stopped here (saying which were lost to another engine)."""
        self.handles = reap(self.handles)


def reap(handles: dict[str, RunHandle]) -> dict[str, RunHandle]:
    """The handles still running; a run that stopped because another engine took it
    over is logged (the serving engine carries on with the others)."""
    live: dict[str, RunHandle] = {}
    for run_id, handle in handles.items():
        if not handle.done:
            live[run_id] = handle
        elif isinstance(handle.error, RunOwnedError):
            log.warning("run %s: lost run lease to %s; it continues there", run_id,
                        handle.error.owner)
    return live
