"""The one exception hierarchy of jobweave.

A job failing is a *state* (``faulted``), never an exception that escapes the engine.
jobweave itself failing, or being given something it cannot use, raises one of these::

    JobweaveError                 root of everything jobweave raises on purpose
    ├── DefinitionError           a bad definition: file, line and field when known
    │   ├── ReferenceError_       a "module:function" reference that does not resolve
    │   ├── CycleError            jobs that wait for each other in a circle
    │   ├── ExpressionError       an expression or template that cannot compile or evaluate
    │   └── ConfigError           settings that cannot work together (executor, store, broker)
    ├── StoreError                the store cannot be opened, is foreign, or is too new
    │   └── StoreUnavailable      the store failed while a run was using it
    ├── RunNotFoundError          no run with that id in the store
    ├── JobNotFoundError          no job of that name in the run
    ├── RunStateError             the run is not in a state that allows the request
    │   ├── RunOwnedError         another live process owns the run
    │   └── DefinitionChanged     resume found a different definition than the run's
    ├── JournalError              a journal that cannot be read back
    │   └── JournalMismatch       the journal belongs to a different definition
    ├── ComponentError            a graph component could not handle a message
    ├── AccessDenied              the dashboard or REST API refused a caller (no valid
    │                             token or session, a role too low, a missing CSRF token)
    └── JobFailure                raised inside a job to fault it with a clean message

    Interrupted (BaseException)   a cancel delivered into user code; ``except Exception``
                                  in a job cannot swallow it
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def one_line(message: str) -> str:
    """A message as the one line the CLI prints and the REST API answers: a multi-line
    message (e.g. a validation report) is joined with `` | ``, not cut."""
    first, *rest = (message.strip() or "unknown error").splitlines()
    return first if not rest else first + " | " + " | ".join(r.strip() for r in rest)


class JobweaveError(Exception):
    """Root of every error jobweave raises on purpose."""


class DefinitionError(JobweaveError):
    """A definition that cannot be run: the store is left unchanged.

    ``path``, ``line`` and ``field`` say where, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path:
            where = self.path + (f":{self.line}" if self.line else "") + ": "
        elif self.line:
            where = f"line {self.line}: "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ConfigError(DefinitionError):
    """Settings that cannot work together, refused before a run starts (e.g. the Celery
    executor with a SQLite store, or a broker that would redeliver a running job)."""


class ReferenceError_(DefinitionError):  # trailing _: the builtin ReferenceError exists
    """A ``"package.module:function"`` or ``"file.py:name"`` reference that does not resolve."""


class CycleError(DefinitionError):
    """Jobs that depend on each other in a circle; ``cycle`` names them in order."""

    def __init__(self, cycle: list[str], *, path: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join([*cycle, cycle[0]]), path=path,
                         line=line, field=field)


class ExpressionError(DefinitionError):
    """An expression or template that does not compile, escapes the sandbox, breaks a
    bound (time, size) or fails while evaluated; ``expression`` is its text."""

    def __init__(self, message: str, *, expression: str | None = None,
                 path: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.expression = expression
        if expression is not None:
            shown = " ".join(expression.split())
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            message = f"{message} (in {shown!r})"
        super().__init__(message, path=path, line=line, field=field)


class StoreError(JobweaveError):
    """The store cannot be opened or used: wrong URL, foreign file, newer schema."""


class StoreUnavailable(StoreError):
    """The store failed while a run was using it: unreachable for longer than jobweave
    retries, its file deleted or replaced, or a commit it refused.

    The message says what became of the run (left resumable, or recorded failed).
    """

    def __init__(self, message: str, *, resumable: bool = True) -> None:
        self.resumable = resumable
        """Whether the run can be resumed once the store is back (not: its file is gone)."""
        super().__init__(message)


class RunNotFoundError(JobweaveError):
    """No run with the given id exists in the store."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id!r} in this store")


class JobNotFoundError(JobweaveError):
    """The run has no job (or graph node) of the given name."""

    def __init__(self, run_id: str, job: str) -> None:
        self.run_id, self.job = run_id, job
        super().__init__(f"run {run_id} has no job {job!r}")


class RunStateError(JobweaveError):
    """The run's state does not allow what was asked (e.g. resuming a completed run)."""

    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(message)


class RunOwnedError(RunStateError):
    """Another live process owns the run; ``owner`` names it.

    Also raised by a run's own execution when another process took the run over (this
    process had stopped renewing its lease for longer than the lease lasts).
    """

    def __init__(self, run_id: str, owner: str, message: str | None = None) -> None:
        self.owner = owner
        super().__init__(message or f"run {run_id} is owned by {owner}, which is still alive",
                         run_id=run_id)


class DefinitionChanged(RunStateError):
    """The definition given to resume differs from the one the run is pinned to.

    ``added``, ``removed`` and ``changed`` name the jobs.
    """

    def __init__(self, run_id: str, added: list[str], removed: list[str],
                 changed: list[str]) -> None:
        self.added, self.removed, self.changed = added, removed, changed
        parts = [f"{len(v)} {k} ({_names(v)})" for k, v in
                 (("added", added), ("removed", removed), ("changed", changed)) if v]
        super().__init__(f"run {run_id} was defined differently: {'; '.join(parts) or 'options'}"
                         "; resume with --accept-changes to run the new definition",
                         run_id=run_id)


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … {len(names) - limit} more" if len(names) > limit else "")


class JournalError(JobweaveError):
    """A journal that cannot be read back (damaged in the middle, wrong format)."""


class JournalMismatch(JournalError):
    """The journal was written by a different definition than the one given."""


class ComponentError(JobweaveError):
    """A graph component could not handle a message (an iterator given no list, a router
    comparing a number with text). The runtime sends it to the node's ``error`` port, or
    faults the node when that port is not connected."""


class AccessDenied(JobweaveError):
    """A caller of the dashboard or REST API was refused: ``status`` 401 (who are you?) or
    403 (not allowed)."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        self.status = status
        super().__init__(message)


class JobFailure(JobweaveError):
    """Raise inside a job to fault it with just this message (no traceback is kept)."""


class Interrupted(BaseException):
    """Delivered into user code when its run is cancelled or its attempt timed out.

    It derives from ``BaseException`` so that a job's ``except Exception`` cannot
    swallow a cancel.
    """


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article: ``a cron``, ``an every``."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``; did you mean 'X'?`` for the choice closest to a misspelt ``name``, if one is
    close; else empty: the tail of an error message."""
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
