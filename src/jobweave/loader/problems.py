"""Turn pydantic's validation errors into one clear DefinitionError line.

Pydantic reports a list of errors with locations that include union tags
(``("jobs", 0, "shell-job", "retries")``) and messages written for Python callers.
The loader reports the first problem in the file (by line) as
``file.yaml:12: jobs[0].retries: must be >= 0, got -1``, and counts the others.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from jobweave.errors import CycleError, DefinitionError
from jobweave.loader.graph_spec import EdgeSpec, GraphNodeSpec
from jobweave.loader.kinds import FILE_KIND_ERROR, KIND_MODELS, KIND_TAGS, KINDS
from jobweave.loader.source import Document, Loc
from jobweave.loader.spec import (
    BatchFile,
    ScheduleBatch,
)
from jobweave.loader.spec_flow import FLOW_TAGS, STEP_KEYS, STEP_MODELS
from jobweave.loader.spec_items import ITEM_KEYS, LIST_TAG, TAG_MODELS

_ITEM_TAGS = frozenset(TAG_MODELS) | {LIST_TAG}

_EXPECTED = {
    "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "string_type": "text", "bool_type": "true or false", "bool_parsing": "true or false",
    "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "none_required": "null",
}
"""Error types that mean "wrong type" → what was expected, in the file's words."""

_BOUNDS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
           "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}


def to_definition_error(exc: ValidationError, doc: Document) -> DefinitionError:
    """The first problem (by line) of a validation error, as one DefinitionError."""
    problems = [(_clean_loc(e["loc"]) or _top_loc(e), e) for e in exc.errors()]
    # by line, but a missing field last: a misspelt key (unknown field) usually explains it,
    # and a missing field only has the line of its enclosing mapping
    problems.sort(key=lambda p: (p[1]["type"] == "missing", doc.line(p[0]) or 0))
    loc, first = problems[0]
    message = describe(first, loc)
    if len(problems) > 1:
        more = len(problems) - 1
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return doc.error(message, loc)


def _clean_loc(raw: tuple[int | str, ...]) -> Loc:
    """Drop union tags: they name the kind of an item, not a place in the file.

    An unknown ``kind`` is reported by the union itself, at the top: it belongs to ``kind``.
    """
    if not raw:
        return ()
    out: list[str | int] = []
    for i, part in enumerate(raw):
        after_index = i > 0 and isinstance(raw[i - 1], int)
        if isinstance(part, str) and ((after_index and part in _ITEM_TAGS)
                                      or (i == 0 and part in KIND_TAGS) or part in FLOW_TAGS):
            continue
        out.append(part)
    return tuple(out)


def _top_loc(error: ErrorDetails) -> Loc:
    return ("kind",) if error["type"] == FILE_KIND_ERROR else ()


