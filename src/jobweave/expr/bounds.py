"""The bounds of the expression sandbox, and the checks that enforce them.

Each check raises :class:`Limit`, which the evaluation turns into an ExpressionError.
Sizes are checked before Python builds a value in one step (a repeat, a join, a
format width), so a bound fails in microseconds instead of after the allocation.
"""

from __future__ import annotations

import re
import string
import threading
import time
from collections.abc import Mapping
from typing import Any

from jinja2.runtime import Undefined

MAX_RANGE = 100_000
"""The most items ``range()`` may produce."""
MAX_SIZE = 1_000_000
"""The most characters of a string, items of a list (counting nested items) or
characters of rendered output; also the largest width, count or size argument."""
MAX_INT_BITS = 4096
"""The largest integer an operator may build, in bits (about 1,233 decimal digits)."""
MAX_SOURCE = 100_000
"""The longest expression or template text."""
TIMEOUT = 1.0
"""Seconds one evaluation (or one render of a whole template structure) may take."""


class Limit(Exception):
    """A bound was crossed inside the sandbox; becomes an ExpressionError."""


STATE = threading.local()
"""Per thread: the running evaluation's ``deadline``, ``timeout`` and fixed ``now``."""


def tick() -> None:
    deadline = getattr(STATE, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise Limit(f"took longer than the limit of {STATE.timeout:g}s")


def weight(value: Any, budget: int, depth: int = 0) -> int:
    """Characters plus items in ``value``, counting stops once over ``budget``."""
    if isinstance(value, str | bytes):
        return len(value)
    if depth > 40:
        return 1
    if isinstance(value, Mapping):
        total = len(value)
        for k, v in value.items():
            if total > budget:
                break
            total += weight(k, budget - total, depth + 1) + weight(v, budget - total,
                                                                      depth + 1)
        return total
    if isinstance(value, list | tuple | set | frozenset):
        total = len(value)
        for item in value:
            if total > budget:
                break
            if not isinstance(item, int | float | bool | type(None)):
                total += weight(item, budget - total, depth + 1)
        return total
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return 1


def check_size(value: Any, what: str = "result") -> None:
    """Before a value becomes text: its characters and items, nested ones counted."""
    if weight(value, MAX_SIZE) > MAX_SIZE:
        raise Limit(f"{what} is over the size limit of {MAX_SIZE:,} characters or items")


def check_len(value: Any, what: str = "result") -> None:
    """A value built by a call: its own length (big input data nested in it is fine)."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        if len(value) > MAX_SIZE:
            raise Limit(f"{what} is over the size limit of {MAX_SIZE:,} characters or items")
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Undefined):
                    item._fail_with_undefined_error()


def check_int(value: int) -> None:
    if value.bit_length() > MAX_INT_BITS:
        raise Limit(f"integer is over the limit of {MAX_INT_BITS} bits")


def check_count(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise Limit(f"{what} {value} is over the limit of {MAX_SIZE:,}")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def check_printf(fmt: str) -> None:
    for width, precision in _PRINTF.findall(fmt):
        for part in (width, precision):
            if part == "*":
                raise Limit("'*' widths in % formatting are not allowed")
            if part and int(part) > MAX_SIZE:
                raise Limit(f"format width {part} is over the limit of {MAX_SIZE:,}")


def check_format(fmt: str) -> None:
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will report it
    for _, _, spec, _ in parsed:
        if spec:
            for digits in _DIGITS.findall(spec):
                if int(digits) > MAX_SIZE:
                    raise Limit(f"format width {digits} is over the limit of {MAX_SIZE:,}")
            if "{" in spec:
                check_format(spec)


def check_repeat(seq: Any, times: Any) -> None:
    if (isinstance(times, int) and isinstance(seq, str | bytes | list | tuple) and times > 0
            and weight(seq, MAX_SIZE) * times > MAX_SIZE):
        raise Limit(f"repeating {type(seq).__name__} {times} times is over the size "
                         f"limit of {MAX_SIZE:,}")


METHOD_ARGS = {"replace": ("old", "new"), "expandtabs": ("tabsize",),
                "translate": ("table",)}
FILTER_GROWTH = {"do_replace": "replace", "do_indent": "indent", "do_wordwrap": "wordwrap",
                  "do_urlize": "urlize"}


def check_growth(name: str, text: str, a: Mapping[str, Any]) -> None:
    """Refuse, before it is built, a text that replace/indent/wordwrap/urlize/expandtabs/
    translate would make longer than MAX_SIZE."""
    n = len(text)
    if name == "replace":
        old, new = str(a.get("old", "")), str(a.get("new", ""))
        grown = n + text.count(old) * max(0, len(new) - len(old))
    elif name == "expandtabs":
        tabs = a.get("tabsize", 8)
        grown = n + text.count("\t") * (tabs if isinstance(tabs, int) else 8)
    elif name == "translate":
        table = a.get("table")
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1) \
            if isinstance(table, Mapping) else 1
        grown = n * max(1, longest)
    elif name == "indent":
        width = a.get("width", 4)
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        grown = n + (text.count("\n") + 1) * pad
    elif name == "wordwrap":
        width = a.get("width", 79)
        wrap = a.get("wrapstring") or "\n"
        lines = n // max(1, width if isinstance(width, int) else 1) + 1
        grown = n + lines * len(str(wrap))
    else:  # urlize: each word may become a link carrying the attributes
        extra = 64 + sum(len(str(a.get(k) or "")) for k in ("target", "rel"))
        grown = 2 * n + len(text.split()) * extra
    if grown > MAX_SIZE:
        raise Limit(f"{name} would make a text over the size limit of {MAX_SIZE:,}")
