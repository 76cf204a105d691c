"""Expressions and templates: Jinja2 in a bounded sandbox that returns native values.

``compile_expression("element.context.role == 'leader'")`` and
``compile_template({"url": "{{ base }}/x", "when": "{{ current == first }}"})`` compile
once; ``.evaluate(variables)`` / ``.render(variables)`` run many times. A string that is
exactly one ``{{ ... }}`` renders to the expression's native value (a bool, a list, a
datetime); a string with text around it renders to a string; dicts, lists and tuples are
rendered item by item; everything else is returned as it is.

- :mod:`~jobweave.expr.sandbox`: the Jinja2 environment (``ImmutableSandboxedEnvironment``
  with the bounds wired into its operators, calls, filters, loops and output);
- :mod:`~jobweave.expr.bounds`: the limits and the checks;
- :mod:`~jobweave.expr.helpers`: ``now()``, ``today()``, ``duration()`` and the time filters.

Any failure is an :class:`~jobweave.errors.ExpressionError` naming the field and the text.
See docs/expressions.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.environment import Template as _JinjaTemplate
from jinja2.runtime import Context, Undefined

from jobweave.errors import DefinitionError, ExpressionError
from jobweave.expr.bounds import (
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_SIZE,
    MAX_SOURCE,
    STATE,
    TIMEOUT,
    Limit,
    check_len,
    tick,
)
from jobweave.expr.sandbox import GLOBALS, env

__all__ = [
    "MAX_INT_BITS",
    "MAX_RANGE",
    "MAX_SIZE",
    "MAX_SOURCE",
    "TIMEOUT",
    "Expression",
    "Template",
    "compile_expression",
    "compile_template",
    "is_template",
    "render",
]

_SCALARS = (bool, int, float, type(None), datetime, date, timedelta)
_SINGLE = re.compile(r"\A\{\{[-+]?(?P<expr>.*?)[-+]?\}\}\Z", re.DOTALL)


class _Run:
    """Sets the deadline and clock of one evaluation on this thread; turns failures into
    ExpressionError."""

    __slots__ = ("expression", "field", "now", "saved", "timeout")

    def __init__(self, expression: str, field: str | None, now: datetime | None,
                 timeout: float) -> None:
        self.expression, self.field, self.now, self.timeout = expression, field, now, timeout

    def __enter__(self) -> None:
        self.saved = (getattr(STATE, "deadline", None), getattr(STATE, "now", None),
                      getattr(STATE, "timeout", None))
        if self.saved[0] is None:
            STATE.deadline = time.monotonic() + self.timeout
            STATE.timeout = self.timeout
        if self.now is not None:
            STATE.now = self.now

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        STATE.deadline, STATE.now, STATE.timeout = self.saved
        if exc is None or isinstance(exc, ExpressionError) or not isinstance(exc, Exception):
            return
        raise _failure(exc, self.expression, self.field) from None


def _failure(exc: BaseException, expression: str, field: str | None) -> ExpressionError:
    if isinstance(exc, Limit | TemplateError):
        message = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        message = message.rstrip(".")
    elif isinstance(exc, RecursionError):
        message = "recursion is too deep"
    elif isinstance(exc, MemoryError):
        message = "out of memory"
    elif isinstance(exc, DefinitionError):  # a value's own words (``secrets.NAME``)
        message = exc.message
    else:
        message = f"{type(exc).__name__}: {exc}"
    line = getattr(exc, "lineno", None) if isinstance(exc, TemplateError) else None
    return ExpressionError(message.strip() or type(exc).__name__, expression=expression,
                           field=field, line=line if line and line > 1 else None)


class Expression:
    """A compiled expression: :meth:`evaluate` returns its native value."""

    __slots__ = ("_root", "field", "source", "timeout")

    def __init__(self, source: str, *, field: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.source, self.field, self.timeout = source, field, timeout
        if len(source) > MAX_SOURCE:
            raise ExpressionError(f"expression is longer than {MAX_SOURCE:,} characters",
                                  expression=source, field=field)
        with _Run(source, field, None, timeout):
            compiled = env.compile_expression(source, undefined_to_none=False)
        self._root = compiled._template.root_render_func

    def evaluate(self, variables: Mapping[str, Any] | None = None, *,
                 now: datetime | None = None) -> Any:
        """The value with these variables; ``now`` fixes the clock of ``now()``/``today()``."""
        state = STATE
        outer = getattr(state, "deadline", None)
        saved_now = getattr(state, "now", None)
        if outer is None:
            state.deadline = time.monotonic() + self.timeout
            state.timeout = self.timeout
        if now is not None:
            state.now = now
        try:
            context = Context(env, {**GLOBALS, **variables} if variables else dict(GLOBALS),
                              None, {})
            for _ in self._root(context):
                pass
            value = context.vars["result"]
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            if not isinstance(value, _SCALARS):
                check_len(value)
            return value
        except ExpressionError:
            raise
        except Exception as exc:
            raise _failure(exc, self.source, self.field) from None
        finally:
            if outer is None:
                state.deadline = None
            state.now = saved_now

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


class _Text:
    """A template with text around its expressions: renders to a string."""

    __slots__ = ("source", "template")

    def __init__(self, source: str) -> None:
        self.source = source
        self.template: _JinjaTemplate = env.from_string(source)

    def render(self, variables: Mapping[str, Any]) -> str:
        context = Context(env, {**GLOBALS, **variables}, None, self.template.blocks)
        size, parts = 0, []
        for part in self.template.root_render_func(context):
            tick()
            size += len(part)
            if size > MAX_SIZE:
                raise Limit(f"rendered text is over the size limit of {MAX_SIZE:,}")
            parts.append(part)
        return "".join(parts)


class Template:
    """A compiled template value: strings, dicts, lists and tuples of them, and constants.

    :meth:`render` returns the same shape with each template string rendered.
    """

    __slots__ = ("_root", "field", "static", "timeout")

    def __init__(self, value: Any, *, field: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        self.field, self.timeout = field, timeout
        self._root = _compile_value(value, field, timeout)
        self.static = not _has_template(self._root)
        """True when nothing in the value is a template (render returns it unchanged)."""

    def render(self, variables: Mapping[str, Any] | None = None, *,
               now: datetime | None = None) -> Any:
        """The value with every template rendered against ``variables``."""
        if self.static:
            return self._root
        with _Run("", self.field, now, self.timeout):
            return _render(self._root, variables or {}, self.field)


def _compile_value(value: Any, field: str | None, timeout: float) -> Any:
    if isinstance(value, str):
        if not is_template(value):
            return value
        if len(value) > MAX_SOURCE:
            raise ExpressionError(f"template is longer than {MAX_SOURCE:,} characters",
                                  expression=value, field=field)
        single = _SINGLE.match(value.strip())
        if single and _is_one_expression(value.strip()):
            return Expression(single.group("expr"), field=field, timeout=timeout)
        with _Run(value, field, None, timeout):
            return _Text(value)
    if isinstance(value, Mapping):
        compiled = {k: _compile_value(v, _join(field, str(k)), timeout)
                    for k, v in value.items()}
        return compiled if _has_template(compiled) else value
    if isinstance(value, list | tuple):
        items = [_compile_value(v, f"{field or ''}[{i}]", timeout) for i, v in enumerate(value)]
        if not _has_template(items):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def _is_one_expression(text: str) -> bool:
    try:
        body = env.parse(text).body
    except TemplateError:
        return False
    return (len(body) == 1 and isinstance(body[0], nodes.Output) and len(body[0].nodes) == 1
            and not isinstance(body[0].nodes[0], nodes.TemplateData))


def _join(field: str | None, key: str) -> str:
    return f"{field}.{key}" if field else key


def _has_template(node: Any) -> bool:
    if isinstance(node, Expression | _Text):
        return True
    if isinstance(node, dict):
        return any(_has_template(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_has_template(v) for v in node)
    return False


def _render(node: Any, variables: Mapping[str, Any], field: str | None) -> Any:
    if isinstance(node, Expression):
        return node.evaluate(variables)
    if isinstance(node, _Text):
        with _Run(node.source, field, None, TIMEOUT):
            return node.render(variables)
    if isinstance(node, dict):
        return {k: _render(v, variables, _join(field, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_render(v, variables, f"{field or ''}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, tuple):
        return tuple(_render(v, variables, f"{field or ''}[{i}]") for i, v in enumerate(node))
    return node


def is_template(text: str) -> bool:
    """True when ``text`` has a ``{{ ... }}`` or ``{% ... %}`` in it."""
    return "{{" in text or "{%" in text


def compile_expression(source: str, *, field: str | None = None,
                       timeout: float = TIMEOUT) -> Expression:
    """Compile a bare expression (no braces): ``"current == first"``."""
    return Expression(source, field=field, timeout=timeout)


def compile_template(value: Any, *, field: str | None = None,
                     timeout: float = TIMEOUT) -> Template:
    """Compile a template value (a string, or dicts/lists/tuples holding strings)."""
    return Template(value, field=field, timeout=timeout)


@lru_cache(maxsize=512)
def _cached(source: str, field: str | None) -> Template:
    return Template(source, field=field)


def render(value: Any, variables: Mapping[str, Any] | None = None, *,
           field: str | None = None, now: datetime | None = None) -> Any:
    """Compile (strings are cached) and render ``value`` in one call."""
    template = _cached(value, field) if isinstance(value, str) else Template(value, field=field)
    return template.render(variables, now=now)
