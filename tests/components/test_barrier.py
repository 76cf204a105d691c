"""The barrier table: every grouping × criteria × output, both output ports, tokens in
interleaved orders. Expected outcomes are written out by hand, not computed."""

from __future__ import annotations

from typing import Any

import pytest

from jobweave.components.barrier import Barrier
from jobweave.components.node import Emitted, Group, build

ENV: dict[str, Any] = {"input": {}, "secrets": {}}


def barrier(ports: tuple[str, ...] = ("0", "1", "2"), **settings: Any) -> Barrier:
    settings.setdefault("grouping", "all")  # the tests of tuple grouping say so
    node = build("barrier", "wait", settings)
    assert isinstance(node, Barrier)
    node.connect(ports)
    return node


def run(node: Barrier, arrivals: list[tuple[str, Any]]) -> tuple[list[Emitted], list[int]]:
    """Feed the tokens, then close everything; the groups' emissions, and for each group
    the position in ``arrivals`` of the token that closed it (-1: closed by close())."""
    state = node.new_state()
    emitted, closed_by = [], []
    for i, (port, msg) in enumerate(arrivals):
        for group in state.receive(port, msg):
            emitted.append(node.fire_group(group, ENV))
            closed_by.append(i)
    for group in state.close(frozenset()):
        emitted.append(node.fire_group(group, ENV))
        closed_by.append(-1)
    return emitted, closed_by


def tok(name: str, status: str) -> dict[str, Any]:
    return {"name": name, "status": status, "from_" + name[0]: name}


OK, BAD = "completed", "failed"

# -- grouping: all ---------------------------------------------------------------------
# Four tokens on three ports, 3 succeeded, the one on port 0 that came second failed.
# Port order, then arrival: a (port 0, failed), d (port 0), b (port 1), c (port 2).
A, B, C, D = tok("a", BAD), tok("b", OK), tok("c", OK), tok("d", OK)
MIXED = [("1", B), ("0", A), ("2", C), ("0", D)]
MIXED_MERGED = {"name": "c", "status": OK, "from_a": "a", "from_b": "b", "from_c": "c",
                "from_d": "d"}
# Two tokens, both failed: e (port 0), f (port 1, arrived first).
E, F = tok("e", BAD), tok("f", "cancelled")
NONE_OK = [("1", F), ("0", E)]
NONE_OK_MERGED = {"name": "f", "status": "cancelled", "from_e": "e", "from_f": "f"}
# Two tokens, both succeeded.
G, H = tok("g", OK), tok("h", OK)
ALL_OK = [("2", H), ("0", G)]
ALL_OK_MERGED = {"name": "h", "status": OK, "from_g": "g", "from_h": "h"}

SCENARIOS = {
    "mixed": (MIXED, [A, D, B, C], MIXED_MERGED, [{"port": "0", "msg": A}]),
    "none_ok": (NONE_OK, [E, F], NONE_OK_MERGED,
                [{"port": "0", "msg": E}, {"port": "1", "msg": F}]),
    "all_ok": (ALL_OK, [G, H], ALL_OK_MERGED, []),
}

ALL_TABLE = [
    # criteria,           scenario,   port the group goes to
    ("and",               "mixed",    "1"),
    ("and",               "all_ok",   "0"),
    ("and",               "none_ok",  "1"),
    ("or",                "mixed",    "0"),
    ("or",                "all_ok",   "0"),
    ("or",                "none_ok",  "1"),
    ({"at_least": 3},     "mixed",    "0"),
    ({"at_least": 4},     "mixed",    "1"),
    ({"at_least": 1},     "none_ok",  "1"),
    ({"at_least": 2},     "all_ok",   "0"),
    ({"at_least": 3},     "all_ok",   "1"),
    ({"ratio": 0.75},     "mixed",    "0"),
    ({"ratio": 0.8},      "mixed",    "1"),
    ({"ratio": 1},        "mixed",    "1"),
    ({"ratio": 1},        "all_ok",   "0"),
    ({"ratio": 0.5},      "none_ok",  "1"),
]


@pytest.mark.parametrize(("criteria", "scenario", "port"), ALL_TABLE)
def test_grouping_all_output_single(criteria: Any, scenario: str, port: str) -> None:
    arrivals, _, merged, failed = SCENARIOS[scenario]
    emitted, closed_by = run(barrier(criteria=criteria), arrivals)
    expected = merged if port == "0" else {**merged, "failed": failed}
    assert emitted == [[(port, expected)]]
    assert closed_by == [-1]  # only closing the ports closes an `all` group


