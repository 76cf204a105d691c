"""References to Python objects: ``"package.module:name"`` and ``"path/file.py:name"``.

Definitions are stored by reference so that another process (a detached ``submit``,
a ``resume`` after a reboot) can load the same callables again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from jobweave.errors import ReferenceError_

_lock = threading.Lock()
_cache: dict[str, Any] = {}


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
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ReferenceError_(f"reference {ref!r}: {module_name} has no {attr!r}") from None
    with _lock:
        _cache[ref] = obj
    return obj


def resolve_callable(ref: str) -> Callable[..., Any]:
    """Load a reference and check that it is callable."""
    obj = resolve(ref)
    if not callable(obj):
        raise ReferenceError_(f"reference {ref!r} is a {type(obj).__name__}, not callable")
    return obj  # type: ignore[no-any-return]


def _import(module_name: str, ref: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise ReferenceError_(f"reference {ref!r}: cannot import {module_name!r} ({exc})") from None


def load_file(path: str) -> ModuleType:
    """Import a Python file once per process under a stable module name."""
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise ReferenceError_(f"no such Python file: {path}")
    name = "jobweave_file_" + hashlib.sha1(full.encode()).hexdigest()[:12]
    with _lock:
        module = sys.modules.get(name)
        if module is not None:
            return module
        spec = importlib.util.spec_from_file_location(name, full)
        if spec is None or spec.loader is None:
            raise ReferenceError_(f"cannot load Python file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        folder = os.path.dirname(full)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            del sys.modules[name]
            raise ReferenceError_(f"{path}: loading failed: {type(exc).__name__}: {exc}") from None
        module.__jobweave_path__ = full  # type: ignore[attr-defined]
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
