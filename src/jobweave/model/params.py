"""Check a job's parameters against its target's signature, before anything runs.

A Python job calls ``target(**params)`` (plus ``context`` when the target declares it), so
a parameter the function lacks, or one it needs that the job does not give, would only
fault the job at run time. Both are definition errors instead. A function that takes
``**kwargs`` accepts any name; one without a readable signature is not checked.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from jobweave.errors import did_you_mean

CONTEXT = "context"
"""The parameter jobweave fills itself (see :mod:`jobweave.context`)."""

_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)

_Shape = tuple[frozenset[str], frozenset[str] | None, frozenset[str], str]
"""(required by keyword, allowed or None for any, required positional-only, shown)."""

_shapes: dict[int, tuple[Callable[..., Any], _Shape | None]] = {}
_MAX_SHAPES = 4096


def _shape(fn: Callable[..., Any]) -> _Shape | None:
    cached = _shapes.get(id(fn))
    if cached is not None and cached[0] is fn:
        return cached[1]
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        shape = None  # a builtin or extension without a signature: nothing to check
    else:
        required = frozenset(p.name for p in parameters
                             if p.kind in _KEYWORD and p.default is inspect.Parameter.empty)
        positional = frozenset(p.name for p in parameters
                               if p.kind is inspect.Parameter.POSITIONAL_ONLY
                               and p.default is inspect.Parameter.empty)
        anything = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
        allowed = None if anything else frozenset(p.name for p in parameters
                                                  if p.kind in _KEYWORD)
        stars: dict[Any, str] = {inspect.Parameter.VAR_POSITIONAL: "*",
                                 inspect.Parameter.VAR_KEYWORD: "**"}
        shown = ", ".join(stars.get(p.kind, "") + p.name for p in parameters
                          if p.name != CONTEXT)
        shape = (required - {CONTEXT}, allowed, positional, shown)
    if len(_shapes) >= _MAX_SHAPES:
        _shapes.clear()
    _shapes[id(fn)] = (fn, shape)
    return shape


def params_problem(fn: Callable[..., Any], given: Iterable[str]) -> tuple[str, str | None] | None:
    """What is wrong with calling ``fn`` with parameters named ``given``, if anything.

    Returns ``(message, parameter)``: the parameter is the given one that is unknown, or
    None when one is missing.
    """
    shape = _shape(fn)
    if shape is None:
        return None
    required, allowed, positional, shown = shape
    names = given if isinstance(given, (set, frozenset, dict)) else set(given)
    if not positional and (allowed is None or allowed.issuperset(names)) \
            and required.issubset(names):
        return None  # the common case, kept cheap: compiling calls this once per job
    label = f"{getattr(fn, '__name__', type(fn).__name__)}({shown})"
    if positional:
        first = sorted(positional)[0]
        return (f"{label} needs {first!r} as a positional argument; a job passes "
                "keyword arguments only", None)
    if allowed is not None:
        for name in names:
            if name not in allowed:
                hint = did_you_mean(name, allowed - {CONTEXT})
                return f"unknown parameter {name!r}: {label} has no such parameter{hint}", name
    missing = [name for name in sorted(required) if name not in names]
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        return (f"missing parameter{'s' if len(missing) > 1 else ''} {listed} of {label}",
                None)
    return None
