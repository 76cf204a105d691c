"""The callables that jobs and graph nodes of the fixed kinds run: ``shell`` and ``sleep``.

One table for both (a ``jw.shell`` job and a graph's ``shell`` node run the same code),
importable without the graph components' templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobweave.components import shell as shell_job
from jobweave.components import sleep as sleep_job

SHELL_REF = "jobweave.components.shell:run"
SLEEP_REF = "jobweave.components.sleep:run"

RUNNERS: dict[str, tuple[Callable[..., Any], str]] = {
    "shell": (shell_job.run, SHELL_REF),
    "sleep": (sleep_job.run, SLEEP_REF),
}


def runner(kind: str) -> tuple[Callable[..., Any], str] | None:
    """The callable (and its reference) that jobs of ``kind`` run, for kinds whose jobs
    run a fixed callable; ``None`` for ``python`` (each job's own)."""
    return RUNNERS.get(kind)
