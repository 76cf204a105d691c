"""The serving loop: start runs of definitions when their triggers fire.

A :class:`Server` holds definitions that carry triggers (``jw.flow(..., triggers=[...])``,
batches, schedules). Each round (:meth:`Server.tick`) it looks at the triggers whose next
fire time has come, asks :func:`jobweave.triggers.due` what to do given the trigger's
stored last fire, applies the overlap policy, claims the fire in the store (one
conditional UPDATE, see :mod:`jobweave.store.triggers`) and starts the runs it won.
Between rounds it sleeps until the next fire time, at most ``renew`` seconds (the lease
renewal interval), or until a run it started finishes (a queued fire may start then).

Nothing here reads the clock except through ``now``, so tests drive time by hand.
Everything is logged on the ``jobweave.serve`` logger; nothing is printed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from jobweave.engine.engine import Engine
from jobweave.engine.handle import RunHandle, new_run_id
from jobweave.engine.tails import SWEEP_SECONDS, sweep_live_tails
from jobweave.engine.takeover import Takeover, reap
from jobweave.errors import DefinitionError, JobweaveError, RunNotFoundError
from jobweave.events import RunFinished
from jobweave.plan import Plan
from jobweave.settings import RENEW_SECONDS
from jobweave.store.base import LIVE_RUN_STATES, owner_id
from jobweave.store.triggers import FireTaken, TriggerRow, TriggerTable
from jobweave.triggers import Overlap, Trigger, due, next_fire, on_overlap, trigger_to_data

log = logging.getLogger("jobweave.serve")

CLAIM_TRIES = 3
"""Claims of one trigger per round before leaving it to the next round."""


def _instant(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def trigger_key(source: str, index: int, trigger: Trigger) -> str:
    """The stable key of a definition's ``index``-th trigger: its source, index and spec.

    Changing the trigger (its spec) makes it a new trigger, served from now on.
    """
    spec = json.dumps(trigger_to_data(trigger), sort_keys=True)
    digest = hashlib.sha256(spec.encode()).hexdigest()[:12]
    where = source if len(source) <= 200 else hashlib.sha256(source.encode()).hexdigest()
    return f"{where}#{index}@{digest}"


@dataclass(slots=True)
class Served:
    """One trigger of one definition, as this process serves it."""

    key: str
    label: str
    """How logs name it: the trigger's ``name``, else ``definition[index]``."""
    definition: Any
    source: str
    trigger: Trigger
    wake: datetime | None
    """When to look at it next (None: it fires no more)."""
    queued: bool = False
    """A fire waits for the previous run (``overlap="queue"``)."""
    last_run: str | None = None


@dataclass(frozen=True, slots=True)
class Fire:
    """What one round did for one scheduled instant of one trigger."""

    trigger: str
    """The trigger's label."""
    key: str
    scheduled: datetime
    action: str
    """``started``, ``queued``, ``skipped`` (overlap) or ``failed`` (the run could not be
    created: the error is logged)."""
    run_id: str | None = None


