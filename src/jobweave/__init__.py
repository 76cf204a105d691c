"""jobweave: durable job flows — batches, schedules, journals and recovery.

Everything public is exported here; the rest of the package is internal.
"""

from jobweave.api import run, submit
from jobweave.context import Context
from jobweave.engine import Engine, JobResult, RunHandle, RunResult
from jobweave.errors import (
    CycleError,
    DefinitionError,
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
from jobweave.model import Batch, Job, JobState, batch, job, output, shell, sleep
from jobweave.settings import Settings

__version__ = "0.1.0"

__all__ = [
    # defining work
    "Batch",
    "Job",
    "JobState",
    "batch",
    "job",
    "output",
    "shell",
    "sleep",
    # running it
    "Context",
    "Engine",
    "JobResult",
    "RunHandle",
    "RunResult",
    "Settings",
    "run",
    "submit",
    # events
    "JobFinished",
    "JobStarted",
    "RunFinished",
    "RunStarted",
    # errors
    "CycleError",
    "DefinitionError",
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

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, type(__import__("sys"))):
        try:
            _obj.__module__ = "jobweave"
        except (AttributeError, TypeError):
            pass
del _name, _obj
