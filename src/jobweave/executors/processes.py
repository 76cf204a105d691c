"""The process executor: long-lived worker processes for CPU-bound callables.

Each worker has its own pipe and runs one task at a time. One dispatcher thread in the
engine process hands queued tasks to idle workers, reads outcomes, and notices workers
that die. A timeout or cancel kills the worker running the task (and whatever its job
started) and puts a fresh worker in its place, so a stuck job cannot hold a slot.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import weakref
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from jobweave import keeper
from jobweave.executors.base import Deliver, Outcome, Task
from jobweave.executors.proctree import kill_tree
from jobweave.executors.worker import READY, decode_outcome, encode_task, serve

log = logging.getLogger("jobweave.executors.processes")

SHUTDOWN_GRACE = 1.0
"""Seconds idle workers get to exit on their own at shutdown before they are killed."""
START_FAILURES = 3
"""Workers in a row that may die before they are set up until the pool gives up."""
_PRELOAD = ["__main__", "jobweave.executors.worker"]
"""Modules a forkserver imports once, so that each worker starts in milliseconds."""


class _Worker:
    """One worker process and what the engine knows about it."""

    __slots__ = ("abandoned", "alive", "conn", "eof", "process", "ready", "since", "task")

    def __init__(self, process: BaseProcess, conn: Connection, alive: Connection) -> None:
        self.process = process
        self.conn = conn
        """The engine's end of the task pipe."""
        self.alive = alive
        """Held open while the engine lives; the worker exits when it closes."""
        self.task: Task | None = None
        """The task it runs, if any."""
        self.since = 0.0
        """When it was handed ``task``."""
        self.abandoned = False
        """True once it is being killed: its outcome is dropped, no task goes to it."""
        self.eof = False
        """True once its pipe is closed: only its exit is still awaited."""
        self.ready = False
        """True once it said it is set up; a worker that dies before that failed to start."""

    def exited(self) -> bool:
        """True when the process has ended (without reaping it, so any thread may ask)."""
        return bool(multiprocessing.connection.wait([self.process.sentinel], 0))