class Server:
    """Serves the triggers of ``definitions`` (``(definition, source)`` pairs) on one store.

    ``now`` is the clock (UTC datetimes), ``owner`` names this process in leases.
    """

    def __init__(self, definitions: Sequence[tuple[Any, str]], *, engine: Engine,
                 now: Callable[[], datetime] | None = None, owner: str | None = None,
                 renew: float = RENEW_SECONDS, takeover: bool = True) -> None:
        self.engine = engine
        self.table = TriggerTable(engine.store)
        self.owner = owner or owner_id()
        self.renew_every = timedelta(seconds=renew)
        self._now = now or (lambda: datetime.now(UTC))
        self.served = _collect(definitions)
        self.handles: dict[str, RunHandle] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self.wakeup = threading.Event()
        """Set to end the current sleep early (a run finished, or a stop was asked)."""
        self.stopping = threading.Event()
        self._renewed: datetime | None = None
        self._rows: dict[str, TriggerRow] = {}
        self.takeover = Takeover(engine, listeners=[self._on_event]) if takeover else None
        """Continues the runs whose owner is gone (see :mod:`jobweave.engine.takeover`)."""
        self.table.register((s.key, s.source, json.dumps(trigger_to_data(s.trigger)))
                            for s in self.served)
        start = self._now()
        for s in self.served:
            s.wake = start

    # -- one round ---------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> list[Fire]:
        """Do one round at ``now``: renew leases when due, fire every trigger due."""
        now = self._now() if now is None else now.astimezone(UTC)
        if self.takeover is not None and self.takeover.due():
            self.takeover.sweep()
        if self._renewed is None or not (self._renewed <= now < self._renewed
                                         + self.renew_every):
            self._renew(now)
        with self._lock:
            finished, self._finished = self._finished, set()
        todo = [s for s in self.served
                if (s.wake is not None and s.wake <= now)
                or (s.queued and s.last_run in finished)]
        if not todo:
            return []
        # the row as this process last wrote it saves a read; if another process changed
        # it since, the claim does not match and the row is read again
        rows = self.table.read([s.key for s in todo if s.key not in self._rows])
        rows.update((s.key, self._rows[s.key]) for s in todo if s.key in self._rows)
        out: list[Fire] = []
        for s in todo:
            row = rows.get(s.key)
            if row is None:  # its row was deleted: serve it anew from the next round
                self.table.register([(s.key, s.source, json.dumps(trigger_to_data(s.trigger)))])
                continue
            out.extend(self._step(s, row, now))
        return out

    def _renew(self, now: datetime) -> None:
        self._renewed = now
        self._rows.clear()  # read every row afresh at least once per renew interval
        keys = [s.key for s in self.served]
        self.table.renew(keys, self.owner, now.timestamp())
        asked = set(self.table.asked(keys))
        for s in self.served:  # a fire asked by hand: look now, even if it fires no more
            if s.key in asked:
                s.wake = now
            elif s.queued:  # a queued fire behind another process's run: look again
                s.wake = now if s.wake is None else min(s.wake, now)

    def _step(self, s: Served, row: TriggerRow, now: datetime) -> list[Fire]:
        for _ in range(CLAIM_TRIES):
            fires = self._try(s, row, now)
            if fires is not None:
                return fires
            self._rows.pop(s.key, None)
            fresh = self.table.read([s.key]).get(s.key)  # another process moved it: look again
            if fresh is None:
                break
            row = fresh
        s.wake = now + timedelta(seconds=1)
        return []

    def _try(self, s: Served, row: TriggerRow, now: datetime) -> list[Fire] | None:
        stamp = now.timestamp()
        last = _instant(row.last_fire)
        if row.leased_to_other(self.owner, stamp):
            # the holder fires it; look again at its next fire or when the lease runs out
            after = next_fire(s.trigger, max(now, last) if last else now)
            until = _instant(row.lease_until)
            s.wake = until if after is None or (until is not None and until < after) else after
            s.queued = False
            return []
        if row.paused:  # no scheduled fire; look again soon: it may be resumed
            fires: tuple[datetime, ...] = ()
            wake: datetime | None = now + self.renew_every
            new_last, skipped = row.last_fire, 0
        else:
            decided = due(s.trigger, last, now, fired=row.fires)
            fires, wake, skipped = decided.fires, decided.next_fire, decided.skipped
            new_last = decided.last_fire.timestamp()
        # "allow" starts whatever runs: no need to ask
        running = s.trigger.overlap is not Overlap.ALLOW and self._running(row.last_run)
        queued = _instant(row.queued_fire)
        asked = _instant(row.fire_asked)
        starts: list[datetime] = []
        out: list[Fire] = []
        if asked is not None:  # "fire now": asked for by hand, whatever the overlap policy
            starts.append(asked)
            running = True
        if queued is not None and not running and not row.paused:
            starts.append(queued)
            queued, running = None, True
        for fire in fires:
            action = on_overlap(s.trigger, running=running, waiting=queued is not None)
            if action == "start":
                starts.append(fire)
                running = True
            elif action == "wait":
                queued = fire
                out.append(Fire(s.label, s.key, fire, "queued"))
            else:
                out.append(Fire(s.label, s.key, fire, "skipped"))
        new_queued = None if queued is None else queued.timestamp()
        if not starts and new_last == row.last_fire and new_queued == row.queued_fire:
            self._settle(s, wake, queued is not None, row.last_run)
            return []
        run_ids = [new_run_id(f.timestamp()) for f in starts]
        last_run = run_ids[-1] if run_ids else row.last_run
        fields: dict[str, Any] = {
            "last_fire": new_last, "started": len(starts), "last_run": last_run,
            "queued_fire": new_queued, "asked_done": asked is not None, "now": stamp}
        made: Plan | None = None
        failed: str | None = None
        if starts:
            # the fires are counted in the transaction that stores their runs: a process
            # killed in between leaves none of them, and the fires are made again
            try:
                _, made = self.engine.create(
                    s.definition, source=s.source, run_id=run_ids[0], also=run_ids[1:],
                    first=lambda conn: self.table.claim_in(conn, row, self.owner, **fields))
            except FireTaken:
                return None
            except JobweaveError as exc:  # counted without its run, said once below
                failed = str(exc)
        if made is None and not self.table.claim(row, self.owner, **fields):
            return None
        self._rows[s.key] = replace(row, last_fire=new_last, fires=row.fires + len(starts),
                                    last_run=last_run, queued_fire=new_queued,
                                    lease_owner=self.owner, fire_asked=None,
                                    fire_asked_by=None)
        self._settle(s, wake, queued is not None, last_run)
        if skipped:
            log.info("trigger %s: %d missed fire time(s) skipped (missed=%s)", s.label,
                     skipped, s.trigger.missed.value)
        for held in out:
            log.info("trigger %s: fire %s %s (overlap=%s, run %s still running)", s.label,
                     _iso(held.scheduled), held.action, s.trigger.overlap.value, row.last_run)
        for fire, run_id in zip(starts, run_ids, strict=True):
            by = row.fire_asked_by if asked is not None and fire is asked else None
            if made is None:
                log.error("trigger %s: fire %s could not start a run: %s", s.label,
                          _iso(fire), failed)
                out.append(Fire(s.label, s.key, fire, "failed"))
                continue
            out.append(self._start(s, fire, run_id, made, asked_by=by))
        return out

    def _settle(self, s: Served, wake: datetime | None, queued: bool,
                last_run: str | None) -> None:
        s.wake, s.queued, s.last_run = wake, queued, last_run

    def _running(self, run_id: str | None) -> bool:
        """Whether the run a trigger started last is still going (here or elsewhere)."""
        if run_id is None:
            return False
        handle = self.handles.get(run_id)
        if handle is not None and handle.done:
            return False
        try:  # the store decides: a run of ours may have finished before its thread ended
            record = self.engine.store.get_run(run_id, counts=False)
        except RunNotFoundError:
            return False
        # a run a stopped engine handed off goes on as soon as one takes it over (this
        # one, when it takes over runs)
        return record.status in LIVE_RUN_STATES or (record.handed_off
                                                    and self.takeover is not None)

    def _start(self, s: Served, fire: datetime, run_id: str, plan: Plan, *,
               asked_by: str | None = None) -> Fire:
        """Start the fire's run, stored with the claim of its fire."""
        what = f"fire {_iso(fire)}" if asked_by is None else f"fire asked by {asked_by}"
        try:
            # a fire asked for: the run's run_started record says who asked
            handle = self.engine.start(run_id, plan, concurrency=plan.concurrency,
                                       listeners=[self._on_event], by=asked_by,
                                       why=None if asked_by is None else "fire-now")
        except JobweaveError as exc:
            log.error("trigger %s: %s could not start a run: %s", s.label, what, exc)
            return Fire(s.label, s.key, fire, "failed")
        self.handles[run_id] = handle
        log.info("trigger %s: %s started run %s (%s)", s.label, what, run_id, plan.name)
        return Fire(s.label, s.key, fire, "started", run_id)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, RunFinished):
            with self._lock:
                self._finished.add(event.run_id)
            self.wakeup.set()

    # -- the loop ------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Every trigger fires no more and no run this process started is still going."""
        return all(s.wake is None and not s.queued for s in self.served) and all(
            h.done for h in self.handles.values())

    def seconds_to_wait(self, now: datetime | None = None) -> float:
        """How long to sleep after a round: until the next fire, at most ``renew``."""
        now = self._now() if now is None else now
        wakes = [s.wake for s in self.served if s.wake is not None]
        limit = self.renew_every.total_seconds()
        if self.takeover is not None:
            limit = min(limit, self.takeover.every)
        if not wakes:
            return limit
        return max(0.0, min(limit, (min(wakes) - now).total_seconds()))

    def serve(self) -> None:
        """Fire triggers until :meth:`stop` is called or every trigger is done."""
        store = self.engine.store
        log.info("serving %d trigger(s) on %s as %s%s", len(self.served), store.url, self.owner,
                 "" if self.takeover is None else
                 f"; taking over runs whose owner is gone (lease {store.lease_seconds:g}s)")
        swept = -SWEEP_SECONDS
        while not self.stopping.is_set():
            if time.monotonic() - swept >= SWEEP_SECONDS:
                swept = time.monotonic()
                sweep_live_tails(self.engine.store)
            self.tick()
            self.handles = reap(self.handles)
            if self.takeover is not None:
                self.takeover.reap()
            # an engine that takes over runs serves on once its triggers are done, if it
            # was started for that alone
            if self.done and (self.served or self.takeover is None):
                log.info("every trigger is done")
                break
            self.wakeup.wait(self.seconds_to_wait())
            self.wakeup.clear()

    def nudge(self) -> None:
        """Look at every trigger's row again now (one was paused, resumed or asked to
        fire by this process's dashboard); otherwise that is seen within ``renew``."""
        self._renewed = None
        self.wakeup.set()

    def stop(self) -> None:
        """Fire nothing more; :meth:`serve` returns after its current round."""
        self.stopping.set()
        self.wakeup.set()

    def close(self, grace: float = 10.0) -> list[str]:
        """Pause the runs still going, wait up to ``grace`` seconds for them, release the
        leases. A run paused for this alone is handed off (``HAND_OFF`` in its
        ``control``): any serving engine's next sweep continues it. Returns the runs
        still going: they read ``crashed`` once this process is gone, and are continued
        the same way."""
        taken = self.takeover.handles.values() if self.takeover is not None else ()
        live = [h for h in (*self.handles.values(), *taken) if not h.done]
        for handle in live:
            handle.pause(by=f"serve:{self.owner}", hand_off=True)
        deadline = threading.Event()
        timer = threading.Timer(grace, deadline.set)
        timer.start()
        try:
            for handle in live:
                while not handle.done and not deadline.is_set():
                    deadline.wait(0.05)
        finally:
            timer.cancel()
        self.table.release(self.owner)
        left = [h.run_id for h in live if not h.done]
        for run_id in left:
            log.warning("run %s still running: a serving engine continues it once its "
                        "lease runs out (or `jobweave resume %s`)", run_id, run_id)
        return left


def _collect(definitions: Sequence[tuple[Any, str]]) -> list[Served]:
    out: list[Served] = []
    seen: set[str] = set()
    for definition, source in definitions:
        triggers: tuple[Trigger, ...] = tuple(getattr(definition, "triggers", ()) or ())
        if not triggers:
            raise DefinitionError(f"{source} carries no triggers: nothing to serve (add "
                                  "triggers=[jw.every('1h')] or a 'triggers:' list)")
        name = getattr(definition, "name", None) or source.rpartition("/")[2]
        for index, trigger in enumerate(triggers):
            key = trigger_key(source, index, trigger)
            if key in seen:
                continue
            seen.add(key)
            out.append(Served(key, trigger.name or f"{name}[{index}]", definition, source,
                              trigger, None))
    return out
