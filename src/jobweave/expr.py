"""Expressions and templates: Jinja2 in a bounded sandbox that returns native values.

``compile_expression("element.context.role == 'leader'")`` and
``compile_template({"url": "{{ base }}/x", "when": "{{ current == first }}"})`` compile
once; ``.evaluate(variables)`` / ``.render(variables)`` run many times. A string that is
exactly one ``{{ ... }}`` renders to the expression's native value (a bool, a list, a
datetime); a string with text around it renders to a string; dicts, lists and tuples are
rendered item by item; everything else is returned as it is.

The sandbox is Jinja2's ``ImmutableSandboxedEnvironment`` (no ``_`` attributes, no
mutation of lists and dicts, sandboxed ``str.format``) with more bounds on top, so a
hostile or careless expression is an :class:`~jobweave.errors.ExpressionError`, never
a hang or a gigabyte of memory:

- no ``include``, ``import``, ``extends``; no ``lipsum``, ``cycler``, ``joiner``;
- ``range`` of at most :data:`MAX_RANGE` items;
- strings, lists and rendered output of at most :data:`MAX_SIZE` characters/items,
  checked *before* ``*``, ``+``, ``~``, ``%``, ``str.format`` widths, ``join``,
  ``replace`` build them; integers of at most :data:`MAX_INT_BITS` bits;
- :data:`TIMEOUT` seconds per evaluation, checked on every call, attribute, operator,
  filter and loop step; undefined names are errors (``StrictUndefined``).
"""

from __future__ import annotations

import re
import string
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache, update_wrapper
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.environment import Template as _JinjaTemplate
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from jobweave.durations import parse_duration
from jobweave.errors import DefinitionError, ExpressionError

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


class _Limit(Exception):
    """A bound was crossed inside the sandbox; becomes an ExpressionError."""


_state = threading.local()


def _tick() -> None:
    deadline = getattr(_state, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _Limit(f"took longer than the limit of {_state.timeout:g}s")


def _weight(value: Any, budget: int, depth: int = 0) -> int:
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
            total += _weight(k, budget - total, depth + 1) + _weight(v, budget - total,
                                                                      depth + 1)
        return total
    if isinstance(value, list | tuple | set | frozenset):
        total = len(value)
        for item in value:
            if total > budget:
                break
            if not isinstance(item, int | float | bool | type(None)):
                total += _weight(item, budget - total, depth + 1)
        return total
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return 1


def _check_size(value: Any, what: str = "result") -> None:
    """Before a value becomes text: its characters and items, nested ones counted."""
    if _weight(value, MAX_SIZE) > MAX_SIZE:
        raise _Limit(f"{what} is over the size limit of {MAX_SIZE:,} characters or items")


def _check_len(value: Any, what: str = "result") -> None:
    """A value built by a call: its own length (big input data nested in it is fine)."""
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        if len(value) > MAX_SIZE:
            raise _Limit(f"{what} is over the size limit of {MAX_SIZE:,} characters or items")
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Undefined):
                    item._fail_with_undefined_error()


def _check_int(value: int) -> None:
    if value.bit_length() > MAX_INT_BITS:
        raise _Limit(f"integer is over the limit of {MAX_INT_BITS} bits")


