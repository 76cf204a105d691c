"""Importable job targets for the tests (module-level, so other processes can load them)."""

from __future__ import annotations

import os
import time
from typing import Any


def noop(i: int = 0) -> int:
    return 1


def add(a: int, b: int) -> int:
    return a + b


def total(parts: list[int]) -> int:
    return sum(parts)


def echo(value: Any = None) -> Any:
    return value


def fail(message: str = "boom") -> None:
    raise ValueError(message)


def nap(seconds: float = 0.05) -> float:
    time.sleep(seconds)
    return seconds


def pid() -> int:
    return os.getpid()
