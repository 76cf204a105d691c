"""``router``: sends each message on to the port of the first rule it matches.

Settings:

- ``rules``: an ordered list; each rule is either ``{field, operator, value, port}`` or
  ``{expression, port}``, with an optional ``name`` (a label). The first rule that
  matches wins: the message goes, unchanged, to that rule's ``port``.
- ``default``: the port for a message that matches no rule. Without it such a message is
  dropped (the firing emits nothing).

``field`` is a dotted path into the message (``meta.has_more``, ``items.0.id``: a part
is a mapping key or a list index from 0). Operators:

=============  ==============================================================
``equals``     the field equals ``value`` (JSON equality: ``true`` is not ``1``)
``not_equals`` the opposite of ``equals``: also true when the field is missing
``gt``/``lt``  the field is greater/less than ``value`` (numbers, or text)
``in``         the field equals one of the items of ``value`` (a list)
``matches``    the field is text in which the regular expression ``value`` is
               found (``re.search``: anchor it with ``^``/``$`` to match it whole)
``exists``     the field is present (even as null); ``value: false`` inverts it
=============  ==============================================================

A missing field matches nothing but ``not_equals`` and ``exists: false``.

``gt``, ``lt`` and ``matches`` refuse to guess: comparing values of different types (a
number with text, null with a number) or matching a regular expression against anything
but text raises :class:`~jobweave.errors.ComponentError`, which the runtime sends to the
node's ``error`` port. A wrong type in a message is a bug upstream that should be seen,
not routed somewhere quietly. An ``expression`` rule matches when its value is truthy;
it sees ``msg``, ``input`` and ``secrets``, and a failure is a ``ComponentError`` too.

Ports: in ``in``; out: every rule's port and the default, in the order they are named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jobweave.components import checks
from jobweave.components.node import Component, Emitted, register
from jobweave.components.values import (
    MISSING,
    greater,
    lookup,
    orderable,
    same,
    shown,
    split_path,
)
from jobweave.errors import ComponentError, did_you_mean
from jobweave.expr import Expression

MAX_PATTERN = 1000
"""The longest regular expression ``matches`` accepts, in characters."""
OPERATORS = ("equals", "not_equals", "gt", "lt", "in", "matches", "exists")
_FIELD_KEYS = frozenset({"field", "operator", "value", "port", "name"})
_EXPRESSION_KEYS = frozenset({"expression", "port", "name"})

Test = Callable[[Any, Mapping[str, Any]], bool]
"""A compiled rule's test: (message, env) -> matches."""


