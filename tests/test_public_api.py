"""The public API is exactly ``jobweave.__all__``, and every name in it reads as jobweave.X."""

from __future__ import annotations

import inspect

import jobweave

# Adding or removing a public name is a decision: change this list in the same commit.
EXPORTED = [
    "At",
    "Batch",
    "Context",
    "Cron",
    "CycleError",
    "Decision",
    "DefinitionChanged",
    "DefinitionError",
    "Engine",
    "Every",
    "ExpressionError",
    "Flow",
    "FlowMode",
    "Interrupted",
    "Job",
    "JobFailure",
    "JobFinished",
    "JobResult",
    "JobStarted",
    "JobState",
    "JobweaveError",
    "JournalError",
    "JournalMismatch",
    "Missed",
    "Overlap",
    "RecoveryPlan",
    "RunFinished",
    "RunHandle",
    "RunNotFoundError",
    "RunOwnedError",
    "RunResult",
    "RunStarted",
    "RunStateError",
    "Schedule",
    "Settings",
    "StoreError",
    "at",
    "batch",
    "cancel",
    "cron",
    "every",
    "flow",
    "job",
    "output",
    "pause",
    "recover",
    "recovery_plan",
    "resume",
    "run",
    "schedule",
    "shell",
    "sleep",
    "submit",
]


def test_the_exported_names_are_pinned() -> None:
    assert sorted(jobweave.__all__) == EXPORTED
    assert len(set(jobweave.__all__)) == len(jobweave.__all__)


def test_every_exported_name_exists() -> None:
    for name in jobweave.__all__:
        assert hasattr(jobweave, name), name


def test_classes_and_functions_read_as_jobweave_members() -> None:
    checked = 0
    for name in jobweave.__all__:
        obj = getattr(jobweave, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "jobweave", f"{name} reports {obj.__module__}"
            checked += 1
    assert checked == len(jobweave.__all__)  # today every public name is one or the other


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from jobweave import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == EXPORTED


def test_errors_hang_from_one_root() -> None:
    for name in jobweave.__all__:
        obj = getattr(jobweave, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            if obj is jobweave.Interrupted:
                # a cancel must get through a job's ``except Exception``
                assert not issubclass(obj, Exception)
            else:
                assert issubclass(obj, jobweave.JobweaveError), name


def test_the_version_is_a_string() -> None:
    assert isinstance(jobweave.__version__, str) and jobweave.__version__.count(".") == 2
