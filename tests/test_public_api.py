"""The public API is exactly ``jobweave.__all__``, and every name in it reads as jobweave.X."""

from __future__ import annotations

import inspect

import jobweave

# Adding or removing a public name is a decision: change this list in the same commit.
EXPORTED = [
    "At",
    "Batch",
    "ComponentError",
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
    "Graph",
    "Interrupted",
    "Job",
    "JobFailure",
    "JobFinished",
    "JobRecord",
    "JobResult",
    "JobStarted",
    "JobState",
    "JobweaveError",
    "JournalError",
    "JournalMismatch",
    "Missed",
    "NodesFired",
    "Overlap",
    "RecoveryPlan",
    "RunFinished",
    "RunHandle",
    "RunNotFoundError",
    "RunOwnedError",
    "RunRecord",
    "RunResult",
    "RunStarted",
    "RunStateError",
    "RunStatus",
    "Schedule",
    "Settings",
    "StoreError",
    "at",
    "batch",
    "cancel",
    "cron",
    "delete",
    "every",
    "flow",
    "get_run",
    "graph",
    "job",
    "output",
    "pause",
    "prune",
    "recover",
    "recovery_plan",
    "resume",
    "run",
    "runs",
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


def test_importing_jobweave_loads_no_engine_until_a_name_is_used() -> None:
    # `jobweave --version` and `--help` start fast because the package loads lazily
    import subprocess
    import sys

    code = ("import sys, jobweave; heavy = ('sqlalchemy', 'pydantic', 'rich', 'jobweave.engine');"
            "print(sorted(m for m in heavy if m in sys.modules)); jobweave.run;"
            "print('jobweave.engine' in sys.modules, jobweave.run.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["[]", "True jobweave"]


def test_states_are_str_enums_that_compare_as_before() -> None:
    assert jobweave.RunStatus.FAILED == "failed" and f"{jobweave.RunStatus.CRASHED}" == "crashed"
    assert isinstance(jobweave.JobState.COMPLETED, str)
    assert {s.value for s in jobweave.RunStatus} == {
        "pending", "running", "paused", "completed", "failed", "cancelled", "crashed"}
    assert jobweave.JobState("interrupted") is jobweave.JobState.INTERRUPTED
    assert not jobweave.JobState.INTERRUPTED.final
