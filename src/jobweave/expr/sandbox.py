"""The Jinja2 environment of expressions: ImmutableSandboxedEnvironment with jobweave's
bounds wired into operators, calls, attribute access, filters, loops, ``~`` and output."""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import update_wrapper
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from jobweave.expr.bounds import (
    FILTER_GROWTH,
    MAX_INT_BITS,
    MAX_SIZE,
    METHOD_ARGS,
    Limit,
    check_count,
    check_format,
    check_growth,
    check_len,
    check_printf,
    check_repeat,
    check_size,
    tick,
    weight,
)
from jobweave.expr.helpers import (
    bounded_range,
    duration,
    fromiso,
    fromjson,
    in_tz,
    isoformat,
    now,
    strftime,
    today,
)


class Sandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with jobweave's bounds and helpers."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, cache_size=0,
                         finalize=_finalize)
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals.update(range=bounded_range, now=now, today=today, timedelta=timedelta,
                            duration=duration, fromiso=fromiso, fromjson=fromjson)
        self.filters.update(strftime=strftime, isoformat=isoformat, in_tz=in_tz,
                            fromjson=fromjson)
        self.filters["format"] = _printf_filter(self.filters["format"])
        self.filters = {name: _guard_filter(f) for name, f in self.filters.items()}
        self.filters["_jw_iter"] = _guarded_iter
        self.filters["_jw_concat"] = _guarded_concat

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        tick()
        if operator == "*":
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                    raise Limit(f"integer is over the limit of {MAX_INT_BITS} bits")
            else:
                check_repeat(left, right)
                check_repeat(right, left)
        elif operator == "**":
            if (isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
                    and (right > MAX_INT_BITS
                         or left.bit_length() * right > MAX_INT_BITS + right)):
                raise Limit(f"integer is over the limit of {MAX_INT_BITS} bits")
        elif operator == "+":
            if (isinstance(left, str | bytes | list | tuple) and type(left) is type(right)
                    and len(left) + len(right) > MAX_SIZE):
                raise Limit(f"result is over the size limit of {MAX_SIZE:,}")
        elif operator == "%" and isinstance(left, str):
            check_printf(left)
            check_size(right, "formatted value")
        return self.binop_table[operator](left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            check_format(fmt)
            for arg in (*args, *kwargs.values()):
                check_count(arg, "format argument")
                check_size(arg, "formatted value")
            result = wrapped(*args, **kwargs)
            check_len(result)
            return result

        return update_wrapper(checked, wrapped)

    def call(__self, __context: Any, __obj: Any, *args: Any,
             **kwargs: Any) -> Any:
        tick()
        builtin = isinstance(__obj, types.BuiltinMethodType | types.BuiltinFunctionType)
        if builtin:
            for arg in (*args, *kwargs.values()):
                check_count(arg, "argument")
            owner = getattr(__obj, "__self__", None)
            if isinstance(owner, str):
                if __obj.__name__ == "join" and args and isinstance(args[0], list | tuple):
                    joined = weight(args[0], MAX_SIZE) + len(owner) * len(args[0])
                    if joined > MAX_SIZE:
                        raise Limit(f"joined text is over the size limit of {MAX_SIZE:,}")
                elif __obj.__name__ in METHOD_ARGS:
                    names = METHOD_ARGS[__obj.__name__]
                    check_growth(__obj.__name__, owner, {**dict(zip(names, args,
                                                                      strict=False)),
                                                          **kwargs})
        result = super().call(__context, __obj, *args, **kwargs)
        if builtin:
            check_len(result)
        return result

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        return super()._generate(_guard_tree(source), name, filename, defer_init)


# -- the tree guard: loops and ~ go through checked filters ------------------------------

_REFUSED = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


def _guard_tree(node: nodes.Node) -> Any:
    if isinstance(node, _REFUSED):
        kind = type(node).__name__.lower()
        raise Limit(f"'{kind}' is not allowed in jobweave expressions and templates")
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
    tick()
    if isinstance(value, str):
        check_len(value, "printed value")
    elif not isinstance(value, int | float):
        check_size(value, "printed value")
    return value


def _guarded_iter(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        tick()
        yield item


def _guarded_concat(parts: list[Any]) -> str:
    tick()
    check_size(parts, "joined text")
    text = "".join(str(p) for p in parts)
    check_len(text, "joined text")
    return text


def _guard_filter(f: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if getattr(f, "jinja_pass_arg", None) is not None else 1
    growth = FILTER_GROWTH.get(f.__name__)
    signature = inspect.signature(f) if growth else None

    def guarded(*args: Any, **kwargs: Any) -> Any:
        tick()
        # the filtered value may be of any size; the arguments after it may not be huge
        for arg in (*args[skip:], *kwargs.values()):
            check_count(arg, "filter argument")
        if f.__name__ in _STRUCTURE_TO_TEXT:
            for arg in args[:skip]:
                if not isinstance(arg, str) and isinstance(arg, list | tuple | dict):
                    check_size(arg, "filtered value")
        if growth and signature is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the call itself will say what is wrong
            else:
                bound.apply_defaults()
                text = bound.arguments.get("s", bound.arguments.get("value"))
                if isinstance(text, str):
                    check_growth(growth, text, bound.arguments)
        result = f(*args, **kwargs)
        if not isinstance(result, Iterator):
            check_len(result)
        return result

    return update_wrapper(guarded, f)


_STRUCTURE_TO_TEXT = frozenset({"do_join", "sync_do_join", "do_pprint", "do_tojson",
                                "do_string", "do_urlencode", "do_xmlattr", "do_mark_safe",
                                "soft_str", "do_list", "sync_do_list", "do_sum",
                                "sync_do_sum"})


def _printf_filter(f: Callable[..., Any]) -> Callable[..., Any]:
    def format_(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_printf(str(value))
        return f(value, *args, **kwargs)

    return update_wrapper(format_, f)


# -- helpers -------------------------------------------------------------------------------


env = Sandbox()
"""The one environment every expression and template is compiled in."""
GLOBALS = dict(env.globals)
"""The names every evaluation starts with (variables given override them)."""
