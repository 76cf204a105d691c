"""jobweave: durable job flows — batches, schedules, journals and recovery.

Everything public is exported here; the rest of the package is internal.
"""

from contextlib import suppress as _suppress

from jobweave.api import (
    Schedule,
    cancel,
    pause,
    recover,
    recovery_plan,
    resume,
    run,
    schedule,
    submit,
)
from jobweave.context import Context
from jobweave.engine import Engine, JobResult, RunHandle, RunResult
from jobweave.engine.replay import Decision, RecoveryPlan
from jobweave.errors import (
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
from jobweave.events import JobFinished, JobStarted, RunFinished, RunStarted
from jobweave.model import (
    Batch,
    Flow,
    FlowMode,
    Job,
    JobState,
    batch,
    flow,
    job,
    output,
    shell,
    sleep,
)
from jobweave.settings import Settings
from jobweave.triggers import At, Cron, Every, Missed, Overlap, at, cron, every

__version__ = "0.1.0"

__all__ = [
    # defining work
    "Batch",
    "Flow",
    "FlowMode",
    "Job",
    "JobState",
    "batch",
    "flow",
    "job",
    "output",
    "schedule",
    "Schedule",
    "shell",
    "sleep",
    # triggers
    "At",
    "Cron",
    "Every",
    "Missed",
    "Overlap",
    "at",
    "cron",
    "every",
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
    # events
    "JobFinished",
    "JobStarted",
    "RunFinished",
    "RunStarted",
    # errors
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

# Show public names as jobweave.X (in reprs, docs and tracebacks), not their private homes.
for _name in __all__:
    with _suppress(AttributeError, TypeError):
        globals()[_name].__module__ = "jobweave"
del _name
