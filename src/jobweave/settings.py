"""Settings: where runs are stored and how jobs execute. Env vars are read only here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

from jobweave.errors import ConfigError, DefinitionError, StoreError

STORE_FOLDER = ".jobweave"
"""The folder that holds a project's default store, as ``.git`` holds a repository."""
STORE_FILE = "jobweave.db"
DEFAULT_STORE = f"{STORE_FOLDER}/{STORE_FILE}"
"""The embedded default store, relative to the current directory (see :func:`find_store`)."""
DEFAULT_EXECUTOR = "threads"
DEFAULT_THREADS = 16
"""Worker threads of the default executor; a run's concurrency can raise it."""
DEFAULT_DURABILITY = "normal"
EXECUTORS = ("threads", "processes", "celery")
DURABILITIES = ("normal", "full")
RENEW_SECONDS = 5.0
"""How often a serve process renews its trigger leases (and so the longest it sleeps)."""
DEFAULT_LEASE = 15.0
"""Seconds a run's owner may go without renewing its lease before another engine may
take the run over (``JOBWEAVE_LEASE``, ``serve --lease``)."""
LONGEST_HEARTBEAT = 1.0
"""An owner renews its lease (and reads cancel and pause requests) at least this often."""


def heartbeat_for(lease: float) -> float:
    """How often an owner renews a lease of ``lease`` seconds: a quarter of it, at most
    ``LONGEST_HEARTBEAT`` (so a cancel is seen within a second whatever the lease)."""
    return min(LONGEST_HEARTBEAT, lease / 4)


DEFAULT_QUEUE = "jobweave"
"""The Celery queue of jobs that name none (``queue=``)."""
DEFAULT_ATTEMPT_LEASE = 30.0
"""``executor="celery"``: seconds a worker holds an attempt without renewing it."""
DEFAULT_SWEEP = 5.0
DEFAULT_QUEUED_TIMEOUT = 600.0
DEFAULT_VISIBILITY_TIMEOUT = 3600.0
F = TypeVar("F", float, None)
DEFAULT_POOL_MIN = 2
"""PostgreSQL: connections an engine keeps open between uses."""
DEFAULT_POOL_MAX = 10
"""PostgreSQL: connections an engine opens at most (each running run holds one)."""
DEFAULT_POOL_TIMEOUT = 5.0
"""PostgreSQL: seconds to wait for a free connection before the operation fails."""
DEFAULT_POOL_RECYCLE = 3600.0
"""PostgreSQL: seconds after which a connection is replaced by a new one when next used."""


@dataclass(frozen=True, slots=True)
class Pool:
    """The connection pool of a PostgreSQL store (SQLite files ignore it).

    Budget: engines x (``max`` + 2) + workers x 2 must stay under the server's
    ``max_connections`` (see docs/scale-out.md)."""

    min: int = DEFAULT_POOL_MIN
    """Connections kept open between uses."""
    max: int = DEFAULT_POOL_MAX
    """Connections open at most; the ones above ``min`` are closed when given back."""
    timeout: float = DEFAULT_POOL_TIMEOUT
    """Seconds to wait for a free connection."""
    recycle: float = DEFAULT_POOL_RECYCLE
    """Seconds a connection is used before it is replaced."""

    def __post_init__(self) -> None:
        if self.min < 0 or self.max < 1 or self.min > self.max:
            raise StoreError(f"pool sizes need 0 <= min <= max and max >= 1, got min "
                             f"{self.min}, max {self.max}")
        if self.timeout <= 0 or self.recycle <= 0:
            raise StoreError("pool timeout and recycle must be positive seconds")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Pool:
        """A pool from ``JOBWEAVE_POOL_MIN``/``_MAX``/``_TIMEOUT``/``_RECYCLE``."""
        def number(name: str, default: float) -> float:
            text = env.get(f"JOBWEAVE_POOL_{name}")
            if not text:
                return default
            try:
                return float(text)
            except ValueError:
                raise StoreError(f"JOBWEAVE_POOL_{name} must be a number, got {text!r}") \
                    from None

        return cls(min=int(number("MIN", DEFAULT_POOL_MIN)),
                   max=int(number("MAX", DEFAULT_POOL_MAX)),
                   timeout=number("TIMEOUT", DEFAULT_POOL_TIMEOUT),
                   recycle=number("RECYCLE", DEFAULT_POOL_RECYCLE))


