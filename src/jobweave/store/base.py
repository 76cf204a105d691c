"""What the store returns: plain records for the engine, the CLI and the web."""

from __future__ import annotations

import enum
import json
import os
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from jobweave.model.job import JobState
from jobweave.settings import DEFAULT_LEASE, heartbeat_for

LEASE_SECONDS = DEFAULT_LEASE
"""By default, a running run whose owner has not sent a heartbeat for this long is
``crashed`` (a store's ``lease_seconds``, from the settings, says it for that store)."""
HEARTBEAT_SECONDS = heartbeat_for(LEASE_SECONDS)
"""By default, how often an owner renews its lease and looks for a cancel request."""


HAND_OFF = "handoff"
"""``control`` of a paused run that any serving engine may continue: its engine paused it
only because it stopped (``RunHandle.pause(hand_off=True)``), and no one asked for a pause
meanwhile."""


def is_handed_off(status: str, control: str | None) -> bool:
    """Whether a run with this status and ``control`` was handed off (see ``HAND_OFF``)."""
    return status == "paused" and control == HAND_OFF


class RunStatus(enum.StrEnum):
    """Where a run stands. A str: ``record.status == "failed"`` works as before."""

    PENDING = "pending"
    """Stored, not started yet (a submitted run waits for its worker)."""
    RUNNING = "running"
    """A live process owns it and runs its jobs."""
    PAUSED = "paused"
    """Stopped on request without losing its place; ``resume`` continues it."""
    COMPLETED = "completed"
    """Every job completed."""
    FAILED = "failed"
    """It stopped with a job that faulted or was skipped."""
    CANCELLED = "cancelled"
    """It was cancelled."""
    CRASHED = "crashed"
    """Stored as running, but its owner is gone (no heartbeat): ``resume`` continues it."""


class Claim(NamedTuple):
    """What a claim hands its new owner: where its journal records start, and its epoch.

    Every write of the owner is fenced by ``epoch``: once another process claimed the run
    (bumping it), the old owner's commits are refused instead of mixing into the journal.
    """

    seq: int
    epoch: int


class Control(NamedTuple):
    """A request from outside to a run's owner, as its heartbeat reads it."""

    what: str
    """``cancel`` or ``pause``."""
    by: str | None
    """Who asked (a dashboard user, a token's name, ``cli:<user>``), for the journal."""


def asked_by(by: str | None) -> str | None:
    """The data of a journal record of a request: ``{"by": ...}``, or None for nobody."""
    return None if by is None else json.dumps({"by": by})


FINAL_RUN_STATES = frozenset({"completed", "failed", "cancelled"})
"""Run states no owner will change; ``paused`` and ``crashed`` runs can be resumed."""
LIVE_RUN_STATES = ("pending", "running")
"""Run statuses of a run that is going, or about to (a submitted run's worker claims it)."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as stored."""

    run_id: str
    name: str
    kind: str
    status: RunStatus
    """pending, running, paused, completed, failed, cancelled, or crashed (owner gone)."""
    source: str | None
    digest: str
    options: dict[str, Any]
    total: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    exit_code: int | None
    owner: str | None
    heartbeat_at: float | None
    control: str | None
    """A pending request to the owner: ``cancel`` or ``pause``."""
    parent_run: str | None
    counts: dict[str, int] = field(default_factory=dict)
    """Jobs per state."""
    last_seen_at: float | None = None
    """For a crashed or paused run, when it last did anything: its owner's last heartbeat
    or its last journal record, whichever is later."""

    @property
    def final(self) -> bool:
        return self.status in FINAL_RUN_STATES

    @property
    def cancel_requested(self) -> bool:
        return self.control == "cancel"

    @property
    def pause_requested(self) -> bool:
        return self.control == "pause"

    @property
    def handed_off(self) -> bool:
        """Paused only because its engine (``jobweave serve``) stopped: any serving engine
        continues it (see ``HAND_OFF``)."""
        return is_handed_off(self.status, self.control)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job of a run as stored."""

    index: int
    name: str
    kind: str
    status: JobState
    """A :class:`JobState` (a str); ``interrupted`` only in a crashed run's reading."""
    attempts: int
    output: Any
    error: str | None
    started_at: float | None
    finished_at: float | None
    tags: tuple[str, ...]

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


INTERRUPTED = JobState.INTERRUPTED
"""How a job stored ``running`` reads once its run crashed: it runs again on resume."""
JOB_STATES: dict[str, JobState] = {s.value: s for s in JobState}
"""A stored job status as its enum (a dict lookup: cheaper than ``JobState(value)``)."""


def as_seen(job: JobRecord, run: RunRecord) -> JobRecord:
    """``job`` as a reader should see it: ``interrupted``, not ``running``, in a crashed run."""
    if job.status == "running" and run.status == "crashed":
        return replace(job, status=INTERRUPTED)
    return job


def owner_id() -> str:
    """This process as a run owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None, heartbeat_at: float | None, now: float | None = None,
                lease: float = LEASE_SECONDS) -> bool:
    """Whether a run's owner still holds its lease of ``lease`` seconds.

    On the owner's own host a dead pid ends the lease at once; elsewhere the
    heartbeat's age decides.
    """
    if not owner:
        return False
    now = time.time() if now is None else now
    if heartbeat_at is None or now - heartbeat_at > lease:
        return False
    return not process_gone(owner)


def process_gone(owner: str) -> bool:
    """Whether ``owner`` (``host:pid``) is a process of this host that no longer exists.

    An owner on another host, or one whose pid is not a number, is never known gone.
    """
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a live process of another user
        return False
    return False


class Leases:
    """A store's run leases and clock (mixed into the store and its readers).

    ``now()`` is the store's clock: the local clock corrected by ``clock_offset``, which a
    server database measures against its own (see ``PostgresStore.sync_clock``), so that
    engines on machines whose clocks differ agree on when a lease ran out. Every heartbeat
    is stamped with it and every lease is judged with it.
    """

    lease_seconds: float = LEASE_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    clock_offset: float = 0.0
    """Seconds to add to the local clock to read the database's."""

    def now(self) -> float:
        """The store's time, in seconds since the epoch."""
        return time.time() + self.clock_offset

    def alive(self, owner: str | None, heartbeat_at: float | None,
              now: float | None = None) -> bool:
        """Whether ``owner`` still holds its lease on a run (see :func:`owner_alive`)."""
        return owner_alive(owner, heartbeat_at, self.now() if now is None else now,
                           self.lease_seconds)

    def sync_clock(self) -> None:
        """Measure the database's clock against the local one (stores with a server)."""
