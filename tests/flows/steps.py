"""Flow steps for the tests: importable, so another process can resume them."""

from __future__ import annotations

import os
import time
from typing import Any

from jobweave import Context


def work(context: Context, seconds: float = 0.15) -> dict[str, Any]:
    """Take a little while and say where it ran."""
    time.sleep(seconds)
    assert context.element is not None
    return {"element": context.element["name"], "current": context.current,
            "first": context.first, "last": context.last, "count": len(context.elements)}


def fail_on(context: Context, bad: str) -> str:
    """Fault for one element."""
    assert context.element is not None
    if context.element["name"] == bad:
        raise RuntimeError(f"refusing {bad}")
    return context.element["name"]


def is_last(context: Context) -> bool:
    return context.current == context.last


def leader_last(element: dict[str, Any]) -> bool:
    return bool(element["context"].get("role") == "leader")


def inventory() -> list[dict[str, Any]]:
    """Elements from outside: a file the test rewrites between runs."""
    path = os.environ["FLOW_INVENTORY"]
    with open(path) as fh:
        return [{"name": line.strip()} for line in fh if line.strip()]


def slow_record(context: Context, path: str) -> str:
    """Append this job's name to a file, slowly (a crash test kills mid-way)."""
    time.sleep(0.05)
    with open(path, "a") as fh:
        fh.write(context.job + "\n")
    return context.job


def _hosts() -> list[str]:
    return [f"h{k:02d}" for k in range(1, 21)]


def upgrade_flow() -> Any:
    """Twenty hosts, serially: the crash test kills it part-way and resumes it."""
    import jobweave as jw

    record = os.environ["FLOW_RECORD"]
    return jw.flow([jw.job(slow_record, name="drain", path=record),
                    jw.job(slow_record, name="upgrade", path=record)],
                   elements=_hosts(), name="rolling-upgrade")


def say(label: str) -> str:
    """Return what it was given (a parameter filled per element)."""
    return label