@dataclass(frozen=True, slots=True)
class Settings:
    """How jobweave is set up for one process. Build with :meth:`from_env` at the edge."""

    store: str = DEFAULT_STORE
    """A store URL: a SQLite path or ``sqlite:///path``, or ``postgresql://...``."""
    executor: str = DEFAULT_EXECUTOR
    """``threads`` (default) or ``processes`` (CPU-bound callables)."""
    workers: int | None = None
    """Size of the executor; None picks the executor's default."""
    durability: str = DEFAULT_DURABILITY
    """SQLite only: ``normal`` survives a killed process, ``full`` also a power loss."""
    secrets_file: str | None = None
    """A file of secrets for graphs' ``secrets.NAME`` (see :mod:`jobweave.secrets`)."""
    lease: float = DEFAULT_LEASE
    """Seconds a run's owner may go silent before the run reads ``crashed`` and another
    engine may take it over. Every engine sharing a store should use the same lease."""
    heartbeat: float | None = None
    """How often an owner renews its lease; None: :func:`heartbeat_for` the lease."""
    broker: str | None = None
    """``executor="celery"``: the broker URL (``redis://...`` or ``amqp://...``)."""
    queue: str = DEFAULT_QUEUE
    """``executor="celery"``: the queue of jobs that name none."""
    attempt_lease: float = DEFAULT_ATTEMPT_LEASE
    """``executor="celery"``: seconds a worker holds an attempt between heartbeats (it
    renews every third of it); a worker silent that long has lost its job."""
    sweep: float = DEFAULT_SWEEP
    """``executor="celery"``: seconds between the owner's looks for expired leases."""
    queued_timeout: float = DEFAULT_QUEUED_TIMEOUT
    """``executor="celery"``: seconds an attempt may wait in the broker unclaimed."""
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    """``executor="celery"``: the Redis broker's visibility timeout (seconds); no job
    timeout may be longer."""

    pool: Pool = Pool()
    """PostgreSQL: the connection pool's sizes and timeouts."""
    auto_migrate: bool = True
    """Bring an older store's schema up to date when it is first opened (under a lock, so
    engines started together migrate once); off: refuse it and let ``jobweave db upgrade``
    do it."""

    def __post_init__(self) -> None:
        if not self.lease > 0:
            raise DefinitionError(f"must be a positive number of seconds, got {self.lease!r}",
                                  field="lease")
        if self.heartbeat is not None and not 0 < self.heartbeat < self.lease:
            raise DefinitionError(f"must be shorter than the lease ({self.lease:g}s), got "
                                  f"{self.heartbeat!r}", field="heartbeat")

    @property
    def heartbeat_seconds(self) -> float:
        """The heartbeat interval in force (given, or derived from the lease)."""
        return heartbeat_for(self.lease) if self.heartbeat is None else self.heartbeat

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``JOBWEAVE_*`` variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        workers = env.get("JOBWEAVE_WORKERS")
        return cls(
            store=env.get("JOBWEAVE_STORE") or find_store(),
            executor=env.get("JOBWEAVE_EXECUTOR") or DEFAULT_EXECUTOR,
            workers=int(workers) if workers else None,
            durability=env.get("JOBWEAVE_DURABILITY") or DEFAULT_DURABILITY,
            secrets_file=env.get("JOBWEAVE_SECRETS_FILE") or None,
            lease=_seconds(env, "JOBWEAVE_LEASE", DEFAULT_LEASE),
            heartbeat=_seconds(env, "JOBWEAVE_HEARTBEAT", None),
            broker=env.get("JOBWEAVE_BROKER") or None,
            queue=env.get("JOBWEAVE_QUEUE") or DEFAULT_QUEUE,
            attempt_lease=_seconds(env, "JOBWEAVE_ATTEMPT_LEASE", DEFAULT_ATTEMPT_LEASE),
            sweep=_seconds(env, "JOBWEAVE_SWEEP", DEFAULT_SWEEP),
            queued_timeout=_seconds(env, "JOBWEAVE_QUEUED_TIMEOUT", DEFAULT_QUEUED_TIMEOUT),
            visibility_timeout=_seconds(env, "JOBWEAVE_VISIBILITY_TIMEOUT",
                                        DEFAULT_VISIBILITY_TIMEOUT),
            pool=Pool.from_env(env),
            auto_migrate=(env.get("JOBWEAVE_AUTO_MIGRATE") or "1").strip().lower()
            not in ("0", "false", "no", "off"),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


def _seconds(env: Mapping[str, str], name: str, default: F) -> float | F:
    """The positive number of seconds variable ``name`` holds, or ``default`` if unset."""
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be positive, got {text!r}")
    return value


def find_store(start: str | None = None) -> str:
    """The default store, found the way git finds its folder.

    The ``.jobweave/jobweave.db`` of the nearest folder, from ``start`` (the current
    folder by default) upward, that has a ``.jobweave`` folder; else ``.jobweave/jobweave.db``
    in ``start`` itself, created there on the first write. So every command run anywhere
    inside a project sees the same runs.
    """
    here = os.path.abspath(start if start is not None else os.getcwd())
    folder = here
    while True:
        if os.path.isdir(os.path.join(folder, STORE_FOLDER)):
            found = os.path.join(folder, STORE_FOLDER, STORE_FILE)
            return found if folder != here or start is not None else DEFAULT_STORE
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return DEFAULT_STORE if start is None else os.path.join(here, DEFAULT_STORE)


def store_path(url: str) -> str | None:
    """The file of an SQLite store URL (a path or ``sqlite:///path``); None for a server."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    if "://" in url:
        return None
    return url
