"""Jobs the Celery tests run on real workers: each notes its executions in a file."""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def note(mark: str, what: str) -> None:
    with open(mark, "a") as f:
        f.write(f"{what} {os.getpid()} {time.time()}\n")


def double(n: int, mark: str) -> int:
    note(mark, f"double{n}")
    return n * 2


def total(values: list[int]) -> int:
    return sum(values)


def fail_once(mark: str) -> str:
    note(mark, "fail_once")
    with open(mark) as f:
        if sum(1 for line in f if line.startswith("fail_once")) == 1:
            raise RuntimeError("first attempt fails")
    return "second time lucky"


def slow(seconds: float, mark: str, context: Any) -> str:
    """Sleeps, stopping early when asked (a lost lease asks)."""
    note(mark, "start")
    if context.wait(seconds):
        note(mark, "stopped")
        return "stopped"
    note(mark, "end")
    return "slept"


def poison(mark: str) -> None:
    note(mark, "poison")
    os.kill(os.getpid(), signal.SIGKILL)
