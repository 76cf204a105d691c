"""JSON values as components see them: dotted paths into a message, and equality and
order with JSON's types (``true`` is not ``1``; ``1`` is ``1.0``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from jobweave.errors import ComponentError


class _Missing:
    """What :func:`lookup` returns when the path leads nowhere."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def split_path(path: str) -> tuple[str, ...] | None:
    """The parts of a dotted path (``"meta.items.0.id"``), or None when it is malformed
    (empty, or an empty part as in ``"a..b"``)."""
    parts = tuple(path.split("."))
    if not path or any(not part for part in parts):
        return None
    return parts


def lookup(value: Any, parts: tuple[str, ...]) -> Any:
    """The value at ``parts`` inside ``value``: a part is a mapping key, or a list index
    (digits, from 0). :data:`MISSING` when the path leads nowhere."""
    for part in parts:
        if isinstance(value, Mapping):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list | tuple) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` differs from ``1``, ``1`` equals ``1.0``, lists and
    mappings compare item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _number(a) and _number(b):
        return bool(a == b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    return bool(a == b)


def orderable(value: Any) -> bool:
    """Whether ``gt``/``lt`` can compare this value: a number or text."""
    return _number(value) or isinstance(value, str)


def greater(a: Any, b: Any) -> bool:
    """``a > b`` for two numbers or two texts; anything else is a :class:`ComponentError`
    (a number is not greater or less than text, null or a list)."""
    if (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str)):
        return bool(a > b)
    raise ComponentError(f"cannot compare {shown(a)} with {shown(b)}: both must be "
                         "numbers or both text")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown(value: Any) -> str:
    """A value's repr, cut to 40 characters for error messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
