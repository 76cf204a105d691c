"""Runs a plan: ready set, dispatch, completion, journaling."""

from jobweave.engine.engine import Engine
from jobweave.engine.handle import RunHandle, new_run_id
from jobweave.engine.result import JobResult, RunResult

__all__ = ["Engine", "JobResult", "RunHandle", "RunResult", "new_run_id"]