@register("router")
class Router(Component):
    """Routes each message to the port of the first matching rule (module doc)."""

    settings_names = frozenset({"rules", "default"})

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        rules = self.settings.get("rules", [])
        if not isinstance(rules, list):
            raise self.error("rules", f"must be a list of rules, not {rules!r}")
        self.rules: list[tuple[Test, str]] = [self._rule(i, r) for i, r in enumerate(rules)]
        default = self.settings.get("default")
        self.default = None if default is None else checks.port_name(self, "default", default)

    def out_ports(self) -> tuple[str, ...]:
        ports = [port for _, port in self.rules]
        if self.default is not None:
            ports.append(self.default)
        return tuple(dict.fromkeys(ports))

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        for test, port in self.rules:
            if test(msg, env):
                return [(port, msg)]
        return [] if self.default is None else [(self.default, msg)]

    # -- compiling the rules ----------------------------------------------------------
    def _rule(self, i: int, rule: Any) -> tuple[Test, str]:
        at = f"rules[{i}]"
        if not isinstance(rule, Mapping):
            raise self.error(at, "must be a mapping with field, operator, value and port, "
                                 f"or expression and port; not {rule!r}")
        if "field" in rule and "expression" in rule:
            raise self.error(at, "has both field and expression: give one")
        keys = _EXPRESSION_KEYS if "expression" in rule else _FIELD_KEYS
        unknown = sorted(set(rule) - keys)
        if unknown:
            raise self.error(f"{at}.{unknown[0]}", f"unknown key (a rule takes: "
                             f"{', '.join(sorted(keys))}){did_you_mean(unknown[0], keys)}")
        if "port" not in rule:
            raise self.error(f"{at}.port", "is required: the port a matching message goes to")
        port = checks.port_name(self, f"{at}.port", rule["port"])
        if "name" in rule:
            checks.text(self, f"{at}.name", rule["name"])
        if "expression" in rule:
            return _expression_test(checks.expression(self, f"{at}.expression",
                                                      rule["expression"])), port
        if "field" not in rule:
            raise self.error(at, "needs a field (with an operator) or an expression")
        return self._field_test(at, rule), port

    def _field_test(self, at: str, rule: Mapping[str, Any]) -> Test:
        path = split_path(checks.text(self, f"{at}.field", rule["field"]))
        if path is None:
            raise self.error(f"{at}.field", f"{rule['field']!r} is not a dotted path like "
                                            "'meta.has_more' or 'items.0.id'")
        operator = rule.get("operator")
        if operator not in OPERATORS:
            raise self.error(f"{at}.operator", f"must be one of {', '.join(OPERATORS)}, "
                                               f"not {operator!r}")
        if operator == "exists":
            wanted = rule.get("value", True)
            if not isinstance(wanted, bool):
                raise self.error(f"{at}.value", f"exists takes true or false, not {wanted!r}")
            return lambda msg, env: (lookup(msg, path) is not MISSING) == wanted
        if "value" not in rule:
            raise self.error(f"{at}.value", f"is required with {operator}")
        value = checks.json_value(self, f"{at}.value", rule["value"])
        return self._compare(at, path, str(operator), value)

    def _compare(self, at: str, path: tuple[str, ...], operator: str, value: Any) -> Test:
        if operator in ("equals", "not_equals"):
            negate = operator == "not_equals"
            return lambda msg, env: same(lookup(msg, path), value) != negate
        if operator == "in":
            if not isinstance(value, list):
                raise self.error(f"{at}.value", f"in takes a list, not {value!r}")
            return lambda msg, env: _present(lookup(msg, path), lambda v: any(
                same(v, item) for item in value))
        if operator in ("gt", "lt"):
            if not orderable(value):
                raise self.error(f"{at}.value", f"{operator} compares with a number or "
                                                f"text, not {value!r}")
            return _order_test(at, path, operator, value)
        return _pattern_test(self, at, path, value)


def _present(found: Any, test: Callable[[Any], bool]) -> bool:
    return found is not MISSING and test(found)


def _order_test(at: str, path: tuple[str, ...], operator: str, value: Any) -> Test:
    def test(msg: Any, env: Mapping[str, Any]) -> bool:
        found = lookup(msg, path)
        if found is MISSING:
            return False
        try:
            return greater(found, value) if operator == "gt" else greater(value, found)
        except ComponentError as exc:
            raise ComponentError(f"{at}: {'.'.join(path)} {operator} {value!r}: {exc}") \
                from None

    return test


def _expression_test(expr: Expression) -> Test:
    return lambda msg, env: bool(checks.evaluate(expr, msg, env))


def _pattern_test(router: Router, at: str, path: tuple[str, ...], value: Any) -> Test:
    if not isinstance(value, str):
        raise router.error(f"{at}.value", f"matches takes a regular expression (text), "
                                          f"not {value!r}")
    if len(value) > MAX_PATTERN:
        raise router.error(f"{at}.value", f"the regular expression is longer than "
                                          f"{MAX_PATTERN} characters")
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise router.error(f"{at}.value", f"bad regular expression: {exc}") from None

    def test(msg: Any, env: Mapping[str, Any]) -> bool:
        found = lookup(msg, path)
        if found is MISSING:
            return False
        if not isinstance(found, str):
            raise ComponentError(f"{at}: {'.'.join(path)} matches needs text, not "
                                 f"{checks.kind_name(found)} {shown(found)}")
        return pattern.search(found) is not None

    return test
