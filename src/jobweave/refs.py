"""References to Python objects: ``"package.module:name"`` and ``"path/file.py:name"``.

Definitions are stored by reference so that another process (a detached ``submit``,
a ``resume`` after a reboot) can load the same callables again.

Loading a file or module runs its top level. While it does, :func:`loading` is true in
that thread, and ``jobweave.run``/``submit``/``resume``/``recover`` start nothing (see
docs/definitions.md): a script without an ``if __name__ == "__main__":`` guard can be
loaded to find its definitions without starting the run its top level asks for. A file
loaded again while it loads (from its own top level, in the same thread) gives the module
as far as it has run, as a circular import does; it never waits for itself.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, ModuleType
from typing import Any

from jobweave.errors import ReferenceError_

_lock = threading.Lock()  # guards _cache, _file_locks and _loaded
_cache: dict[str, Any] = {}
_file_locks: dict[str, threading.RLock] = {}
_loaded: set[str] = set()  # module names of files whose top level has run to its end
_local = threading.local()


def loading() -> str | None:
    """The file or module this thread is loading (running its top level), if any."""
    stack: list[str] = getattr(_local, "stack", [])
    return stack[-1] if stack else None


@contextmanager
def _loading(what: str) -> Iterator[None]:
    stack: list[str] = _local.__dict__.setdefault("stack", [])
    stack.append(what)
    try:
        yield
    finally:
        stack.pop()


def split(ref: str) -> tuple[str, str]:
    """Split a reference into (module or file, attribute path)."""
    module, sep, attr = ref.rpartition(":")
    if not sep or not module or not attr:
        raise ReferenceError_(f"reference {ref!r} must look like 'package.module:name' "
                              "or 'path/file.py:name'")
    return module, attr


def is_file(module: str) -> bool:
    """True when the module part names a Python file rather than an importable module."""
    return module.endswith(".py") or os.sep in module or "/" in module


def resolve(ref: str) -> Any:
    """Load the object a reference names (cached per process)."""
    found = _cache.get(ref)
    if found is not None:
        return found
    module_name, attr = split(ref)
    module = load_file(module_name) if is_file(module_name) else _import(module_name, ref)
    obj: Any = module
    parts = attr.split(".")
    for k, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            hint = _close_name(obj, part)
            hint = f"; did you mean {'.'.join([*parts[:k], hint])!r}?" if hint else ""
            raise ReferenceError_(f"reference {ref!r}: {module_name} has no {attr!r}{hint}"
                                  ) from None
    with _lock:
        _cache[ref] = obj
    return obj


def _close_name(obj: Any, name: str) -> str | None:
    """The attribute of ``obj`` closest to the missing ``name``, if one is close (a private
    one only for a private name)."""
    try:
        names = [n for n in dir(obj) if name.startswith("_") or not n.startswith("_")]
    except Exception:  # a user object's own __dir__ may fail: then there is no hint
        return None
    close = difflib.get_close_matches(name, names, n=1)
    return close[0] if close else None


def resolve_callable(ref: str) -> Callable[..., Any]:
    """Load a reference and check that it is callable."""
    obj = resolve(ref)
    if not callable(obj):
        raise ReferenceError_(f"reference {ref!r} is a {type(obj).__name__}, not callable")
    return obj  # type: ignore[no-any-return]


def _import(module_name: str, ref: str) -> ModuleType:
    try:
        with _loading(module_name):
            return importlib.import_module(module_name)
    except ImportError as exc:
        raise ReferenceError_(f"reference {ref!r}: cannot import {module_name!r} ({exc})") from None


class _FreshLoader(importlib.machinery.SourceFileLoader):
    """Compiles a definition file from its source each time, never from ``__pycache__``.

    A cached compile is trusted while the file's mtime (in whole seconds) and size are
    unchanged: an edit within the same second that keeps the size (``b=2`` to ``b=5``)
    would load the old definition, and a resume would miss that it changed.
    """

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        return compile(self.get_data(path), path, "exec", dont_inherit=True)


def load_file(path: str) -> ModuleType:
    """Import a Python file once per process under a stable module name.

    A ``SystemExit`` from the file's top level (``sys.exit(jw.run(...).exit_code)`` at
    its end) ends the loading there and keeps what was defined before it.
    """
    full = os.path.abspath(path)
    name = "jobweave_file_" + hashlib.sha1(full.encode()).hexdigest()[:12]
    if name in _loaded:
        return sys.modules[name]
    if not os.path.isfile(full):
        raise ReferenceError_(f"no such Python file: {path}")
    with _lock:
        file_lock = _file_locks.setdefault(full, threading.RLock())
    with file_lock:  # re-entrant: a load from the file's own top level does not wait
        module = sys.modules.get(name)
        if module is not None:
            return module  # loaded meanwhile, or being loaded by this very thread
        spec = importlib.util.spec_from_file_location(name, full, loader=_FreshLoader(name, full))
        if spec is None or spec.loader is None:
            raise ReferenceError_(f"cannot load Python file {path}")
        module = importlib.util.module_from_spec(spec)
        module.__jobweave_path__ = full  # type: ignore[attr-defined]
        sys.modules[name] = module
        folder = os.path.dirname(full)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            with _loading(full):
                spec.loader.exec_module(module)
        except SystemExit:
            pass  # the script's end: what it defined before stays usable
        except Exception as exc:
            del sys.modules[name]
            line = _failed_line(exc, full)
            where = path if line is None else f"{path}:{line}"
            raise ReferenceError_(f"{where}: loading failed: {type(exc).__name__}: {exc}"
                                  ) from None
        except BaseException:
            del sys.modules[name]
            raise
        with _lock:
            _loaded.add(name)
    return module


def describe(fn: Callable[..., Any]) -> str | None:
    """The reference that loads ``fn`` again in another process, or None if there is none."""
    module_name = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname:
        return None
    module = sys.modules.get(module_name)
    path = getattr(module, "__jobweave_path__", None)
    if path is not None:
        return f"{path}:{qualname}"
    if module_name == "__main__":
        main_file = getattr(module, "__file__", None)
        return f"{os.path.abspath(main_file)}:{qualname}" if main_file else None
    return f"{module_name}:{qualname}"


def _failed_line(exc: BaseException, full: str) -> int | None:
    """The line of file ``full`` where loading it raised ``exc`` (the deepest frame in it;
    a syntax error's own line)."""
    if isinstance(exc, SyntaxError) and exc.filename == full:
        return exc.lineno
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == full:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
