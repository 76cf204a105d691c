"""The worker-process side of the process executor, and what crosses the boundary.

A task travels as ``(key, attempt, body)`` where ``body`` is itself pickled: the header
always loads, so a body that cannot be loaded in the worker still faults the right
attempt. The target travels by reference (``"module:function"`` or ``"file.py:function"``)
and is loaded in the worker with :mod:`jobweave.refs`; only a target without a
reference is pickled. An outcome travels back as a plain tuple.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from jobweave import refs
from jobweave.context import Context
from jobweave.executors import capture
from jobweave.executors.base import TRACEBACK_LIMIT, Outcome, Task, call
from jobweave.executors.proctree import kill_descendants

PROTOCOL = pickle.HIGHEST_PROTOCOL
READY = b""
"""What a worker sends once it is set up; every outcome is longer."""


# -- the engine side: encode tasks, decode outcomes -----------------------------------
def encode_task(task: Task) -> bytes | str:
    """The bytes that carry ``task`` to a worker, or a message saying why it cannot go."""
    blob: bytes | None = None
    if task.ref is None:
        try:
            blob = pickle.dumps(task.fn, PROTOCOL)
        except Exception as exc:
            return ("the job's callable cannot be sent to a worker process: it has no "
                    "importable reference (a lambda or a nested function?) and pickling it "
                    f"failed ({type(exc).__name__}: {exc}); define it at module level or "
                    "use the threads executor")
    ctx = task.context
    fields = {"run_id": ctx.run_id, "job": ctx.job, "tags": tuple(ctx.tags),
              "execution": ctx.execution,
              "recovered": ctx.recovered, "previous_outputs": ctx.previous_outputs}
    if ctx.element is not None:  # a flow's job: the element it runs for, and its siblings
        fields["elements"], fields["current"] = ctx.elements, ctx.current
    try:
        body = pickle.dumps((task.ref, blob, task.kwargs, fields, task.wants_context),
                            PROTOCOL)
    except Exception as exc:
        return (f"the job's parameters cannot be sent to a worker process "
                f"({type(exc).__name__}: {exc})")
    return pickle.dumps((task.key, task.attempt, body), PROTOCOL)


def decode_outcome(data: bytes, task: Task) -> Outcome:
    """The Outcome a worker sent back for ``task``."""
    try:
        (key, attempt, ok, value, error, started, finished, interrupted,
         captured) = pickle.loads(data)
    except Exception as exc:
        now = time.time()
        return Outcome(task.key, task.attempt, False, None,
                       f"the job's return value cannot be loaded in the engine process "
                       f"({type(exc).__name__}: {exc})", now, now)
    return Outcome(key, attempt, ok, value, error, started, finished, interrupted, captured)


# -- the worker side ------------------------------------------------------------------
def serve(conn: Connection, alive: Connection, setup: dict[str, Any]) -> None:
    """Entry point of a worker process: run tasks from ``conn`` until it closes.

    ``alive`` reaches end-of-file when the engine process is gone, even while a job
    runs; the worker then kills what its job started and exits.
    """
    _prepare(setup)
    threading.Thread(target=_watch, args=(alive,), name="jobweave-watchdog",
                     daemon=True).start()
    try:
        conn.send_bytes(READY)
    except OSError:
        return
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply = run_encoded(data)
        try:
            conn.send_bytes(reply)
        except OSError:
            return


def _prepare(setup: dict[str, Any]) -> None:
    """Make this process look like the engine's: path, directory, environment, group."""
    # Own process group: a terminal's Ctrl-C goes to the engine, which cancels, and
    # the engine can kill this worker with everything its job left in the group.
    with contextlib.suppress(OSError):
        os.setpgrp()
    # A forkserver's children inherit the server's state, which may be older than the
    # engine's; bring over what a job can observe.
    sys.path[:] = setup["path"]
    os.environ.clear()
    os.environ.update(setup["env"])
    with contextlib.suppress(OSError):
        os.chdir(setup["cwd"])
    # what a job prints or logs goes back with its outcome, not to the engine's console
    capture.install()


def _watch(alive: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        alive.recv_bytes()
    kill_descendants(os.getpid())
    os._exit(1)


def run_encoded(data: bytes) -> bytes:
    """Run one encoded task here and return its encoded outcome."""
    task = load_task(data)
    if isinstance(task, Outcome):
        return encode_outcome(task)
    return encode_outcome(run_loaded(task))


def load_task(data: bytes) -> Task | Outcome:
    """The task ``data`` carries, or the faulted Outcome that says why it cannot load."""
    key, attempt, body = pickle.loads(data)
    started = time.time()
    try:
        ref, blob, kwargs, fields, wants = pickle.loads(body)
    except Exception as exc:
        return Outcome(key, attempt, False, None, "the job's parameters cannot be loaded in "
                       f"the worker process ({type(exc).__name__}: {exc})", started,
                       time.time())
    fn = _load(ref, blob)
    if isinstance(fn, str):
        return Outcome(key, attempt, False, None, fn, started, time.time())
    context = Context(fields["run_id"], fields["job"], attempt, tags=fields["tags"],
                      recovered=fields["recovered"],
                      previous_outputs=fields["previous_outputs"],
                      execution=fields["execution"])
    if "elements" in fields:
        context.in_flow(fields["elements"], fields["current"])
    return Task(key, attempt, fn, ref, kwargs, context, wants)


def run_loaded(task: Task) -> Outcome:
    """Run a loaded task; SystemExit or KeyboardInterrupt from the job faults it only."""
    assert task.fn is not None
    started = time.time()
    try:
        return call(task, task.fn)
    except BaseException as exc:
        return Outcome(task.key, task.attempt, False, None, _format(exc), started,
                       time.time())


def _load(ref: str | None, blob: bytes | None) -> Callable[..., Any] | str:
    """The task's callable, or a message saying why it cannot be loaded."""
    if ref is not None:
        try:
            return refs.resolve_callable(ref)
        except Exception as exc:
            return f"cannot load {ref!r} in the worker process: {exc}"
    try:
        fn = pickle.loads(blob) if blob is not None else None
    except Exception as exc:
        return f"cannot load the job's callable in the worker process: {exc}"
    if not callable(fn):
        return "the job has no callable to run"
    return fn  # type: ignore[no-any-return]


def encode_outcome(o: Outcome) -> bytes:
    """The bytes that carry an Outcome back to the engine."""
    try:
        return pickle.dumps((o.key, o.attempt, o.ok, o.value, o.error, o.started, o.finished,
                             o.interrupted, o.captured), PROTOCOL)
    except Exception as exc:
        return _fault(o.key, o.attempt, o.started,
                      "the job's return value cannot be sent back from the worker process "
                      f"({type(exc).__name__}: {exc})", o.captured)


def _fault(key: int, attempt: int, started: float, error: str,
           captured: dict[str, str] | None = None) -> bytes:
    return pickle.dumps((key, attempt, False, None, error, started, time.time(), False,
                         captured), PROTOCOL)


def _format(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return ("…" + text[-TRACEBACK_LIMIT:]) if len(text) > TRACEBACK_LIMIT else text
