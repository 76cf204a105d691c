"""What a Python job prints and logs, kept per attempt instead of reaching the console.

While a run executes, ``sys.stdout`` and ``sys.stderr`` are routers: a write goes to
the :class:`Capture` of the attempt running in the writer's context (a context
variable set by :func:`jobweave.executors.base.call`), and anything written outside a
job passes through to the stream that was there before. Logging records from a job
are kept with the attempt too, and kept from the handlers that write to the console.
:func:`install` and :func:`uninstall` are counted, so runs that overlap in one
process share the routers, and the last one out restores everything.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextvars import ContextVar
from typing import Any, Protocol, TextIO, cast

OUTPUT_LIMIT = 64 * 1024
"""Characters of stdout and of stderr kept per attempt (the tail), as for shell jobs."""
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""How a job's logging record reads in its captured stderr."""


class _Tail:
    """The last OUTPUT_LIMIT characters written, and how many were dropped before them."""

    __slots__ = ("chunks", "dropped", "size")

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.size = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        self.chunks.append(text)
        self.size += len(text)
        if self.size > 2 * OUTPUT_LIMIT:  # compact now and then, not on every write
            self._trim()

    def _trim(self) -> None:
        body = "".join(self.chunks)
        excess = len(body) - OUTPUT_LIMIT
        if excess > 0:
            body = body[excess:]
            self.dropped += excess
        self.chunks, self.size = [body], len(body)

    def text(self) -> str:
        self._trim()
        body = self.chunks[0] if self.chunks else ""
        return f"[{self.dropped} characters dropped]\n{body}" if self.dropped else body


class Capture:
    """One attempt's stdout and stderr (its logging records go to stderr), made when the
    attempt first writes."""

    _streams: dict[str, _Tail] | None = None
    _lock: threading.Lock | None = None
    closed = False
    """Set once the attempt returned: later writes (a thread it left behind) pass by."""

    def write(self, stream: str, text: str) -> None:
        if self._streams is None:
            self._lock = threading.Lock()
            self._streams = {}
        assert self._lock is not None
        with self._lock:  # a job's own threads may share its context
            tail = self._streams.get(stream)
            if tail is None:
                tail = self._streams[stream] = _Tail()
            tail.add(text)

    def result(self) -> dict[str, str] | None:
        """``{"stdout": ..., "stderr": ...}`` with what was written (empty ones left
        out), or None when the attempt wrote nothing. Later writes are not kept."""
        self.closed = True
        if self._streams is None:
            return None
        assert self._lock is not None
        with self._lock:
            kept = {name: tail.text() for name, tail in sorted(self._streams.items())}
        return {name: text for name, text in kept.items() if text} or None


class Attempt(Protocol):
    """What runs in a job's context: it holds its capture, made on the first write."""

    capture: Capture | None


current: ContextVar[Attempt | None] = ContextVar("jobweave_capture", default=None)
"""The attempt running in this context, if any (set by ``executors.base.call``)."""


def _capturing() -> Capture | None:
    attempt = current.get()
    if attempt is None:
        return None
    cap = attempt.capture
    if cap is None:
        cap = attempt.capture = Capture()
    return None if cap.closed else cap


CLOSED = Capture()
"""The capture of an attempt that returned: what a thread it left behind writes passes by."""
CLOSED.closed = True


class _Router:
    """Stands in for ``sys.stdout`` or ``sys.stderr``: job writes go to the job's capture,
    every other write (and every other attribute) to the stream it replaced."""

    def __init__(self, name: str, original: TextIO) -> None:
        self._name = name
        self._original = original

    def write(self, text: str) -> int:
        cap = _capturing()
        if cap is None:
            return self._original.write(text)
        cap.write(self._name, text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _capturing() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


_FORMATTER = logging.Formatter(LOG_FORMAT)
_MARK = "_jobweave_captured"


def _keep(cap: Capture, record: logging.LogRecord) -> None:
    """Put a job's logging record in its capture, once however many handlers see it."""
    if getattr(record, _MARK, False):
        return
    setattr(record, _MARK, True)
    try:
        text = _FORMATTER.format(record)
    except Exception:  # a bad format string in the job's call: keep what we can
        text = f"{record.levelname} {record.name}: {record.msg!r} {record.args!r}"
    cap.write("stderr", text + "\n")


class _JobRecords(logging.Handler):
    """On the root logger: keeps the records logged in a job's context with its attempt.

    Records from outside jobs are left to the other handlers; when there are none, they
    go where Python sends unhandled records (``logging.lastResort``), as they would have
    without this handler.
    """

    def handle(self, record: logging.LogRecord) -> bool:
        cap = _capturing()
        if cap is not None:
            _keep(cap, record)
            return True
        last = logging.lastResort
        if last is not None and record.levelno >= last.level and self._alone(record):
            last.handle(record)
        return False

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def _alone(self, record: logging.LogRecord) -> bool:
        """Whether no handler but this one saw ``record`` on its way up."""
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(h is not self for h in logger.handlers):
                return False
            if not logger.propagate:
                break
            logger = logger.parent
        return True


class _NotFromJobs(logging.Filter):
    """On console handlers: a job's records go to its capture, not to the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        cap = _capturing()
        if cap is None:
            return True
        _keep(cap, record)
        return False


_lock = threading.Lock()
_users = 0
_saved: dict[str, Any] = {}
_filtered: list[logging.Handler] = []
_handler = _JobRecords()
_filter = _NotFromJobs()


def install() -> None:
    """Route job output to captures until the matching :func:`uninstall`."""
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        consoles = {id(s) for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
                    if s is not None}
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            _saved[name] = stream
            if stream is not None:
                setattr(sys, name, cast(TextIO, _Router(name, stream)))
        for handler in _handlers():
            stream = getattr(handler, "stream", None)
            if (isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler)
                    and (id(stream) in consoles or isinstance(stream, _Router))):
                handler.addFilter(_filter)
                _filtered.append(handler)
        logging.getLogger().addHandler(_handler)


def uninstall() -> None:
    """Undo :func:`install` once every run that installed it is done."""
    global _users
    with _lock:
        _users -= 1
        if _users > 0:
            return
        _users = 0
        logging.getLogger().removeHandler(_handler)
        for handler in _filtered:
            handler.removeFilter(_filter)
        _filtered.clear()
        for name, stream in _saved.items():
            now = getattr(sys, name)
            # put back only what is still ours: a stream someone set since stays theirs
            # (and our router in it keeps passing writes through)
            if isinstance(now, _Router) and now._original is stream:
                setattr(sys, name, stream)
        _saved.clear()


def _handlers() -> list[logging.Handler]:
    """Every handler attached to a logger now."""
    loggers = [logging.getLogger()]
    # a copy first: another thread may create a logger meanwhile
    loggers += [lg for lg in list(logging.Logger.manager.loggerDict.values())
                if isinstance(lg, logging.Logger)]
    seen: dict[int, logging.Handler] = {}
    for lg in loggers:
        for h in lg.handlers:
            seen.setdefault(id(h), h)
    return list(seen.values())
