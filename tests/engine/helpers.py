"""Small helpers for engine tests: polling without fixed sleeps, process liveness."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "it") -> None:
    """Poll until ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def read_pid(path: Path, timeout: float = 10.0) -> int:
    """The pid a shell command wrote to ``path`` (``echo $$ > path``)."""
    wait_for(lambda: path.exists() and path.read_text().strip().isdigit(), timeout,
             f"a pid in {path}")
    return int(path.read_text().strip())


def alive(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # it exited between the two looks
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
