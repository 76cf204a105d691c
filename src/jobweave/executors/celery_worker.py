"""The worker's side of an attempt: claim it, heartbeat it, record its outcome, fenced.

Runs inside a Celery worker process (``jobweave worker``, or ``celery -A jobweave.celery
worker``), before and around the user's code. Three writes, each naming the attempt's
token (see :mod:`jobweave.executors.attempts`):

1. the claim, before the job starts: a message that is stale (the owner moved on), a
   duplicate (another process took it) or for a cancelled attempt finds nothing to claim,
   and nothing runs;
2. a heartbeat every third of the lease: when it finds the attempt no longer this
   worker's (the owner swept it as lost, or gave it up), the job is asked to stop (a shell
   command is killed with its process group);
3. the completion, which wakes the owner with a NOTIFY; fenced out, it is dropped.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from jobweave.executors import capture
from jobweave.executors.attempts import Attempts
from jobweave.executors.base import Outcome, Task
from jobweave.executors.remote import decode, outcome_text
from jobweave.executors.worker import run_loaded

log = logging.getLogger("jobweave.worker")

_local: dict[str, tuple[int, Attempts, Attempts]] = {}
"""Per store URL: the process that opened them, the connection for claims and
completions, and the one heartbeats use."""


def _connections(url: str) -> tuple[Attempts, Attempts]:
    pid = os.getpid()
    found = _local.get(url)
    if found is None or found[0] != pid:  # a forked pool child opens its own
        capture.install()  # what jobs print goes back with their outcome
        found = _local[url] = (pid, Attempts(url), Attempts(url))
    return found[1], found[2]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_attempt(url: str, run: str, slot: str, attempt: int, token: str,
                lease: float) -> str:
    """Run one attempt if it is still this message's to run; what happened, in a word."""
    db, beats = _connections(url)
    text = db.claim(run, slot, attempt, token, worker_name(), lease)
    if text is None:
        log.info("stale or duplicate delivery of %s/%s attempt %s: nothing run",
                 run, slot, attempt)
        return "stale"
    task = decode(text)
    outcome: Outcome | None = task if isinstance(task, Outcome) else (
        _run_beating(beats, task, run, slot, attempt, token, lease))
    if outcome is None:
        log.warning("%s/%s attempt %s lost its lease while it ran: its outcome is dropped",
                    run, slot, attempt)
        return "fenced"
    if db.complete(run, slot, attempt, token, outcome_text(outcome)):
        return "done"
    log.warning("late completion of %s/%s attempt %s fenced out: the owner had given it up",
                run, slot, attempt)
    return "fenced"


def _run_beating(beats: Attempts, task: Task, run: str, slot: str, attempt: int, token: str,
                 lease: float) -> Outcome | None:
    """Run the task with a heartbeat beside it; None when the lease was lost."""
    stop = threading.Event()
    lost = threading.Event()

    def beat() -> None:
        while not stop.wait(lease / 3):
            try:
                mine = beats.renew(run, slot, attempt, token, lease)
            except Exception:
                log.warning("heartbeat of %s/%s failed; trying again", run, slot,
                            exc_info=True)
                continue
            if not mine:
                lost.set()
                task.context.request_stop()
                return

    thread = threading.Thread(target=beat, name="jobweave-heartbeat", daemon=True)
    thread.start()
    try:
        outcome = run_loaded(task)
    finally:
        stop.set()
        thread.join()
    return None if lost.is_set() else outcome
