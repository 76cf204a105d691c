"""jobweave: durable job flows — batches, schedules, journals and recovery.

Everything public is exported here; the rest of the package is internal.

The names are loaded on first use (PEP 562), so that ``import jobweave`` — and the
``jobweave`` command, whose modules live in this package — starts without importing
the engine, SQLAlchemy or pydantic until something needs them.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobweave.api import (
        Schedule,
        cancel,
        delete,
        get_run,
        pause,
        prune,
        recover,
        recovery_plan,
        resume,
        run,
        runs,
        schedule,
        submit,
    )
    from jobweave.context import Context
    from jobweave.engine import Engine, JobResult, RunHandle, RunResult
    from jobweave.engine.replay import Decision, RecoveryPlan
    from jobweave.errors import (
        ComponentError,
        CycleError,
        DefinitionChanged,
        DefinitionError,
        ExpressionError,
        Interrupted,
        JobFailure,
        JobweaveError,
        JournalError,
        JournalMismatch,
        RunNotFoundError,
        RunOwnedError,
        RunStateError,
        StoreError,
    )
    from jobweave.events import JobFinished, JobStarted, NodesFired, RunFinished, RunStarted
    from jobweave.model import (
        Batch,
        Flow,
        FlowMode,
        Graph,
        Job,
        JobState,
        batch,
        flow,
        graph,
        job,
        output,
        shell,
        sleep,
    )
    from jobweave.settings import Settings
    from jobweave.store.base import JobRecord, RunRecord, RunStatus
    from jobweave.triggers import At, Cron, Every, Missed, Overlap, at, cron, every

__version__ = "0.1.0"

_HOMES: dict[str, tuple[str, ...]] = {
    "jobweave.api": ("Schedule", "cancel", "delete", "get_run", "pause", "prune", "recover",
                     "recovery_plan", "resume", "run", "runs", "schedule", "submit"),
    "jobweave.context": ("Context",),
    "jobweave.engine": ("Engine", "JobResult", "RunHandle", "RunResult"),
    "jobweave.engine.replay": ("Decision", "RecoveryPlan"),
    "jobweave.errors": ("ComponentError", "CycleError", "DefinitionChanged", "DefinitionError",
                        "ExpressionError", "Interrupted",
                        "JobFailure", "JobweaveError", "JournalError", "JournalMismatch",
                        "RunNotFoundError", "RunOwnedError", "RunStateError", "StoreError"),
    "jobweave.events": ("JobFinished", "JobStarted", "NodesFired", "RunFinished",
                        "RunStarted"),
    "jobweave.model": ("Batch", "Flow", "FlowMode", "Graph", "Job", "JobState", "batch",
                       "flow", "graph", "job", "output", "shell", "sleep"),
    "jobweave.triggers": ("At", "Cron", "Every", "Missed", "Overlap", "at", "cron", "every"),
    "jobweave.settings": ("Settings",),
    "jobweave.store.base": ("JobRecord", "RunRecord", "RunStatus"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    # defining work
    "Batch",
    "Flow",
    "FlowMode",
    "Graph",
    "Job",
    "JobState",
    "batch",
    "flow",
    "graph",
    "job",
    "output",
    "schedule",
    "Schedule",
    "shell",
    "sleep",
    # running it
    "Context",
    "Decision",
    "Engine",
    "JobResult",
    "RecoveryPlan",
    "RunHandle",
    "RunResult",
    "Settings",
    "cancel",
    "pause",
    "recover",
    "recovery_plan",
    "resume",
    "run",
    "submit",
    # triggers
    "At",
    "Cron",
    "Every",
    "Missed",
    "Overlap",
    "at",
    "cron",
    "every",
    # finding and removing runs
    "JobRecord",
    "RunRecord",
    "RunStatus",
    "delete",
    "get_run",
    "prune",
    "runs",
    # events
    "JobFinished",
    "JobStarted",
    "NodesFired",
    "RunFinished",
    "RunStarted",
    # errors
    "ComponentError",
    "CycleError",
    "DefinitionChanged",
    "DefinitionError",
    "ExpressionError",
    "Interrupted",
    "JobFailure",
    "JobweaveError",
    "JournalError",
    "JournalMismatch",
    "RunNotFoundError",
    "RunOwnedError",
    "RunStateError",
    "StoreError",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'jobweave' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    # Show public names as jobweave.X (in reprs, docs and tracebacks), not their homes.
    if isinstance(value, type) or callable(value):
        with contextlib.suppress(AttributeError, TypeError):
            value.__module__ = "jobweave"
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
