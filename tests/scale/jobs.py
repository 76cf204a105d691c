"""Jobs and definitions of the several-engines tests: each execution leaves a line."""

from __future__ import annotations

import os
import time

import jobweave as jw


def mark(log: str, seconds: float, context: jw.Context) -> str:
    """Append ``RUN JOB ATTEMPT PID`` to ``log`` (a side effect a double execution shows),
    then take ``seconds``."""
    line = f"{context.run_id} {context.job} {context.attempt} {os.getpid()}\n"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write of a short line: appends never interleave
    finally:
        os.close(fd)
    time.sleep(seconds)
    return context.job


def marks(log: str, *, jobs: int, seconds: float, name: str = "marks",
          concurrency: int = 4) -> jw.Batch:
    """``jobs`` independent marking jobs, ``concurrency`` at a time."""
    return jw.batch([jw.job(mark, log=log, seconds=seconds, name=f"j{i:04d}")
                     for i in range(jobs)], name=name, concurrency=concurrency)


def chain(log: str, *, jobs: int, seconds: float) -> jw.Schedule:
    """``jobs`` marking jobs one after the other."""
    return jw.schedule([[jw.job(mark, log=log, seconds=seconds, name=f"s{i:03d}")]
                        for i in range(jobs)], name="chain")