@pytest.mark.parametrize(("criteria", "scenario", "port"), ALL_TABLE)
def test_grouping_all_output_all(criteria: Any, scenario: str, port: str) -> None:
    arrivals, in_port_order, _, _ = SCENARIOS[scenario]
    emitted, _ = run(barrier(criteria=criteria, output="all", grouping="all"), arrivals)
    assert emitted == [[(port, msg) for msg in in_port_order]]


# -- grouping: tuple -------------------------------------------------------------------
# Group k is the k-th token of each port; "s"/"x" = succeeded/failed.
#   group 0: 0:s 1:s 2:s      (3 of 3)
#   group 1: 0:x 1:s 2:s      (2 of 3)
#   group 2: 0:x 1:x 2:x      (0 of 3)
#   group 3: 0:s      2:x     (1 of 2: port 1 never sends a fourth token)
def wave(port: str, k: int, status: str) -> tuple[str, dict[str, Any]]:
    return port, {"job": f"{port}/{k}", "status": status}


INTERLEAVED = [
    wave("2", 0, OK), wave("0", 0, OK), wave("0", 1, BAD), wave("0", 2, BAD),
    wave("2", 1, OK), wave("1", 0, OK), wave("1", 1, OK), wave("2", 2, BAD),
    wave("0", 3, OK), wave("1", 2, BAD), wave("2", 3, BAD),
]
CLOSED_BY = [5, 6, 9, -1]  # the arrival that completed each group; group 3 by close()
PORT_BY_PORT = [  # each port sends everything before the next one starts
    wave("0", 0, OK), wave("0", 1, BAD), wave("0", 2, BAD), wave("0", 3, OK),
    wave("1", 0, OK), wave("1", 1, OK), wave("1", 2, BAD),
    wave("2", 0, OK), wave("2", 1, OK), wave("2", 2, BAD), wave("2", 3, BAD),
]
WAVE_BY_WAVE = [
    wave("1", 0, OK), wave("2", 0, OK), wave("0", 0, OK),
    wave("2", 1, OK), wave("0", 1, BAD), wave("1", 1, OK),
    wave("0", 2, BAD), wave("1", 2, BAD), wave("2", 2, BAD),
    wave("2", 3, BAD), wave("0", 3, OK),
]
ORDERS = {"interleaved": (INTERLEAVED, CLOSED_BY), "port_by_port": (PORT_BY_PORT, [7, 8, 9, -1]),
          "wave_by_wave": (WAVE_BY_WAVE, [2, 5, 8, -1])}
# merged single token of each group: port 2's fields win (last in port order)
TUPLE_MERGED = [{"job": "2/0", "status": OK}, {"job": "2/1", "status": OK},
                {"job": "2/2", "status": BAD}, {"job": "2/3", "status": BAD}]
TUPLE_FAILED = [
    [],
    [{"port": "0", "msg": {"job": "0/1", "status": BAD}}],
    [{"port": "0", "msg": {"job": "0/2", "status": BAD}},
     {"port": "1", "msg": {"job": "1/2", "status": BAD}},
     {"port": "2", "msg": {"job": "2/2", "status": BAD}}],
    [{"port": "2", "msg": {"job": "2/3", "status": BAD}}],
]
TUPLE_TOKENS = [  # output all: each group's tokens in port order
    [{"job": "0/0", "status": OK}, {"job": "1/0", "status": OK}, {"job": "2/0", "status": OK}],
    [{"job": "0/1", "status": BAD}, {"job": "1/1", "status": OK}, {"job": "2/1", "status": OK}],
    [{"job": "0/2", "status": BAD}, {"job": "1/2", "status": BAD},
     {"job": "2/2", "status": BAD}],
    [{"job": "0/3", "status": OK}, {"job": "2/3", "status": BAD}],
]
TUPLE_TABLE = [
    # criteria,          port of groups 0, 1, 2, 3
    ("and",              ["0", "1", "1", "1"]),
    ("or",               ["0", "0", "1", "0"]),
    ({"at_least": 1},    ["0", "0", "1", "0"]),
    ({"at_least": 2},    ["0", "0", "1", "1"]),
    ({"at_least": 3},    ["0", "1", "1", "1"]),
    ({"ratio": 0.5},     ["0", "0", "1", "0"]),
    ({"ratio": 0.6},     ["0", "0", "1", "1"]),
    ({"ratio": 0.67},    ["0", "1", "1", "1"]),
    ({"ratio": 1.0},     ["0", "1", "1", "1"]),
]


