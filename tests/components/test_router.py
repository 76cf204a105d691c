"""The router: operators, dotted paths, first match wins, default port, and the errors
it raises for values it cannot compare."""

from __future__ import annotations

from typing import Any

import pytest

from jobweave.components.node import Component, build
from jobweave.errors import ComponentError

ENV: dict[str, Any] = {"input": {"limit": 10}, "secrets": {"token": "s3"}}


def router(*rules: dict[str, Any], default: str | None = "other") -> Component:
    settings: dict[str, Any] = {"rules": list(rules)}
    if default is not None:
        settings["default"] = default
    return build("router", "route", settings)


NO_VALUE = object()


def one(operator: str, value: Any = NO_VALUE, field: str = "v") -> Component:
    rule = {"field": field, "operator": operator, "port": "yes"}
    if value is not NO_VALUE:
        rule["value"] = value
    return router(rule, default="no")


MSG = {"v": 3, "s": "abc", "b": True, "n": None, "meta": {"has_more": True},
       "items": [{"id": 7}, {"id": 8}], "f": 2.0, "l": [1, 2]}


@pytest.mark.parametrize(("operator", "field", "value", "port"), [
    ("equals", "v", 3, "yes"),
    ("equals", "v", 3.0, "yes"),
    ("equals", "v", "3", "no"),
    ("equals", "b", True, "yes"),
    ("equals", "b", 1, "no"),           # true is not 1
    ("equals", "v", True, "no"),
    ("equals", "f", 2, "yes"),
    ("equals", "n", None, "yes"),
    ("equals", "l", [1, 2], "yes"),
    ("equals", "l", [1, True], "no"),
    ("equals", "meta", {"has_more": True}, "yes"),
    ("equals", "missing", None, "no"),  # missing is not null
    ("equals", "meta.has_more", True, "yes"),
    ("equals", "items.1.id", 8, "yes"),
    ("equals", "items.2.id", 8, "no"),
    ("equals", "items.x", 8, "no"),
    ("equals", "v.deeper", 3, "no"),
    ("not_equals", "v", 4, "yes"),
    ("not_equals", "v", 3, "no"),
    ("not_equals", "b", 1, "yes"),
    ("not_equals", "missing", 3, "yes"),  # the opposite of equals
    ("gt", "v", 2, "yes"),
    ("gt", "v", 3, "no"),
    ("gt", "f", 1.5, "yes"),
    ("gt", "s", "abb", "yes"),
    ("gt", "s", "b", "no"),
    ("gt", "missing", 1, "no"),
    ("lt", "v", 4, "yes"),
    ("lt", "v", 3, "no"),
    ("lt", "s", "b", "yes"),
    ("lt", "missing", 1, "no"),
    ("in", "v", [1, 3], "yes"),
    ("in", "v", [1, 2], "no"),
    ("in", "b", [1], "no"),
    ("in", "s", ["abc", "x"], "yes"),
    ("in", "missing", [None], "no"),
    ("in", "v", [], "no"),
    ("matches", "s", "b", "yes"),       # search, not a whole match
    ("matches", "s", "^b", "no"),
    ("matches", "s", "^a.c$", "yes"),
    ("matches", "missing", ".*", "no"),
    ("exists", "n", NO_VALUE, "yes"),       # present, even as null
    ("exists", "missing", NO_VALUE, "no"),
    ("exists", "items.0.id", NO_VALUE, "yes"),
    ("exists", "meta.nope", NO_VALUE, "no"),
    ("exists", "missing", False, "yes"),
    ("exists", "v", False, "no"),
])
def test_operators(operator: str, field: str, value: Any, port: str) -> None:
    assert one(operator, value, field).fire(MSG, ENV) == [(port, MSG)]