class ProcessExecutor:
    """A fixed set of worker processes; kills the worker on timeout or cancel.

    Targets travel by reference (or pickled when they have none), parameters and return
    values by pickle. Workers come from a ``forkserver`` (``spawn`` where there is none),
    never from ``fork``: the engine process has threads.
    """

    kills_on_abandon = True
    """Cancel kills running jobs at once instead of waiting for them to notice."""
    isolates_jobs = True
    """A job that ends its process ends only its worker, never the engine."""

    def __init__(self, workers: int | None = None) -> None:
        self.size = workers or os.cpu_count() or 1
        self._mp = _start_context()
        self._lock = threading.Lock()
        self._pending: deque[tuple[Task, bytes]] = deque()
        self._workers: list[_Worker] = []
        self._deliver: Deliver | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._broken: str | None = None
        self._start_failures = 0
        self._wake_r, self._wake_w = -1, -1

    # -- the Executor protocol ----------------------------------------------------------
    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        _live.add(self)
        try:
            for _ in range(self.size):
                self._workers.append(self._spawn())
        except BaseException:
            self.shutdown()
            raise
        self._thread = threading.Thread(target=self._dispatch, name="jobweave-processes",
                                        daemon=True)
        self._thread.start()

    def submit(self, task: Task) -> None:
        payload = encode_task(task)
        if isinstance(payload, str):
            self._fault(task, payload)
            return
        with self._lock:
            broken = self._broken
            if broken is None:
                self._pending.append((task, payload))
        if broken is not None:
            self._fault(task, broken)
            return
        self._wake()

    def abandon(self, task: Task) -> None:
        victim: _Worker | None = None
        found = False
        with self._lock:
            for n, (queued, _) in enumerate(self._pending):
                if _same(queued, task):
                    del self._pending[n]
                    found = True
                    break
            else:
                for w in self._workers:
                    if w.task is not None and _same(w.task, task) and not w.abandoned:
                        w.abandoned = found = True
                        victim = w
                        break
            # Under the lock: the dispatcher closes a worker's handles only after taking
            # it out of the list, and a worker that has exited no longer owns its pid.
            if victim is not None and not victim.exited():
                kill_tree(victim.process.pid or 0)
        if found:
            # On timeout the engine has already moved on and drops this; on cancel it is
            # what lets the run finish now instead of after the cancel grace period.
            now = time.time()
            self._emit(Outcome(task.key, task.attempt, False, None,
                               "interrupted: the job's worker process was stopped",
                               victim.since if victim else now, now, interrupted=True))

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._pending.clear()
        _live.discard(self)
        self._wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        with self._lock:
            workers, self._workers = self._workers, []
        for w in workers:
            # closing both pipes tells an idle worker to exit; a busy one is killed
            w.conn.close()
            w.alive.close()
            if w.task is not None and not w.abandoned and not w.exited():
                kill_tree(w.process.pid or 0)
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for w in workers:
            w.process.join(max(0.0, deadline - time.monotonic()))
            if w.process.exitcode is None:
                # still not reaped, so the pid is still this worker's
                kill_tree(w.process.pid or 0)
                w.process.join(5.0)
            if w.process.exitcode is not None:
                keeper.forget(w.process.pid or 0)
                w.process.close()
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    # -- the dispatcher thread ----------------------------------------------------------
    def _dispatch(self) -> None:
        try:
            while self._dispatch_once():
                pass
        except Exception:
            log.exception("the process executor's dispatcher failed")
            self._break("the process executor's dispatcher failed (see the log)",
                        running=True)

    def _dispatch_once(self) -> bool:
        sends: list[tuple[_Worker, bytes]] = []
        waiting: dict[Any, _Worker] = {}
        with self._lock:
            if self._closed:
                return False
            for w in self._workers:
                if not self._pending:
                    break
                if w.task is None and not w.abandoned and not w.eof:
                    w.task, payload = self._pending.popleft()
                    w.since = time.time()
                    sends.append((w, payload))
            for w in self._workers:
                if not w.eof:
                    waiting[w.conn] = w
                waiting[w.process.sentinel] = w
        for w, payload in sends:
            with contextlib.suppress(OSError):  # a dead worker's exit is noticed below
                w.conn.send_bytes(payload)
        ready = multiprocessing.connection.wait([*waiting, self._wake_r])
        exited: list[_Worker] = []
        for obj in ready:
            if obj == self._wake_r:
                _drain(self._wake_r)
            elif isinstance(obj, Connection):
                self._receive(waiting[obj])
            else:
                exited.append(waiting[obj])
        for w in exited:
            self._replace(w)
        return True

    def _receive(self, w: _Worker) -> None:
        try:
            data = w.conn.recv_bytes()
        except (EOFError, OSError):
            w.eof = True  # the worker is exiting; wait for its sentinel
            return
        if data == READY:
            w.ready = True
            self._start_failures = 0
            return
        with self._lock:
            task, w.task = w.task, None
            drop = w.abandoned
        if task is None or drop:
            return
        self._emit(decode_outcome(data, task))

    def _replace(self, w: _Worker) -> None:
        """Reap a worker that exited, fault its task if it died on its own, start another."""
        w.process.join()
        keeper.forget(w.process.pid or 0)
        code = w.process.exitcode
        with self._lock:
            task = None if w.abandoned else w.task
            closed = self._closed
            if w in self._workers:
                self._workers.remove(w)
        w.conn.close()
        w.alive.close()
        name = w.process.name
        w.process.close()
        if closed:
            return
        if w.abandoned:
            pass  # killed on purpose; the engine has its outcome already
        elif not w.ready:
            self._start_failures += 1
            error = (f"worker process failed to start ({_describe_exit(code)}; its stderr "
                     "says why); a script that uses executor='processes' must start jobweave "
                     "under if __name__ == '__main__':")
            log.info("%s", error)
            if task is not None:
                self._fault(task, error, started=w.since)
            if self._start_failures >= START_FAILURES:
                self._break(f"{self._start_failures} worker processes in a row failed to "
                            f"start; giving up. Last: {error}")
                return
        elif task is not None:
            log.info("worker process %s died (%s) running %s",
                     name, _describe_exit(code), task.context.job)
            self._fault(task, f"worker process died ({_describe_exit(code)})",
                        started=w.since)
        self._respawn()

    def _respawn(self) -> None:
        try:
            fresh = self._spawn()
        except Exception as exc:
            log.exception("cannot start a replacement worker process")
            with self._lock:
                empty = not self._workers
            if empty:
                self._break(f"cannot start a worker process ({type(exc).__name__}: {exc})")
            return
        with self._lock:
            self._workers.append(fresh)

    def _break(self, reason: str, *, running: bool = False) -> None:
        """Fault every waiting task (and running ones if asked) and refuse new ones."""
        with self._lock:
            self._broken = reason
            stranded = [t for t, _ in self._pending]
            self._pending.clear()
            if running:
                stranded += [w.task for w in self._workers
                             if w.task is not None and not w.abandoned]
        for task in stranded:
            self._fault(task, reason)

    # -- helpers ------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        conn, child_conn = self._mp.Pipe(duplex=True)
        alive_r, alive_w = self._mp.Pipe(duplex=False)
        setup = {"path": list(sys.path), "cwd": os.getcwd(), "env": dict(os.environ)}
        process = self._mp.Process(target=serve, args=(child_conn, alive_r, setup),
                                   name="jobweave-worker")
        try:
            process.start()
        finally:
            # the child holds its own copies now; ours would hide its death from us
            child_conn.close()
            alive_r.close()
        # Dies with this process even when its job keeps it from noticing (a long call
        # into C that holds the GIL): the keeper kills its group (it leads one once set up)
        # if it has not exited within a second of our death.
        keeper.watch(process.pid or 0, graceful=True)
        return _Worker(process, conn, alive_w)

    def _emit(self, outcome: Outcome) -> None:
        deliver = self._deliver
        if deliver is not None:
            deliver(outcome)

    def _fault(self, task: Task, error: str, *, started: float | None = None) -> None:
        now = time.time()
        self._emit(Outcome(task.key, task.attempt, False, None, error,
                           now if started is None else started, now))

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe means it is awake already
            os.write(self._wake_w, b"x")


def _start_context() -> ForkServerContext | SpawnContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # Has no effect when the forkserver already runs; the list keeps the default.
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def _same(a: Task, b: Task) -> bool:
    return a is b or (a.key == b.key and a.attempt == b.attempt)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, OSError):
        pass


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"exit code {code}, killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


# Workers are not daemonic (a job may start processes of its own), so the interpreter
# would wait for them at exit; this hook, registered after multiprocessing's own and so
# run before it, stops them first.
_live: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    for executor in list(_live):
        executor.shutdown()