@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize(("criteria", "ports"), TUPLE_TABLE)
def test_grouping_tuple_output_single(criteria: Any, ports: list[str], order: str) -> None:
    arrivals, closed = ORDERS[order]
    emitted, closed_by = run(barrier(grouping="tuple", criteria=criteria), arrivals)
    expected = [[(p, TUPLE_MERGED[k] if p == "0" else
                  {**TUPLE_MERGED[k], "failed": TUPLE_FAILED[k]})]
                for k, p in enumerate(ports)]
    assert emitted == expected
    assert closed_by == closed


@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize(("criteria", "ports"), TUPLE_TABLE)
def test_grouping_tuple_output_all(criteria: Any, ports: list[str], order: str) -> None:
    arrivals, closed = ORDERS[order]
    emitted, closed_by = run(barrier(grouping="tuple", criteria=criteria, output="all"),
                             arrivals)
    assert emitted == [[(p, msg) for msg in TUPLE_TOKENS[k]] for k, p in enumerate(ports)]
    assert closed_by == closed


def test_the_defaults_are_all_and_single_and_status_completed() -> None:
    node = barrier(("0", "1"))
    emitted, _ = run(node, [("0", {"status": "completed"}), ("1", {"status": "completed"})])
    assert emitted == [[("0", {"status": "completed"})]]
    assert (node.grouping, node.output) == ("all", "single")


# -- evaluating tokens -----------------------------------------------------------------
def test_a_token_that_cannot_be_evaluated_fails_and_says_why() -> None:
    emitted, _ = run(barrier(("0", "1")), [("0", {"status": OK, "n": 1}), ("1", {"n": 2})])
    [[(port, msg)]] = emitted
    assert port == "1"
    assert msg["n"] == 2 and msg["status"] == OK
    [failure] = msg["failed"]
    assert failure["port"] == "1" and failure["msg"] == {"n": 2}
    assert "status" in failure["error"]


def test_tokens_that_are_not_mappings_give_no_fields_but_are_listed_when_they_fail() -> None:
    emitted, _ = run(barrier(("0", "1"), evaluate="msg is mapping"),
                     [("1", 7), ("0", {"a": 1}), ("1", "text")])
    assert emitted == [[("1", {"a": 1, "failed": [{"port": "1", "msg": 7},
                                                  {"port": "1", "msg": "text"}]})]]


def test_evaluate_sees_the_port_and_the_run_input() -> None:
    node = barrier(("0", "1"), evaluate="msg.code < input.limit or port == '1'")
    state = node.new_state()
    state.receive("0", {"code": 5})
    state.receive("1", {"code": 99})
    [group] = state.close(frozenset())
    assert node.fire_group(group, {"input": {"limit": 10}, "secrets": {}})[0][0] == "0"
    assert node.fire_group(group, {"input": {"limit": 3}, "secrets": {}})[0][0] == "1"


def test_ports_merge_in_numeric_order_not_text_order() -> None:
    emitted, _ = run(barrier(("10", "2")), [("10", {"status": OK, "v": "ten"}),
                                            ("2", {"status": OK, "v": "two"})])
    assert emitted == [[("0", {"status": OK, "v": "ten"})]]


def test_a_failed_groups_failed_field_replaces_a_tokens_own() -> None:
    emitted, _ = run(barrier(("0",)), [("0", {"status": BAD, "failed": "mine"})])
    assert emitted == [[("1", {"status": BAD, "failed": [
        {"port": "0", "msg": {"status": BAD, "failed": "mine"}}]})]]


def test_firing_a_group_again_gives_the_same_tokens() -> None:
    node = barrier(("0", "1"), output="single")
    group = Group(0, [("1", {"status": BAD}), ("0", {"status": OK})])
    assert node.fire_group(group, ENV) == node.fire_group(group, ENV)


@pytest.mark.parametrize("criteria", ["and", "or", {"at_least": 1}, {"ratio": 0.5}])
def test_an_empty_group_emits_nothing(criteria: Any) -> None:
    assert barrier(criteria=criteria).fire_group(Group(0, []), ENV) == []


def test_the_defaults_are_cloveretls() -> None:
    node = build("barrier", "wait", {})
    assert isinstance(node, Barrier)
    assert (node.grouping, node.settings.get("criteria", "and"),
            node.settings.get("output", "single")) == ("tuple", "and", "single")