def _check_count(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise _Limit(f"{what} {value} is over the limit of {MAX_SIZE:,}")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def _check_printf(fmt: str) -> None:
    for width, precision in _PRINTF.findall(fmt):
        for part in (width, precision):
            if part == "*":
                raise _Limit("'*' widths in % formatting are not allowed")
            if part and int(part) > MAX_SIZE:
                raise _Limit(f"format width {part} is over the limit of {MAX_SIZE:,}")


def _check_format(fmt: str) -> None:
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will report it
    for _, _, spec, _ in parsed:
        if spec:
            for digits in _DIGITS.findall(spec):
                if int(digits) > MAX_SIZE:
                    raise _Limit(f"format width {digits} is over the limit of {MAX_SIZE:,}")
            if "{" in spec:
                _check_format(spec)


def _repeat(seq: Any, times: Any) -> None:
    if (isinstance(times, int) and isinstance(seq, str | bytes | list | tuple) and times > 0
            and _weight(seq, MAX_SIZE) * times > MAX_SIZE):
        raise _Limit(f"repeating {type(seq).__name__} {times} times is over the size "
                         f"limit of {MAX_SIZE:,}")


class _Sandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with jobweave's bounds and helpers."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, cache_size=0,
                         finalize=_finalize)
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals.update(range=_range, now=_now, today=_today, timedelta=timedelta,
                            duration=_duration, fromiso=_fromiso)
        self.filters.update(strftime=_strftime, isoformat=_isoformat, in_tz=_in_tz)
        self.filters["format"] = _printf_filter(self.filters["format"])
        self.filters = {name: _guard_filter(f) for name, f in self.filters.items()}
        self.filters["_jw_iter"] = _guarded_iter
        self.filters["_jw_concat"] = _guarded_concat

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                    raise _Limit(f"integer is over the limit of {MAX_INT_BITS} bits")
            else:
                _repeat(left, right)
                _repeat(right, left)
        elif operator == "**":
            if (isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
                    and (right > MAX_INT_BITS
                         or left.bit_length() * right > MAX_INT_BITS + right)):
                raise _Limit(f"integer is over the limit of {MAX_INT_BITS} bits")
        elif operator == "+":
            if (isinstance(left, str | bytes | list | tuple) and type(left) is type(right)
                    and len(left) + len(right) > MAX_SIZE):
                raise _Limit(f"result is over the size limit of {MAX_SIZE:,}")
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
            _check_size(right, "formatted value")
        return self.binop_table[operator](left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(fmt)
            for arg in (*args, *kwargs.values()):
                _check_count(arg, "format argument")
                _check_size(arg, "formatted value")
            result = wrapped(*args, **kwargs)
            _check_len(result)
            return result

        return update_wrapper(checked, wrapped)

    def call(__self, __context: Any, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        _tick()
        builtin = isinstance(__obj, types.BuiltinMethodType | types.BuiltinFunctionType)
        if builtin:
            for arg in (*args, *kwargs.values()):
                _check_count(arg, "argument")
            owner = getattr(__obj, "__self__", None)
            if isinstance(owner, str) and args:
                if __obj.__name__ == "join" and isinstance(args[0], list | tuple):
                    joined = _weight(args[0], MAX_SIZE) + len(owner) * len(args[0])
                    if joined > MAX_SIZE:
                        raise _Limit(f"joined text is over the size limit of {MAX_SIZE:,}")
                elif __obj.__name__ == "replace" and len(args) >= 2:
                    old, new = str(args[0]), str(args[1])
                    if len(new) > len(old):
                        grown = len(owner) + owner.count(old) * (len(new) - len(old))
                        if grown > MAX_SIZE:
                            raise _Limit(f"result is over the size limit of {MAX_SIZE:,}")
        result = super().call(__context, __obj, *args, **kwargs)
        if builtin:
            _check_len(result)
        return result

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        return super()._generate(_guard_tree(source), name, filename, defer_init)


# -- the tree guard: loops and ~ go through checked filters ------------------------------

_REFUSED = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def _guard_tree(node: nodes.Node) -> Any:
    if isinstance(node, _REFUSED):
        kind = type(node).__name__.lower()
        raise _Limit(f"'{kind}' is not allowed in jobweave expressions and templates")
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, nodes.Node):
            setattr(node, field, _guard_tree(value))
        elif isinstance(value, list):
            setattr(node, field, [_guard_tree(v) if isinstance(v, nodes.Node) else v
                                  for v in value])
    if isinstance(node, nodes.For):
        node.iter = nodes.Filter(node.iter, "_jw_iter", [], [], None, None,
                                 lineno=node.lineno)
    if isinstance(node, nodes.Concat):
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), "_jw_concat", [], [],
                            None, None, lineno=node.lineno)
    return node


def _finalize(value: Any) -> Any:
    """Every ``{{ ... }}`` of a text template passes here before it becomes text."""
    _tick()
    if not isinstance(value, str | int | float):
        _check_size(value, "printed value")
    return value


