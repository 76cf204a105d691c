"""Settings: where runs are stored and how jobs execute. Env vars are read only here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

DEFAULT_STORE = ".jobweave/jobweave.db"
"""The embedded default store, relative to the current directory."""
DEFAULT_EXECUTOR = "threads"
DEFAULT_THREADS = 16
"""Worker threads of the default executor; a run's concurrency can raise it."""
DEFAULT_DURABILITY = "normal"
EXECUTORS = ("threads", "processes")
DURABILITIES = ("normal", "full")


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``JOBWEAVE_*`` variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        workers = env.get("JOBWEAVE_WORKERS")
        return cls(
            store=env.get("JOBWEAVE_STORE") or DEFAULT_STORE,
            executor=env.get("JOBWEAVE_EXECUTOR") or DEFAULT_EXECUTOR,
            workers=int(workers) if workers else None,
            durability=env.get("JOBWEAVE_DURABILITY") or DEFAULT_DURABILITY,
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with the given fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
