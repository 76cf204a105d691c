"""Importable job targets for the tests (module-level, so other processes can load them),
and definitions made of them that several test folders use."""

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


# -- engine and store suite (tests/engine, tests/store) --------------------------------
# Shared state is keyed by a caller-chosen key (or the run id), so tests never see each
# other's records even when they run in one process.
import threading as _threading  # noqa: E402

_lock = _threading.Lock()
RUNNING: dict[str, int] = {}
"""Jobs of one key running right now."""
MOST: dict[str, int] = {}
"""The most jobs of one key seen running at once."""
STARTS: dict[str, list[float]] = {}
"""time.monotonic() at the start of every call, per key."""
WAITS: dict[str, list[Any]] = {}
"""What context.wait returned, and how long it took, per job name."""


def load_table(table: str) -> str:
    return f"loaded {table}"


def counted(key: str, seconds: float = 0.1) -> int:
    """Count how many calls with this key overlap; sleep while counted."""
    with _lock:
        RUNNING[key] = RUNNING.get(key, 0) + 1
        MOST[key] = max(MOST.get(key, 0), RUNNING[key])
    try:
        time.sleep(seconds)
    finally:
        with _lock:
            RUNNING[key] -= 1
    return 1


def flaky(key: str, fails: int, context: Any) -> int:
    """Fault the first ``fails`` attempts, then return the attempt number."""
    with _lock:
        STARTS.setdefault(key, []).append(time.monotonic())
    if context.attempt <= fails:
        raise RuntimeError(f"attempt {context.attempt} of {key} failed on purpose")
    return int(context.attempt)


def whoami(context: Any) -> dict[str, Any]:
    return {"run_id": context.run_id, "job": context.job, "attempt": context.attempt,
            "token": context.token}


def patient(seconds: float, context: Any) -> bool:
    """Wait on the context; record whether the wait ended early and how long it took."""
    began = time.monotonic()
    stopped = context.wait(seconds)
    with _lock:
        WAITS.setdefault(context.job, []).append((stopped, time.monotonic() - began))
    return bool(stopped)


def hang(seconds: float = 3.0) -> None:
    """Ignore every request to stop: a hung job (bounded so the test process stays tidy)."""
    time.sleep(seconds)


def unserialisable() -> object:
    return object()


def explode_deeply() -> None:
    def inner_helper_frame() -> None:
        raise KeyError("missing-key-42")

    inner_helper_frame()


# -- process executor suite (tests/executors) -------------------------------------------
# These run in worker processes: they report through return values and files, never
# through module state, which each process has its own copy of.
def burn(n: int) -> list[int]:
    """CPU-bound work; returns [sum of squares below n, the pid that did it]."""
    return [sum(i * i for i in range(n)), os.getpid()]


def where(context: Any) -> dict[str, Any]:
    """What the worker's rebuilt context says, and which process ran the job."""
    return {"run_id": context.run_id, "job": context.job, "attempt": context.attempt,
            "tags": list(context.tags), "pid": os.getpid()}


def spin(pid_file: str) -> None:
    """Write this process's pid to ``pid_file``, then never return nor look at a cancel."""
    with open(pid_file + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(pid_file + ".tmp", pid_file)
    while True:
        time.sleep(0.05)


def exit_now(code: int) -> None:
    """End the worker process at once, as a crash in native code would."""
    os._exit(code)


def kill_self() -> None:
    """SIGKILL the worker process, as the kernel's out-of-memory killer would."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def call_sys_exit(code: int) -> None:
    import sys

    sys.exit(code)


def unpicklable() -> Any:
    """A return value that cannot cross a process boundary."""
    return _threading.Lock()


# -- recovery (tests/engine/test_recover.py) --------------------------------------------
CALLS: list[tuple[str, Any]] = []


def recorded(x: int) -> int:
    """Doubles x and records the call, so tests can see what recovery invoked."""
    CALLS.append(("recorded", x))
    return x * 2


def recovering(v: int, context: Any) -> dict[str, Any]:
    """Reports what a job marked execute_when_recovering is told."""
    CALLS.append(("recovering", context.recovered))
    return {"v": v, "recovered": context.recovered, "previous": context.previous_outputs}


# -- schedules (tests/engine/test_schedule.py) -----------------------------------------
ORDER: list[str] = []
GATE: dict[str, bool] = {"open": False}


def step(label: str) -> str:
    """Records the order jobs ran in."""
    ORDER.append(label)
    return label


def gated(label: str) -> str:
    """Fails until GATE is opened."""
    ORDER.append(label)
    if not GATE["open"]:
        raise RuntimeError(f"{label}: gate closed")
    return label


def slow_step(label: str, seconds: float = 0.3) -> str:
    time.sleep(seconds)
    ORDER.append(label)
    return label


# -- outputs travel as JSON (tests/engine/test_outputs.py) -----------------------------
def mixed() -> dict[Any, Any]:
    """An output JSON changes on the way: an int key, tuples, a nested tuple."""
    return {1: "one", "t": (1, 2), "n": {"deep": (3, (4,))}, "s": "x", "f": 0.5}


def describe(one: Any, many: Any, flag: str) -> str:
    """What a job was handed, types included; faults until ``flag`` exists."""
    if not os.path.exists(flag):
        raise RuntimeError(f"{flag} does not exist yet")
    return repr((one, many))


def nested(depth: int) -> Any:
    """A list nested ``depth`` levels deep."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def not_a_number(which: str = "nan") -> dict[str, float]:
    return {"value": float(which)}


def tally(path: str, label: str, seconds: float = 0.0) -> str:
    """Append ``label`` as a line to ``path`` (one line per execution), then sleep."""
    with open(path, "a") as f:
        f.write(label + "\n")
    time.sleep(seconds)
    return label


def lanes(count: int, length: int) -> list[Any]:
    """``count`` lanes of ``length`` chained jobs (``l{lane}-{position}``), lane after lane."""
    import jobweave as jw

    out: list[Any] = []
    for k in range(count):
        prev = None
        for j in range(length):
            prev = jw.job(add, a=k, b=j, after=[prev] if prev else [], name=f"l{k}-{j}")
            out.append(prev)
    return out


def swallow(**params: Any) -> int:
    """Takes any parameters (the encoding tests give it arbitrary ones)."""
    return len(params)
