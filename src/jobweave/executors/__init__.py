"""Where job code runs. Executors only execute: they never touch the store."""

from jobweave.executors.base import Executor, Outcome, Task, make_executor

__all__ = ["Executor", "Outcome", "Task", "make_executor"]
