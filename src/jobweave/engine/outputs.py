"""Job outputs travel as JSON: how one is encoded for the journal, and handed on.

A job's output is stored as JSON text, and the jobs that bind it, and the run's result,
get that text decoded: the same value whether the run went through uninterrupted, was
resumed, or was recovered from a journal (``{1: "one"}`` arrives as ``{"1": "one"}``,
tuples as lists). Values JSON keeps as they are (``None``, ``bool``, ``int``, ``float``,
``str``) are handed on without decoding, which is the common case and free.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from jobweave.engine.resume import NOT_DECODED

MAX_DEPTH = 500
"""How deep an output may nest: deeper ones could not be read back everywhere (a
decoder has to stay within Python's recursion limit, whatever called it)."""

_SAME_DECODED = frozenset((type(None), bool, int, float, str))
_encode = json.JSONEncoder(allow_nan=False).encode
"""``json.dumps(value, allow_nan=False)`` without building an encoder per call."""
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = str.maketrans({c: None for c in map(chr, range(128)) if c not in "[]{}"})


class OutputError(ValueError):
    """An output that cannot be stored as JSON; the message says why."""


def encode_output(value: Any) -> str:
    """The output as JSON text, or :class:`OutputError` naming what is wrong with it."""
    try:
        if type(value) is int:  # the common case, without the encoder's overhead
            return str(value)
        text = _encode(value)
    except RecursionError:
        raise OutputError(f"it nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        if "Out of range float" in str(exc):
            raise OutputError("it holds NaN or Infinity, which JSON cannot carry") from None
        raise OutputError(str(exc)) from None
    except (TypeError, OverflowError) as exc:
        raise OutputError(str(exc)) from None
    if len(text) > 2 * MAX_DEPTH and text.count("[") + text.count("{") > MAX_DEPTH \
            and _depth(text) > MAX_DEPTH:
        raise OutputError(f"it nests deeper than {MAX_DEPTH} levels")
    return text


def handed_on(value: Any) -> Any:
    """What to keep as the output's value: the value itself when its JSON decodes to an
    equal value of the same type, else ``NOT_DECODED`` (decoded from the text on use)."""
    return value if type(value) in _SAME_DECODED else NOT_DECODED


def _depth(text: str) -> int:
    """How deep the JSON ``text`` nests (only called for texts with many brackets)."""
    brackets = _STRING.sub("", text).translate(_BRACKETS)
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)
