"""Engine: compile, store, and run definitions; hand back handles and results."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from jobweave.engine.result import RunResult
from jobweave.engine.runtime import Prior, Runtime
from jobweave.errors import DefinitionError
from jobweave.events import Listener
from jobweave.executors import make_executor
from jobweave.plan import Plan, compile_plan, plan_from_definition
from jobweave.settings import EXECUTORS, Settings
from jobweave.store import SqlStore, open_store, owner_id


def new_run_id(now: float | None = None) -> str:
    """A readable, time-sortable run id: ``20261125-162300-3fa9c1``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


class RunHandle:
    """A run executing on a background thread of this process."""

    def __init__(self, run_id: str, stop: threading.Event) -> None:
        self.run_id = run_id
        self._thread = threading.Thread(name=f"jobweave-run-{run_id}", daemon=True)
        self._stop = stop
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

    def cancel(self) -> None:
        """Stop starting jobs and ask running ones to stop; ``wait`` returns soon after."""
        self._stop.set()

    def _start(self, body: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=body, name=self._thread.name, daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()


class Engine:
    """Runs definitions against one store with one set of settings."""

    def __init__(self, settings: Settings | None = None, *, store: SqlStore | None = None) -> None:
        self.settings = settings or Settings()
        if self.settings.executor not in EXECUTORS:
            raise DefinitionError(f"unknown executor {self.settings.executor!r}; "
                                  f"choose one of {', '.join(EXECUTORS)}", field="executor")
        self.store = store or open_store(self.settings.store,
                                         durability=self.settings.durability)

    def plan(self, definition: Any, *, name: str | None = None,
             source: str | None = None) -> Plan:
        """Validate and compile a definition without storing anything."""
        if isinstance(definition, Plan):
            return definition
        return compile_plan(definition, name=name, source=source)

    def create(
        self,
        definition: Any,
        *,
        name: str | None = None,
        source: str | None = None,
        concurrency: int | None = None,
        run_id: str | None = None,
    ) -> tuple[str, Plan]:
        """Validate, compile and store a run (status ``pending``) without starting it."""
        plan = self.plan(definition, name=name, source=source)
        _check_concurrency(concurrency)
        run_id = run_id or new_run_id()
        options = {"executor": self.settings.executor, "workers": self.settings.workers,
                   "concurrency": concurrency}
        self.store.create_run(
            run_id=run_id, name=plan.name, kind=plan.kind, source=plan.source,
            definition=plan.definition, digest=plan.digest, options=options,
            jobs=[(n.index, n.name, n.kind, n.tags) for n in plan.nodes],
        )
        return run_id, plan

    def submit(
        self,
        definition: Any,
        *,
        name: str | None = None,
        source: str | None = None,
        concurrency: int | None = None,
        listeners: Sequence[Listener] = (),
    ) -> RunHandle:
        """Store the run, start it on a background thread, and return its handle."""
        run_id, plan = self.create(definition, name=name, source=source,
                                   concurrency=concurrency)
        return self.start(run_id, plan, concurrency=concurrency, listeners=listeners)

    def run(self, definition: Any, **options: Any) -> RunResult:
        """Submit and wait: return when every job has stopped."""
        handle = self.submit(definition, **options)
        try:
            return handle.wait()
        except KeyboardInterrupt:
            handle.cancel()
            handle.wait()
            raise

    def start(
        self,
        run_id: str,
        plan: Plan | None = None,
        *,
        concurrency: int | None = None,
        listeners: Sequence[Listener] = (),
        prior: dict[int, Prior] | None = None,
    ) -> RunHandle:
        """Claim a stored run and execute it on a background thread."""
        if plan is None:
            plan = self.load_plan(run_id)
        owner = owner_id()
        next_seq = self.store.claim(run_id, owner)
        executor = make_executor(self.settings.executor, self._workers(concurrency))
        limit = concurrency or executor.size
        stop = threading.Event()
        runtime = Runtime(plan, self.store, run_id, executor, concurrency=limit, owner=owner,
                          next_seq=next_seq, stop=stop, listeners=listeners, prior=prior)
        handle = RunHandle(run_id, stop)

        def body() -> None:
            try:
                handle._result = runtime.run()
            except BaseException as exc:  # handed to the waiter, never lost on a thread
                handle._error = exc

        handle._start(body)
        return handle

    def load_plan(self, run_id: str) -> Plan:
        """Rebuild a stored run's plan from its definition (callables by reference)."""
        data = self.store.submitted(run_id)
        return plan_from_definition(data["definition"], data.get("source"))

    def _workers(self, concurrency: int | None) -> int | None:
        workers = self.settings.workers
        if concurrency and self.settings.executor == "threads":
            return max(workers or 0, concurrency)
        return workers


def _check_concurrency(concurrency: int | None) -> None:
    if concurrency is not None and (isinstance(concurrency, bool)
                                    or not isinstance(concurrency, int) or concurrency < 1):
        raise DefinitionError(f"concurrency must be a whole number >= 1, got {concurrency!r}",
                              field="concurrency")
