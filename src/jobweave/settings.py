"""Settings: where runs are stored and how jobs execute. Env vars are read only here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from jobweave.errors import StoreError

STORE_FOLDER = ".jobweave"
"""The folder that holds a project's default store, as ``.git`` holds a repository."""
STORE_FILE = "jobweave.db"
DEFAULT_STORE = f"{STORE_FOLDER}/{STORE_FILE}"
"""The embedded default store, relative to the current directory (see :func:`find_store`)."""
DEFAULT_EXECUTOR = "threads"
DEFAULT_THREADS = 16
"""Worker threads of the default executor; a run's concurrency can raise it."""
DEFAULT_DURABILITY = "normal"
EXECUTORS = ("threads", "processes")
DURABILITIES = ("normal", "full")
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
    pool: Pool = Pool()
    """PostgreSQL: the connection pool's sizes and timeouts."""
    auto_migrate: bool = True
    """Bring an older store's schema up to date when it is first opened (under a lock, so
    engines started together migrate once); off: refuse it and let ``jobweave db upgrade``
    do it."""

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
            pool=Pool.from_env(env),
            auto_migrate=(env.get("JOBWEAVE_AUTO_MIGRATE") or "1").strip().lower()
            not in ("0", "false", "no", "off"),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]


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
