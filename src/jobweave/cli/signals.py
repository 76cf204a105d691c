"""Signals while a command executes a run: SIGINT and SIGTERM cancel it cleanly, and a
second one exits at once."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

from jobweave.cli.app import EXIT_INTERRUPTED, say_error


class Signals:
    """While active, SIGINT and SIGTERM set a flag instead of killing the process.

    The command then cancels its run cleanly. A second signal, when ``force`` is on,
    exits at once: the run is left to show as ``crashed`` and can be resumed.
    """

    def __init__(self, *, force: bool = True) -> None:
        self.count = 0
        self.event = threading.Event()
        self.run_id: str | None = None
        self._force = force
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.event.set()
        if self.count > 1 and self._force:
            which = f"run {self.run_id} " if self.run_id else "the run "
            say_error(f"interrupted again: exiting now; {which}will show as crashed")
            os._exit(EXIT_INTERRUPTED)
