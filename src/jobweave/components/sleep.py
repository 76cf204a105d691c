"""The sleep job: wait a number of seconds, ending early on cancel."""

from __future__ import annotations

from jobweave.context import Context
from jobweave.errors import Interrupted


def run(seconds: float, context: Context) -> None:
    """Wait ``seconds``; raise Interrupted if the job is asked to stop first."""
    if context.wait(seconds):
        raise Interrupted(f"{context.job}: stopped during sleep")