@pytest.mark.parametrize(("operator", "field", "value", "message"), [
    ("gt", "s", 1, "rules[0]: s gt 1: cannot compare 'abc' with 1"),
    ("lt", "v", "x", "cannot compare"),
    ("gt", "n", 0, "cannot compare None with 0"),
    ("gt", "b", 0, "cannot compare True with 0"),   # true/false are not numbers
    ("lt", "l", 5, "cannot compare"),
    ("matches", "v", "3", "rules[0]: v matches needs text, not number 3"),
    ("matches", "n", ".", "not null"),
])
def test_values_of_other_types_are_an_error_not_a_quiet_miss(
        operator: str, field: str, value: Any, message: str) -> None:
    with pytest.raises(ComponentError, match=message.replace("(", r"\(").replace("[", r"\[")):
        one(operator, value, field).fire(MSG, ENV)


def test_a_message_that_is_not_a_mapping_has_no_fields() -> None:
    node = one("exists", NO_VALUE, "v")
    assert node.fire([1, 2], ENV) == [("no", [1, 2])]
    assert node.fire("text", ENV) == [("no", "text")]
    assert one("equals", 2, "1").fire([1, 2], ENV) == [("yes", [1, 2])]


def test_the_first_matching_rule_wins() -> None:
    node = router({"field": "v", "operator": "gt", "value": 1, "port": "first"},
                  {"field": "v", "operator": "gt", "value": 0, "port": "second"},
                  {"field": "v", "operator": "gt", "value": 100, "port": "third"})
    assert node.fire({"v": 5}, ENV) == [("first", {"v": 5})]
    assert node.fire({"v": 0.5}, ENV) == [("second", {"v": 0.5})]
    assert node.fire({"v": 0}, ENV) == [("other", {"v": 0})]


def test_a_later_rule_is_not_evaluated_once_one_matched() -> None:
    node = router({"field": "v", "operator": "exists", "port": "first"},
                  {"field": "v", "operator": "gt", "value": 1, "port": "second"})
    assert node.fire({"v": "text"}, ENV) == [("first", {"v": "text"})]


def test_without_a_default_a_message_that_matches_nothing_is_dropped() -> None:
    node = router({"field": "v", "operator": "equals", "value": 1, "port": "one"},
                  default=None)
    assert node.fire({"v": 2}, ENV) == []
    assert node.fire({"v": 1}, ENV) == [("one", {"v": 1})]
    assert node.out_ports() == ("one",)


def test_no_rules_sends_everything_to_the_default() -> None:
    assert router().fire({"x": 1}, ENV) == [("other", {"x": 1})]
    assert router().out_ports() == ("other",)


def test_out_ports_are_the_rule_ports_then_the_default_each_once() -> None:
    node = router({"field": "a", "operator": "exists", "port": "p"},
                  {"field": "b", "operator": "exists", "port": "q"},
                  {"field": "c", "operator": "exists", "port": "p"}, default="q")
    assert node.out_ports() == ("p", "q")
    assert node.in_ports() == ("in",)


def test_expression_rules_see_msg_input_and_secrets() -> None:
    node = router({"expression": "msg.v > input.limit", "port": "big", "name": "big ones"},
                  {"expression": "secrets.token == 's3' and msg.v is odd", "port": "odd"})
    assert node.fire({"v": 11}, ENV) == [("big", {"v": 11})]
    assert node.fire({"v": 3}, ENV) == [("odd", {"v": 3})]
    assert node.fire({"v": 4}, ENV) == [("other", {"v": 4})]


def test_an_expression_that_fails_is_a_component_error_naming_the_rule() -> None:
    node = router({"expression": "msg.v > 1", "port": "big"})
    with pytest.raises(ComponentError, match=r"rules\[0\]\.expression: .*'v'"):
        node.fire({"w": 1}, ENV)


def test_an_expression_rule_can_test_for_a_missing_field() -> None:
    node = router({"expression": "msg.v is defined and msg.v > 1", "port": "big"})
    assert node.fire({"w": 1}, ENV) == [("other", {"w": 1})]


def test_the_message_is_passed_on_unchanged_and_not_copied() -> None:
    msg = {"v": 1, "deep": {"x": [1]}}
    [(_, out)] = one("equals", 1).fire(msg, ENV)
    assert out is msg and msg == {"v": 1, "deep": {"x": [1]}}