def _guarded_iter(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        _tick()
        yield item


def _guarded_concat(parts: list[Any]) -> str:
    _tick()
    _check_size(parts, "joined text")
    text = "".join(str(p) for p in parts)
    _check_len(text, "joined text")
    return text


def _guard_filter(f: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if getattr(f, "jinja_pass_arg", None) is not None else 1
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        # the filtered value may be of any size; the arguments after it may not be huge
        for arg in (*args[skip:], *kwargs.values()):
            _check_count(arg, "filter argument")
        if f.__name__ in _STRUCTURE_TO_TEXT:
            for arg in args[:skip]:
                if not isinstance(arg, str) and isinstance(arg, list | tuple | dict):
                    _check_size(arg, "filtered value")
        result = f(*args, **kwargs)
        if not isinstance(result, Iterator):
            _check_len(result)
        return result

    return update_wrapper(guarded, f)


_STRUCTURE_TO_TEXT = frozenset({"do_join", "sync_do_join", "do_pprint", "do_tojson",
                                "do_string", "do_urlencode", "do_xmlattr", "do_mark_safe",
                                "soft_str", "do_list", "sync_do_list", "do_sum",
                                "sync_do_sum"})


def _printf_filter(f: Callable[..., Any]) -> Callable[..., Any]:
    def format_(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_printf(str(value))
        return f(value, *args, **kwargs)

    return update_wrapper(format_, f)


# -- helpers -------------------------------------------------------------------------------

def _range(*args: int) -> range:
    for arg in args:
        if isinstance(arg, int) and arg.bit_length() > 64:
            raise _Limit(f"range argument {arg} is too large")
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise _Limit(f"range of {len(rng):,} items is over the limit of {MAX_RANGE:,}")
    return rng


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except (ValueError, OSError, KeyError) as exc:
        raise _Limit(f"unknown time zone {tz!r}") from exc


def _now(tz: str | None = None) -> datetime:
    """The evaluation's time (the injected clock, else the wall clock), aware, in ``tz``."""
    fixed: datetime | None = getattr(_state, "now", None)
    current = fixed if fixed is not None else datetime.now(UTC)
    return current.astimezone(_zone(tz))


def _today(tz: str | None = None) -> date:
    return _now(tz).date()


def _duration(text: Any) -> timedelta:
    try:
        return parse_duration(text)
    except DefinitionError as exc:
        raise _Limit(exc.message) from exc


def _fromiso(text: str) -> datetime:
    """An ISO 8601 time; one without an offset is read as UTC."""
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Limit(f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _strftime(value: datetime | date, fmt: str = "%Y-%m-%dT%H:%M:%S%z") -> str:
    if re.search(r"%[-_0^#]*\d", fmt):
        raise _Limit("widths in strftime formats are not allowed")
    return value.strftime(fmt)


def _isoformat(value: datetime | date) -> str:
    return value.isoformat()


def _in_tz(value: datetime, tz: str) -> datetime:
    return value.astimezone(_zone(tz))


# -- compiled expressions and templates ------------------------------------------------------

_env = _Sandbox()
_GLOBALS = dict(_env.globals)
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
        self.saved = (getattr(_state, "deadline", None), getattr(_state, "now", None),
                      getattr(_state, "timeout", None))
        if self.saved[0] is None:
            _state.deadline = time.monotonic() + self.timeout
            _state.timeout = self.timeout
        if self.now is not None:
            _state.now = self.now

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        _state.deadline, _state.now, _state.timeout = self.saved
        if exc is None or isinstance(exc, ExpressionError) or not isinstance(exc, Exception):
            return
        raise _failure(exc, self.expression, self.field) from None


def _failure(exc: BaseException, expression: str, field: str | None) -> ExpressionError:
    if isinstance(exc, _Limit | TemplateError):
        message = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
        message = message.rstrip(".")
    elif isinstance(exc, RecursionError):
        message = "recursion is too deep"
    elif isinstance(exc, MemoryError):
        message = "out of memory"
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
            compiled = _env.compile_expression(source, undefined_to_none=False)
        self._root = compiled._template.root_render_func

    def evaluate(self, variables: Mapping[str, Any] | None = None, *,
                 now: datetime | None = None) -> Any:
        """The value with these variables; ``now`` fixes the clock of ``now()``/``today()``."""
        state = _state
        outer = getattr(state, "deadline", None)
        saved_now = getattr(state, "now", None)
        if outer is None:
            state.deadline = time.monotonic() + self.timeout
            state.timeout = self.timeout
        if now is not None:
            state.now = now
        try:
            context = Context(_env, {**_GLOBALS, **variables} if variables else dict(_GLOBALS),
                              None, {})
            for _ in self._root(context):
                pass
            value = context.vars["result"]
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            if not isinstance(value, _SCALARS):
                _check_len(value)
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
        self.template: _JinjaTemplate = _env.from_string(source)

    def render(self, variables: Mapping[str, Any]) -> str:
        context = Context(_env, {**_GLOBALS, **variables}, None, self.template.blocks)
        size, parts = 0, []
        for part in self.template.root_render_func(context):
            _tick()
            size += len(part)
            if size > MAX_SIZE:
                raise _Limit(f"rendered text is over the size limit of {MAX_SIZE:,}")
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
        body = _env.parse(text).body
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
