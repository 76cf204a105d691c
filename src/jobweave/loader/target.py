"""Load what ``jobweave run TARGET`` names, and say how to load it again elsewhere.

TARGET is one of

* ``path/to/definition.yaml`` (or ``.yml``, ``.json``): a definition file;
* ``path/to/file.py:name``: an object in a Python file;
* ``package.module:name``: an object in an importable module.

The object may be a Batch, a Schedule, a Job, a (nested) list or tuple of jobs, or a
function taking no arguments that returns one of those.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterable
from typing import Any

from jobweave import refs
from jobweave.errors import DefinitionError, a_or_an
from jobweave.loader.source import is_definition_file
from jobweave.model import Batch, Flow, Graph, Job, Schedule, batch

_EXPECTED = ("a Batch, a Schedule, a Flow, a Graph, a Job, a list of jobs, or a function with "
             "no arguments returning one")


def load_target(spec: str, *, cwd: str | None = None) -> tuple[object, str]:
    """Load a target; return ``(definition, source)``.

    ``source`` names the same definition for another process: file paths in it are
    absolute. Relative paths are taken from ``cwd`` (default: the current folder), and
    that folder is put on ``sys.path`` so that modules next to the definition import.
    Anything unusable raises :class:`~jobweave.errors.DefinitionError` with one line.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise DefinitionError(f"a target must be a file or 'module:name', got {spec!r}")
    base = os.path.abspath(cwd if cwd is not None else os.getcwd())
    if is_definition_file(spec):
        from jobweave.loader.file import load_file  # the file format's models, when needed

        full = os.path.normpath(os.path.join(base, spec))
        _importable(base)
        shown = spec if cwd is None or os.path.isabs(spec) else full
        return load_file(shown), full
    module, sep, name = spec.rpartition(":")
    if not sep or not module or not name:
        if spec.endswith(".py"):
            raise DefinitionError(f"name the object to run: '{spec}:NAME'", path=spec)
        raise DefinitionError(f"target {spec!r} must be a definition file (.yaml, .yml, .json), "
                              "'path/file.py:name' or 'package.module:name'")
    if refs.is_file(module):
        full = os.path.normpath(os.path.join(base, module))
        if not os.path.isfile(full):
            raise DefinitionError("no such Python file", path=module)
        source = f"{full}:{name}"
    else:
        _importable(base)
        source = spec
    return _definition(refs.resolve(source), source), source


def missing_file(source: str) -> str | None:
    """The file a stored ``source`` names, if that file no longer exists.

    A run's source is absolute (see :func:`load_target`); a module source names no file.
    """
    if is_definition_file(source):
        path = source
    else:
        module, sep, _ = source.rpartition(":")
        if not sep or not refs.is_file(module):
            return None
        path = module
    return None if os.path.exists(path) else path


def _importable(folder: str) -> None:
    """Let ``package.module`` references under ``folder`` import, as ``python -m`` would."""
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _definition(obj: Any, source: str) -> object:
    if isinstance(obj, (Batch, Schedule, Flow, Job)):
        return obj
    if callable(obj) and not isinstance(obj, type):
        made = _call(obj, source)
        if made is None or isinstance(made, (str, bytes, int, float, dict)):
            # most likely a job's own function, named where its job was meant
            raise DefinitionError(
                f"{source} returned {_a(made)}, not {_EXPECTED}: a target function is "
                "called to make the definition; to run a function as a job, name a "
                "jw.job(...) of it")
        return _usable(made, f"{source} returned")
    return _usable(obj, source + " is")


def _call(fn: Any, source: str) -> Any:
    try:
        inspect.signature(fn).bind()
    except TypeError:
        raise DefinitionError(f"{source} needs arguments; a target function must take none"
                              ) from None
    except ValueError:
        pass  # no signature to read (some builtins): just call it
    try:
        return fn()
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise DefinitionError(f"calling {source}() raised {type(exc).__name__}"
                              + (f": {text}" if text else "")) from exc


def _usable(value: Any, what: str) -> object:
    """A Batch, Schedule or Job as is; a list, tuple or generator of jobs → one Batch."""
    if isinstance(value, (Batch, Schedule, Flow, Graph, Job)):
        return value
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise DefinitionError(f"{what} {_a(value)}, not {_EXPECTED}")
    try:
        flat = batch(value)
    except DefinitionError as exc:
        raise DefinitionError(f"{what} a list that holds something else than jobs: "
                              f"{exc.message}") from None
    if not flat.jobs:
        raise DefinitionError(f"{what} an empty {type(value).__name__}: there are no jobs to run")
    return flat


def _a(value: object) -> str:
    return f"{a_or_an(type(value).__name__)} ({value!r:.40})"