def describe(error: ErrorDetails, loc: Loc) -> str:
    """One line for one pydantic error."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    if kind == "extra_forbidden":
        return _unknown_field(str(loc[-1]), error)
    if kind == "missing":
        return "this field is required"
    if kind == "item_kind":
        return _item_kind(value)
    if kind == "step_kind":
        return _step_kind(value)
    if kind == FILE_KIND_ERROR:
        return _file_kind(value)
    if kind in _EXPECTED:
        if not loc and kind.startswith("model"):
            return ("the file must hold a mapping with a 'jobs' list, "
                    f"got {_shown(value)}")
        return f"expected {_EXPECTED[kind]}, got {_shown(value)}"
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        return f"must be {sign} {ctx.get(key)}, got {value!r}"
    if kind == "finite_number":
        return f"must be a finite number, got {value!r}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {value!r}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        if isinstance(value, str):
            return "must not be empty"
        return f"needs at least {least} item{'s' if least != 1 else ''}"
    if kind in ("too_long", "string_too_long"):
        most = ctx.get("max_length")
        if isinstance(value, str):
            return f"may have at most {most} characters, got {len(value)}"
        return f"may have at most {most} items"
    if kind == "string_pattern_mismatch":
        return _pattern(loc, value)
    msg = " ".join(str(error.get("msg", kind)).split())
    return f"{msg[:1].lower()}{msg[1:]}, got {value!r:.60}"


def _unknown_field(name: str, error: ErrorDetails) -> str:
    raw = error["loc"]
    tag = raw[-2] if len(raw) >= 2 else None
    top = len(raw) == 2 and isinstance(tag, str) and tag in KIND_MODELS
    if top:
        model = KIND_MODELS.get(str(tag))
    elif len(raw) == 4 and raw[0] == KINDS["schedule"] and raw[1] == "batches":
        model, tag = ScheduleBatch, "batch of a schedule"
    elif len(raw) == 4 and raw[0] == KINDS["graph"] and raw[1] in ("nodes", "edges"):
        model = GraphNodeSpec if raw[1] == "nodes" else EdgeSpec
        tag = "graph node" if raw[1] == "nodes" else "graph edge"
    elif (isinstance(tag, str) and tag in STEP_MODELS
          and ("steps" in raw or tag not in TAG_MODELS)):
        model = STEP_MODELS[tag]  # a flow's step: a job item and its flow options
    else:
        model = TAG_MODELS.get(tag) if isinstance(tag, str) else None
    message = f"unknown field {name!r}"
    if model is None:
        return message
    if model is BatchFile and name == "batches":
        return message + "; a file of batches needs 'kind: schedule'"
    allowed = [f.alias or n for n, f in model.model_fields.items()]
    if not top:
        message += f" for a {_what(tag)}"
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return message + f"; did you mean {close[0]!r}?"
    return message + f" (allowed: {', '.join(a for a in allowed if not a.startswith('$'))})"


def _what(tag: object) -> str:
    return {"python-job": "python job (target)", "shell-job": "shell job",
            "sleep-job": "sleep job", "group": "group (batch)", "child-flow": "flow step",
            "inline-flow": "child flow", "element-map": "flow element"}.get(str(tag), str(tag))


def _file_kind(value: object) -> str:
    kind = value.get("kind") if isinstance(value, dict) else value
    *most, last = (repr(k) for k in KINDS)
    return f"must be {', '.join(most)} or {last}, got {kind!r:.60}"


def _step_kind(value: object) -> str:
    return _one_key(value, "a step", STEP_KEYS,
                    f"expected a step (a mapping with one of {', '.join(STEP_KEYS)})")


def _item_kind(value: object) -> str:
    return _one_key(value, "an item", ITEM_KEYS,
                    f"expected a job (a mapping with one of {', '.join(ITEM_KEYS)}) or a list")


def _one_key(value: object, what: str, choices: Iterable[str], expected: str) -> str:
    """Why ``value`` is not exactly one of the mappings ``choices`` name (one key each)."""
    keys = ", ".join(choices)
    if isinstance(value, dict):
        found = [k for k in choices if k in value]
        if found:
            return f"{what} has {' and '.join(repr(k) for k in found)}; give exactly one of {keys}"
        has = ", ".join(repr(k) for k in value) or "no keys"
        return f"{what} needs one of {keys} (it has {has})"
    return f"{expected}, got {_shown(value)}"


def _pattern(loc: Loc, value: object) -> str:
    if loc and loc[-1] == "target":
        return (f"a target must look like 'package.module:function' or "
                f"'path/file.py:function', got {value!r}")
    if loc and loc[-1] in ("from", "to"):
        return f"an edge's end is 'node' or 'node:port', got {value!r:.60}"
    if isinstance(value, str) and not value.strip():
        return "must not be blank"
    if loc and loc[-1] == "name":
        return f"a name must not hold control characters (tabs, newlines...), got {value!r:.60}"
    return f"has the wrong form: {value!r:.60}"


def _shown(value: object) -> str:
    """A short picture of a value as the file wrote it: ``'2' (text)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    names = {int: "a whole number", float: "a number", str: "text", list: "a list",
             dict: "a mapping"}
    text = repr(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"{text} ({names.get(type(value), type(value).__name__)})"


def first_of(problems: list[DefinitionError]) -> DefinitionError:
    """The first of a file's problems in file order, its message counting the others."""
    found = sorted(problems, key=lambda p: p.line or 0)  # stable: the order found
    first, more = found[0], len(found) - 1
    if not more:
        return first
    cls = DefinitionError if isinstance(first, CycleError) else type(first)  # its own init
    return cls(f"{first.message} (and {more} more problem{'s' if more > 1 else ''})",
               path=first.path, line=first.line, field=first.field)
