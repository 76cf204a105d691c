"""The Celery executor: each attempt runs on a remote worker, handed over through the store.

``submit`` writes the attempt (a new number and token, ``queued``) into
``jobweave_attempts`` and sends a small Celery message naming it; the worker claims it
with the token before the job starts (see :mod:`jobweave.executors.celery_worker`). One
watcher thread learns completions from the table (LISTEN/NOTIFY, and a poll every
second for a notification that never came) and delivers them as Outcomes; every
``sweep`` seconds it marks lost the attempts whose worker stopped renewing its lease or
that no worker claimed in time, and delivers those as lost Outcomes (the engine runs
the job again without spending a retry).

A submit for a job whose row holds a live attempt of an earlier owner of the run (the
run was resumed after its owner died) adopts that attempt instead of sending another;
a success recorded but not yet journaled is delivered at once. Nothing runs twice.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from jobweave.executors.attempts import CHANNEL, Attempts, conninfo
from jobweave.executors.base import Deliver, Outcome, Task
from jobweave.executors.celery_app import TASK, make_app
from jobweave.executors.remote import encode, outcome_of
from jobweave.settings import Settings

log = logging.getLogger("jobweave.executors.celery")

DEFAULT_SIZE = 64
"""Attempts in flight at once unless ``workers`` says otherwise (the workers' pools, not
this number, bound what runs at a time)."""
POLL = 1.0
"""Seconds between looks at the table when no notification comes."""


@dataclass(slots=True)
class _Watch:
    task: Task
    attempt: int
    """The attempt's number in the table (an adopted one keeps its earlier owner's)."""
    token: str | None


class CeleryExecutor:
    """Sends attempts to Celery workers; learns their outcomes from the store."""

    kills_on_abandon = True
    """A cancel gives attempts up at once (their workers stop them at the next heartbeat)."""
    isolates_jobs = True
    """A job that ends its process ends only a worker's process, never the engine."""

    def __init__(self, settings: Settings, workers: int | None = None) -> None:
        self.size = workers or DEFAULT_SIZE
        self.settings = settings
        self._info = conninfo(settings.store)
        self._db = Attempts(settings.store)
        self._app: Any = None
        self._deliver: Deliver | None = None
        self._lock = threading.Lock()
        self._watched: dict[str, _Watch] = {}
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_id: str | None = None

    # -- the Executor protocol ----------------------------------------------------------
    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._app = make_app(self.settings)
        self._thread = threading.Thread(target=self._watch, name="jobweave-celery",
                                        daemon=True)
        self._thread.start()

    def submit(self, task: Task) -> None:
        run, slot = task.context.run_id, task.slot or task.context.job
        self._run_id = run
        try:
            text = encode(task)
        except ValueError as exc:
            self._emit(_fault(task, str(exc)))
            return
        token = str(uuid.uuid4())
        queue = task.queue or self.settings.queue
        try:
            attempt = self._db.dispatch(run, slot, token, queue, text,
                                        self.settings.queued_timeout)
            if attempt is None:
                self._adopt(task, run, slot)
                return
            with self._lock:
                self._watched[slot] = _Watch(task, attempt, token)
            self._app.send_task(TASK, (run, slot, attempt, token, self.settings.attempt_lease),
                                task_id=f"{run}:{slot}:{attempt}", queue=queue)
        except Exception as exc:
            log.warning("cannot dispatch %s/%s", run, slot, exc_info=True)
            with self._lock:
                self._watched.pop(slot, None)
            self._emit(_fault(task, f"cannot send the job to the workers "
                                    f"({type(exc).__name__}: {exc})"))

    def _adopt(self, task: Task, run: str, slot: str) -> None:
        row = self._db.row(run, slot)
        if row is None:  # gone since (a deleted run): nothing to adopt
            self._emit(_fault(task, "the job's attempt row vanished"))
            return
        attempt, token, state, outcome = row
        if state == "done" and outcome is not None:
            log.info("%s/%s attempt %s completed under an earlier owner: taken as it is",
                     run, slot, attempt)
            self._emit(outcome_of(outcome, task.key, task.attempt))
            return
        log.info("%s/%s attempt %s (%s) is still live: adopted", run, slot, attempt, state)
        with self._lock:
            self._watched[slot] = _Watch(task, attempt, token)

    def abandon(self, task: Task) -> None:
        slot = task.slot or task.context.job
        with self._lock:
            w = self._watched.get(slot)
            if w is None or w.task is not task:
                return
            del self._watched[slot]
        if w.token is not None:
            try:
                self._db.give_up(task.context.run_id, slot, w.token)
            except Exception:
                log.warning("cannot give up %s/%s", task.context.run_id, slot, exc_info=True)
        now = time.time()
        self._emit(Outcome(task.key, task.attempt, False, None,
                           "interrupted: the job's attempt was given up", now, now,
                           interrupted=True))

    def shutdown(self) -> None:
        self._closed.set()
        with self._lock:
            self._watched.clear()
        if self._run_id is not None:  # wake the watcher from its LISTEN
            with contextlib.suppress(Exception):
                self._db.notify(self._run_id)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._db.close()

    # -- the watcher thread -------------------------------------------------------------
    def _watch(self) -> None:
        import psycopg

        listen: Any = None
        next_sweep = time.monotonic() + self.settings.sweep
        while not self._closed.is_set():
            try:
                if listen is None:
                    listen = psycopg.connect(self._info, autocommit=True)
                    listen.execute(f"LISTEN {CHANNEL}")
                wait = max(0.0, min(POLL, next_sweep - time.monotonic()))
                for _ in listen.notifies(timeout=wait, stop_after=1):
                    pass
                if self._closed.is_set():
                    break
                self._collect()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.settings.sweep
                    self._sweep()
            except Exception:
                log.warning("the Celery executor's watcher failed; retrying", exc_info=True)
                if listen is not None:
                    with contextlib.suppress(Exception):
                        listen.close()
                    listen = None
                self._closed.wait(POLL)
        if listen is not None:
            with contextlib.suppress(Exception):
                listen.close()

    def _collect(self) -> None:
        """Deliver the outcomes recorded for the attempts this executor watches."""
        run, slots = self._watching()
        if not slots:
            return
        for slot, attempt, text in self._db.done(run, slots):
            w = self._take(slot, attempt)
            if w is not None:
                self._emit(outcome_of(text, w.task.key, w.task.attempt))

    def _sweep(self) -> None:
        """Mark lost what no worker holds any more, and hand it back to the engine."""
        run, slots = self._watching()
        if not slots:
            return
        for slot, attempt, worker in self._db.sweep(run, slots):
            w = self._take(slot, attempt)
            if w is None:
                continue
            if worker is None:
                why = f"no worker claimed it within {self.settings.queued_timeout:g}s"
            else:
                why = f"its worker {worker} stopped renewing its lease"
            log.info("%s/%s attempt %s lost: %s", self._run_id, slot, attempt, why)
            now = time.time()
            self._emit(Outcome(w.task.key, w.task.attempt, False, None,
                               f"worker_lost: {why}", now, now, lost=True))

    def _watching(self) -> tuple[str, list[str]]:
        """The run and the slots whose attempts this executor waits for."""
        with self._lock:
            return self._run_id or "", list(self._watched) if self._run_id else []

    def _take(self, slot: str, attempt: int) -> _Watch | None:
        """Stop watching ``slot`` if it still waits for ``attempt``; what it watched."""
        with self._lock:
            w = self._watched.get(slot)
            if w is None or w.attempt != attempt:
                return None
            del self._watched[slot]
            return w

    def _emit(self, outcome: Outcome) -> None:
        deliver = self._deliver
        if deliver is not None:
            deliver(outcome)


def _fault(task: Task, error: str) -> Outcome:
    now = time.time()
    return Outcome(task.key, task.attempt, False, None, error, now, now)
