"""The default executor: a fixed set of worker threads fed by one queue."""

from __future__ import annotations

import threading
from queue import SimpleQueue

from jobweave.executors import capture
from jobweave.executors.base import Deliver, Task, call
from jobweave.settings import DEFAULT_THREADS

EAGER_WORKERS = 4
"""Workers started before ``start`` returns; the others start on a thread of their own."""


class _Slot(threading.local):
    """Per worker thread: a task submitted while this worker delivers its own outcome."""

    open = False
    task: Task | None = None


class ThreadExecutor:
    """Worker threads pulling tasks from a queue: no per-task thread or future.

    A task submitted by a worker while it delivers an outcome (the engine handles the
    outcome on the worker's thread when its loop is idle) stays with that worker: a
    chain of jobs then runs on one thread with no hand-off at all.

    A task abandoned on timeout may keep its thread busy, so a replacement thread is
    started and the pool shrinks back when the stuck one returns.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.size = workers or DEFAULT_THREADS
        self._queue: SimpleQueue[Task | None] = SimpleQueue()
        self._deliver: Deliver | None = None
        self._threads: list[threading.Thread] = []
        self._excess = 0
        self._closed = False
        self._lock = threading.Lock()
        self._captures = False
        self._slot = _Slot()

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        # jobs print from these threads: their output is kept per attempt (until shutdown)
        capture.install()
        self._captures = True
        # A few workers now, the rest from a starter thread: the first jobs need not wait
        # for fifty thread starts, and the queue holds tasks until a worker takes them.
        now = min(self.size, EAGER_WORKERS)
        for _ in range(now):
            self._spawn()
        if self.size > now:
            threading.Thread(target=self._spawn_many, args=(self.size - now,),
                             name="jobweave-starter", daemon=True).start()

    def _spawn_many(self, count: int) -> None:
        for _ in range(count):
            with self._lock:
                if self._closed:
                    return
                self._spawn()

    def _spawn(self) -> None:
        t = threading.Thread(target=self._work, name="jobweave-worker", daemon=True)
        t.start()
        self._threads.append(t)

    def _work(self) -> None:
        get = self._queue.get
        deliver = self._deliver
        assert deliver is not None
        slot = self._slot
        while True:
            task: Task | None = get()
            if task is None:
                return
            while task is not None:
                fn = task.fn
                assert fn is not None
                outcome = call(task, fn)
                slot.open = True
                try:
                    deliver(outcome)
                finally:
                    slot.open = False
                task, slot.task = slot.task, None
                if self._excess and self._retire():
                    if task is not None:
                        self._queue.put(task)
                    return

    def _retire(self) -> bool:
        """Whether this worker leaves to shrink the pool back (after an abandon)."""
        with self._lock:
            if self._excess:
                self._excess -= 1
                return True
        return False

    def submit(self, task: Task) -> None:
        slot = self._slot
        if slot.open and slot.task is None:
            slot.task = task  # the delivering worker runs it next
            return
        self._queue.put(task)

    def abandon(self, task: Task) -> None:
        task.context.request_stop()
        with self._lock:
            self._excess += 1
            if not self._closed:
                self._spawn()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            threads, self._threads = self._threads, []
            captures, self._captures = self._captures, False
        if captures:
            capture.uninstall()
        for _ in threads:
            self._queue.put(None)
