"""Job targets of the workloads: module-level, so runs store them by reference."""

from __future__ import annotations

import os
import time

SLEEP_SECONDS = 0.05
"""How long each W4 job sleeps."""


def noop(i: int) -> int:
    """A job that does nothing but return a small int derived from its parameter."""
    return i % 7


def total(parts: list[int]) -> int:
    """Sum the outputs of the fan-out jobs (W1+sum)."""
    return sum(parts)


def step(prev: int | None = None) -> int:
    """One link of the chain (W2): the previous link's output plus one."""
    return (prev or 0) + 1


def gather(i: int = 0, parts: list[int] | None = None) -> int:
    """A job of the workflow shapes (W8, W9): its number plus its inputs, kept small."""
    return (i + sum(parts or ())) % 1000


def layer_job(layer: int, i: int) -> int:
    """A job of the layered graph (W3); its dependencies are ordering only."""
    return layer


def nap(seconds: float = SLEEP_SECONDS) -> None:
    """Sleep in Python (W4): time spent waiting, not computing."""
    time.sleep(seconds)


INVOKED: list[int] = []
"""Parameters of every ``counted`` call in this process (list.append is thread-safe)."""
FINISHED_LOG: list[int] = []
"""A file descriptor (when set) where ``counted`` notes each call as it returns: W5's
victim keeps one, so the jobs it finished are known after its SIGKILL."""


def counted(i: int) -> int:
    """``noop`` that also records its call, so W5 and W6 can count what really ran."""
    INVOKED.append(i)
    if FINISHED_LOG:
        os.write(FINISHED_LOG[0], b"%d\n" % i)
    return i % 7
