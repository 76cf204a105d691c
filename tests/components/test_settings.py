"""Bad settings are definition errors that name the node and the field."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from jobweave.components.node import build, kinds
from jobweave.errors import DefinitionError

RULE = {"field": "v", "operator": "equals", "value": 1, "port": "p"}

BAD = [
    # component, settings, field, words in the message
    ("router", {"rules": {"a": 1}}, "rules", "must be a list of rules"),
    ("router", {"rules": ["x"]}, "rules[0]", "must be a mapping"),
    ("router", {"rules": [RULE, {**RULE, "colour": 1}]}, "rules[1].colour", "unknown key"),
    ("router", {"rules": [{**RULE, "operater": "eq"}]}, "rules[0].operater",
     "; did you mean 'operator'?"),
    ("router", {"rules": [{"expression": "true", "port": "p", "value": 1}]}, "rules[0].value",
     "unknown key (a rule takes: expression, name, port)"),
    ("router", {"rules": [{**RULE, "expression": "true"}]}, "rules[0]", "both field and"),
    ("router", {"rules": [{"field": "v", "operator": "equals", "value": 1}]}, "rules[0].port",
     "is required"),
    ("router", {"rules": [{"port": "p"}]}, "rules[0]", "needs a field"),
    ("router", {"rules": [{**RULE, "port": ""}]}, "rules[0].port", "non-empty text"),
    ("router", {"rules": [{**RULE, "port": 3}]}, "rules[0].port", "non-empty text"),
    ("router", {"rules": [{**RULE, "port": "error"}]}, "rules[0].port", "faults"),
    ("router", {"rules": [{**RULE, "name": 5}]}, "rules[0].name", "non-empty text"),
    ("router", {"rules": [{**RULE, "field": ""}]}, "rules[0].field", "non-empty text"),
    ("router", {"rules": [{**RULE, "field": "a..b"}]}, "rules[0].field", "dotted path"),
    ("router", {"rules": [{**RULE, "field": 1}]}, "rules[0].field", "non-empty text"),
    ("router", {"rules": [{**RULE, "operator": "eq"}]}, "rules[0].operator",
     "must be one of equals, not_equals, gt, lt, in, matches, exists, not 'eq'"),
    ("router", {"rules": [{"field": "v", "port": "p"}]}, "rules[0].operator", "not None"),
    ("router", {"rules": [{**RULE, "operator": "gt"} | {"value": None}]}, "rules[0].value",
     "number or text"),
    ("router", {"rules": [{**RULE, "operator": "lt", "value": [1]}]}, "rules[0].value",
     "number or text"),
    ("router", {"rules": [{**RULE, "operator": "gt", "value": True}]}, "rules[0].value",
     "number or text"),
    ("router", {"rules": [{**RULE, "operator": "in", "value": "abc"}]}, "rules[0].value",
     "in takes a list"),
    ("router", {"rules": [{**RULE, "operator": "matches", "value": 3}]}, "rules[0].value",
     "regular expression (text)"),
    ("router", {"rules": [{**RULE, "operator": "matches", "value": "(a"}]}, "rules[0].value",
     "bad regular expression"),
    ("router", {"rules": [{**RULE, "operator": "matches", "value": "a" * 1001}]},
     "rules[0].value", "longer than 1000"),
    ("router", {"rules": [{**RULE, "operator": "exists", "value": "yes"}]}, "rules[0].value",
     "true or false"),
    ("router", {"rules": [{"field": "v", "operator": "equals", "port": "p"}]},
     "rules[0].value", "is required with equals"),
    ("router", {"rules": [{**RULE, "value": {1, 2}}]}, "rules[0].value", "JSON value"),
    ("router", {"rules": [{"expression": "msg.v >", "port": "p"}]}, "rules[0].expression",
     "unexpected"),
    ("router", {"rules": [{"expression": "", "port": "p"}]}, "rules[0].expression",
     "non-empty text"),
    ("router", {"default": "error"}, "default", "faults"),
    ("router", {"default": ["x"]}, "default", "non-empty text"),
    ("router", {"rule": []}, "rule", "unknown setting (a router takes: default, rules)"),
    ("iterator", {"batch_size": 0}, "batch_size", "whole number >= 1, not 0"),
    ("iterator", {"batch_size": -2}, "batch_size", ">= 1"),
    ("iterator", {"batch_size": 2.5}, "batch_size", ">= 1"),
    ("iterator", {"batch_size": "2"}, "batch_size", ">= 1"),
    ("iterator", {"batch_size": True}, "batch_size", ">= 1"),
    ("iterator", {"emit_index": "yes"}, "emit_index", "true or false"),
    ("iterator", {"emit_progress": 1}, "emit_progress", "true or false"),
    ("iterator", {"continue_on_error": None}, "continue_on_error", "true or false"),
    ("iterator", {"array_field": ""}, "array_field", "non-empty text"),
    ("iterator", {"array_field": "a."}, "array_field", "dotted path"),
    ("iterator", {"batchSize": 2}, "batchSize",
     "unknown setting (an iterator takes: array_field, batch_size, continue_on_error, "
     "emit_index, emit_progress); did you mean 'batch_size'?"),
    ("log", {"levle": "info"}, "levle", "unknown setting (a log takes: level); did you mean "
     "'level'?"),
    ("barrier", {"grouping": "tuples"}, "grouping", "must be tuple or all, not 'tuples'"),
    ("barrier", {"output": "many"}, "output", "must be single or all"),
    ("barrier", {"criteria": "AND"}, "criteria", "must be and, or, {at_least: N}"),
    ("barrier", {"criteria": {"at_least": 0}}, "criteria.at_least", ">= 1, not 0"),
    ("barrier", {"criteria": {"at_least": 1.5}}, "criteria.at_least", ">= 1"),
    ("barrier", {"criteria": {"at_least": True}}, "criteria.at_least", ">= 1"),
    ("barrier", {"criteria": {"ratio": 0}}, "criteria.ratio", "above 0 and at most 1"),
    ("barrier", {"criteria": {"ratio": 1.01}}, "criteria.ratio", "at most 1"),
    ("barrier", {"criteria": {"ratio": -0.5}}, "criteria.ratio", "at most 1"),
    ("barrier", {"criteria": {"ratio": "0.5"}}, "criteria.ratio", "at most 1"),
    ("barrier", {"criteria": {"ratio": float("nan")}}, "criteria.ratio", "at most 1"),
    ("barrier", {"criteria": {"ratio": 0.5, "at_least": 1}}, "criteria", "must be and"),
    ("barrier", {"criteria": {"quorum": 2}}, "criteria", "must be and"),
    ("barrier", {"criteria": ["and"]}, "criteria", "must be and"),
    ("barrier", {"evaluate": "msg.status =="}, "evaluate", "unexpected"),
    ("barrier", {"evaluate": 3}, "evaluate", "non-empty text"),
    ("barrier", {"timeout": 3}, "timeout", "unknown setting"),
    ("ticker", {}, "interval", "exactly one of interval and cron"),
    ("ticker", {"interval": 1, "cron": "@hourly"}, "interval", "not both"),
    ("ticker", {"interval": 0}, "interval", "more than 0"),
    ("ticker", {"interval": "0s"}, "interval", "more than 0"),
    ("ticker", {"interval": -1}, "interval", "negative"),
    ("ticker", {"interval": "soon"}, "interval", "bad duration 'soon'"),
    ("ticker", {"interval": True}, "interval", "a duration must be"),
    ("ticker", {"interval": 1, "tz": "UTC"}, "tz", "cron only"),
    ("ticker", {"cron": "* * *"}, "cron", "must have 5 fields"),
    ("ticker", {"cron": 5}, "cron", "must be text"),
    ("ticker", {"cron": "@daily", "tz": "Mars/Base"}, "tz", "unknown time zone"),
    ("ticker", {"interval": 1, "emit_on_start": "no"}, "emit_on_start", "true or false"),
    ("ticker", {"interval": 1, "max_emissions": -1}, "max_emissions", ">= 0"),
    ("ticker", {"interval": 1, "max_emissions": 1.0}, "max_emissions", ">= 0"),
    ("ticker", {"interval": 1, "payload": {"at": object()}}, "payload", "JSON value"),
    ("ticker", {"interval": 1, "payload": float("inf")}, "payload", "JSON value"),
    ("ticker", {"interval": 1, "emitOnStart": True}, "emitOnStart", "unknown setting"),
    ("log", {"level": "loud"}, "level", "must be debug"),
    ("modify", {"x": 1}, "x", "unknown setting (a modify takes: none)"),
]


@pytest.mark.parametrize(("kind", "settings", "field", "words"), BAD,
                         ids=[f"{k}-{f}-{i}" for i, (k, _, f, _) in enumerate(BAD)])
def test_a_bad_setting_names_the_node_and_the_field(kind: str, settings: dict[str, Any],
                                                   field: str, words: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        build(kind, "n1", settings)
    assert caught.value.field == f"node 'n1': settings.{field}"
    assert words in caught.value.message


@pytest.mark.parametrize(("kind", "settings"), [
    ("router", {}),
    ("router", {"rules": [RULE, {"expression": "msg.v == 2", "port": "q", "name": "two"}],
                "default": "rest"}),
    ("router", {"rules": [{"field": "v", "operator": "exists", "port": "p"}]}),
    ("router", {"rules": [{**RULE, "operator": "matches", "value": "a" * 1000}]}),
    ("router", {"rules": [{**RULE, "operator": "in", "value": []}]}),
    ("iterator", {"array_field": "items", "batch_size": 10, "emit_index": True,
                  "emit_progress": True, "continue_on_error": True}),
    ("barrier", {"grouping": "tuple", "criteria": {"ratio": 1}, "output": "all",
                 "evaluate": "msg.ok"}),
    ("barrier", {"criteria": {"at_least": 5}}),
    ("barrier", {"criteria": "or"}),
    ("ticker", {"interval": "1h", "emit_on_start": False, "max_emissions": 0,
                "payload": {"sync": "full", "start": None}}),
    ("ticker", {"cron": "@hourly", "tz": "Europe/Warsaw", "payload": [1, "two"]}),
])
def test_good_settings_build(kind: str, settings: dict[str, Any]) -> None:
    assert build(kind, "n1", settings).kind == kind


def test_the_registry_knows_every_builtin() -> None:
    assert set(kinds()) >= {"modify", "log", "router", "iterator", "barrier", "ticker"}


def test_importing_one_component_first_does_not_hide_the_others() -> None:
    code = ("import jobweave.components.barrier\n"
            "from jobweave.components.node import build\n"
            "print(build('router', 'r', {}).kind)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "router"), done.stderr
