"""The default executor: a fixed set of worker threads fed by one queue."""

from __future__ import annotations

import threading
from queue import SimpleQueue

from jobweave.executors.base import Deliver, Task, call
from jobweave.settings import DEFAULT_THREADS


class ThreadExecutor:
    """Worker threads pulling tasks from a queue: no per-task thread or future.

    A task abandoned on timeout may keep its thread busy, so a replacement thread is
    started and the pool shrinks back when the stuck one returns.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.size = workers or DEFAULT_THREADS
        self._queue: SimpleQueue[Task | None] = SimpleQueue()
        self._deliver: Deliver | None = None
        self._threads: list[threading.Thread] = []
        self._excess = 0
        self._lock = threading.Lock()

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> None:
        t = threading.Thread(target=self._work, name="jobweave-worker", daemon=True)
        t.start()
        self._threads.append(t)

    def _work(self) -> None:
        get = self._queue.get
        deliver = self._deliver
        assert deliver is not None
        while True:
            task = get()
            if task is None:
                return
            fn = task.fn
            assert fn is not None
            deliver(call(task, fn))
            if self._excess:
                with self._lock:
                    if self._excess:
                        self._excess -= 1
                        return

    def submit(self, task: Task) -> None:
        self._queue.put(task)

    def abandon(self, task: Task) -> None:
        task.context.request_stop()
        with self._lock:
            self._excess += 1
        self._spawn()

    def shutdown(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        self._threads.clear()
