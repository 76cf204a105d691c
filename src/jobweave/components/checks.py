"""Settings checks shared by the graph components: each raises the component's
definition error naming the field (``node 'route': settings.rules[0].port: ...``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jobweave.components.node import ERROR, Component
from jobweave.errors import ComponentError, ExpressionError
from jobweave.expr import Expression, compile_expression


def kind_name(value: Any) -> str:
    """How a value's JSON type is named in messages: ``text``, ``number``, ``list``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return type(value).__name__


def flag(component: Component, name: str, default: bool) -> bool:
    """A true/false setting."""
    value = component.settings.get(name, default)
    if not isinstance(value, bool):
        raise component.error(name, f"must be true or false, not {value!r}")
    return value


def whole(component: Component, name: str, default: int, minimum: int) -> int:
    """A whole-number setting of at least ``minimum``."""
    value = component.settings.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise component.error(name, f"must be a whole number >= {minimum}, not {value!r}")
    return value


def text(component: Component, field: str, value: Any) -> str:
    """A non-empty text setting (``field`` as it is named in errors)."""
    if not isinstance(value, str) or not value.strip():
        raise component.error(field, f"must be non-empty text, not {value!r}")
    return value


def port_name(component: Component, field: str, value: Any) -> str:
    """An output port name: non-empty text other than ``error`` (every node has that one)."""
    name = text(component, field, value)
    if name == ERROR:
        raise component.error(field, "'error' is the port every node sends its faults to; "
                                     "choose another name")
    return name


def json_value(component: Component, field: str, value: Any) -> Any:
    """A setting that must be a JSON value (messages are JSON)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise component.error(field, f"must be a JSON value: {exc}") from None
    return value


def expression(component: Component, field: str, value: Any) -> Expression:
    """An expression setting, compiled now: a bad one is a definition error."""
    source = text(component, field, value)
    try:
        return compile_expression(source, field=f"node {component.node!r}: settings.{field}")
    except ExpressionError as exc:
        raise component.error(field, exc.message) from None


def evaluate(expr: Expression, msg: Any, env: Mapping[str, Any], **more: Any) -> Any:
    """An expression's value for a message: variables ``msg``, the run's ``input`` and
    ``secrets`` (from ``env``), and ``more``. A failure is a :class:`ComponentError`."""
    try:
        return expr.evaluate({**env, **more, "msg": msg})
    except ExpressionError as exc:
        raise ComponentError(str(exc)) from None
