"""A run started by this process: its id (``new_run_id``) and the :class:`RunHandle` that
waits for, cancels or pauses it while it executes on a background thread."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from jobweave.engine.result import RunResult

if TYPE_CHECKING:
    from jobweave.engine.runtime import Runtime


def new_run_id(now: float | None = None) -> str:
    """A readable, time-sortable run id: ``20261125-162300-3fa9c1``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


class RunHandle:
    """A run executing on a background thread of this process."""

    def __init__(self, run_id: str, runtime: Runtime) -> None:
        self.run_id = run_id
        self._thread = threading.Thread(name=f"jobweave-run-{run_id}", daemon=True)
        self._runtime = runtime
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    def wait(self, timeout: float | None = None) -> RunResult:
        """Block until every job has stopped; return the result.

        Raises :class:`TimeoutError` if ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            # short joins keep the caller responsive to Ctrl-C
            left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"run {self.run_id} still running after {timeout}s")
            self._thread.join(left)
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def finish(self) -> RunResult:
        """Wait for the run; on Ctrl-C cancel it cleanly, wait for that, and re-raise."""
        try:
            return self.wait()
        except KeyboardInterrupt:
            self.cancel()
            self.wait()
            raise

    def cancel(self, by: str | None = None) -> None:
        """Stop starting jobs and ask running ones to stop; ``wait`` returns soon after.
        ``by`` (who asked) is journaled with the request."""
        self._runtime.cancel(by)

    def pause(self, by: str | None = None, *, hand_off: bool = False) -> None:
        """Start no new jobs; ``wait`` returns a ``paused`` result once running ones end.
        ``by`` (who asked) is journaled with the request; ``hand_off``: see
        :meth:`~jobweave.engine.control.RunControl.pause`."""
        self._runtime.pause(by, hand_off=hand_off)

    def _start(self, body: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=body, name=self._thread.name, daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        """What stopped the run, once it stopped on an error (``RunOwnedError``: another
        process took it over)."""
        return None if self._thread.is_alive() else self._error
