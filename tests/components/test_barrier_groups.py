"""When the barrier's groups close: tokens in, ports closed by the runtime (``close``),
partially filled tuple groups, and tokens the runtime should never have sent."""

from __future__ import annotations

from typing import Any

import pytest

from jobweave.components.barrier import Barrier, is_port
from jobweave.components.node import Group, JoinState, build
from jobweave.errors import ComponentError, DefinitionError

NONE: frozenset[str] = frozenset()


def state(grouping: str, ports: tuple[str, ...] = ("0", "1", "2")) -> JoinState:
    node = build("barrier", "wait", {"grouping": grouping})
    assert isinstance(node, Barrier)
    node.connect(ports)
    return node.new_state()


def shown(groups: list[Group]) -> list[tuple[int, list[tuple[str, Any]]]]:
    return [(g.index, g.tokens) for g in groups]


# -- grouping: all ---------------------------------------------------------------------
def test_all_waits_until_no_connected_port_is_live() -> None:
    s = state("all")
    assert s.receive("0", "a") == []
    assert s.receive("0", "b") == []
    assert s.receive("2", "c") == []
    assert s.close(frozenset({"1", "2"})) == []
    assert s.close(frozenset({"1"})) == []
    assert shown(s.close(NONE)) == [(0, [("0", "a"), ("0", "b"), ("2", "c")])]
    assert s.close(NONE) == []  # closed once


def test_all_counts_ports_that_are_not_connected_as_not_live() -> None:
    s = state("all", ("0", "1"))
    s.receive("1", "x")
    assert shown(s.close(frozenset({"7"}))) == [(0, [("1", "x")])]


def test_all_with_no_token_never_emits() -> None:
    s = state("all")
    assert s.close(frozenset({"0"})) == []
    assert s.close(NONE) == []


def test_all_refuses_a_token_after_it_closed() -> None:
    s = state("all", ("0",))
    s.receive("0", "a")
    assert len(s.close(NONE)) == 1
    with pytest.raises(ComponentError, match="nothing more could reach it"):
        s.receive("0", "late")


# -- grouping: tuple -------------------------------------------------------------------
def test_a_tuple_group_closes_with_its_last_token() -> None:
    s = state("tuple", ("0", "1"))
    assert s.receive("1", "b0") == []
    assert s.receive("1", "b1") == []
    assert shown(s.receive("0", "a0")) == [(0, [("1", "b0"), ("0", "a0")])]
    assert shown(s.receive("0", "a1")) == [(1, [("1", "b1"), ("0", "a1")])]
    assert s.close(NONE) == []


def test_close_waits_for_live_ports_and_closes_groups_a_dead_port_cannot_fill() -> None:
    s = state("tuple")
    for msg in ("a0", "a1", "a2"):
        assert s.receive("0", msg) == []
    assert s.receive("1", "b0") == []
    assert shown(s.receive("2", "c0")) == [(0, [("0", "a0"), ("1", "b0"), ("2", "c0")])]
    assert s.receive("2", "c1") == []
    # ports 0 and 2 can receive nothing more; port 1 may still send its second token
    assert s.close(frozenset({"1"})) == []
    assert shown(s.receive("1", "b1")) == [(1, [("0", "a1"), ("2", "c1"), ("1", "b1")])]
    # group 2 holds a2 only; port 1 is still live, so it waits
    assert s.close(frozenset({"1"})) == []
    assert shown(s.close(NONE)) == [(2, [("0", "a2")])]
    assert s.close(NONE) == []


def test_close_emits_every_partial_group_in_index_order() -> None:
    s = state("tuple")
    for msg in ("a0", "a1", "a2"):
        s.receive("0", msg)
    s.receive("2", "c0")
    assert shown(s.close(NONE)) == [(0, [("0", "a0"), ("2", "c0")]), (1, [("0", "a1")]),
                                    (2, [("0", "a2")])]


def test_after_a_port_closes_the_others_tokens_close_their_groups_at_once() -> None:
    s = state("tuple", ("0", "1"))
    s.receive("1", "b0")
    assert s.close(frozenset({"0"})) == []  # port 1 done after one token; group 0 waits
    assert shown(s.receive("0", "a0")) == [(0, [("1", "b0"), ("0", "a0")])]
    assert shown(s.receive("0", "a1")) == [(1, [("0", "a1")])]
    assert shown(s.receive("0", "a2")) == [(2, [("0", "a2")])]


def test_a_tuple_group_no_token_reached_never_closes() -> None:
    s = state("tuple")
    assert s.close(frozenset({"0"})) == []
    assert s.close(NONE) == []


def test_one_connected_port_makes_each_token_a_group() -> None:
    s = state("tuple", ("3",))
    assert shown(s.receive("3", "x")) == [(0, [("3", "x")])]
    assert shown(s.receive("3", "y")) == [(1, [("3", "y")])]


@pytest.mark.parametrize("grouping", ["all", "tuple"])
def test_a_token_on_a_closed_port_is_a_fault(grouping: str) -> None:
    s = state(grouping)
    s.receive("1", "b0")
    s.close(frozenset({"1", "2"}))
    with pytest.raises(ComponentError, match="'0' after the runtime said"):
        s.receive("0", "late")


@pytest.mark.parametrize("grouping", ["all", "tuple"])
def test_a_token_on_an_unconnected_port_is_a_fault(grouping: str) -> None:
    s = state(grouping, ("0", "1"))
    with pytest.raises(ComponentError, match="'2', which has no edge"):
        s.receive("2", "x")


@pytest.mark.parametrize("grouping", ["all", "tuple"])
def test_each_run_gets_its_own_state(grouping: str) -> None:
    node = build("barrier", "wait", {"grouping": grouping})
    assert isinstance(node, Barrier)
    node.connect(("0", "1"))
    first, second = node.new_state(), node.new_state()
    assert first.receive("0", "a") == []
    assert shown(second.close(NONE)) == []
    assert shown(first.close(NONE)) == [(0, [("0", "a")])]


# -- ports -----------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "ok"), [
    ("0", True), ("1", True), ("12", True), ("01", False), ("-1", False), ("", False),
    ("x", False), ("in", False), ("1.0", False), ("²", False), (" 1", False),
])
def test_input_ports_are_plain_whole_numbers(name: str, ok: bool) -> None:
    assert is_port(name) is ok


def test_the_barrier_accepts_any_numbered_input_port_and_has_two_outputs() -> None:
    node = build("barrier", "wait", {})
    assert node.in_ports() is None
    assert node.out_ports() == ("0", "1")
    assert node.joins and node.inline and not node.source


@pytest.mark.parametrize(("ports", "message"), [
    (("0", "in"), "not 'in'"),
    (("01",), "not '01'"),
    ((), "at least one incoming edge"),
])
def test_connecting_other_ports_is_a_definition_error(ports: tuple[str, ...],
                                                      message: str) -> None:
    node = build("barrier", "wait", {})
    assert isinstance(node, Barrier)
    with pytest.raises(DefinitionError, match=message) as caught:
        node.connect(ports)
    assert caught.value.field == "node 'wait': edges"


def test_connected_ports_are_kept_in_numeric_order() -> None:
    node = build("barrier", "wait", {})
    assert isinstance(node, Barrier)
    node.connect(("10", "2", "0", "2"))
    assert node.connected == ("0", "2", "10")


def test_a_state_needs_the_ports_first() -> None:
    node = build("barrier", "wait", {})
    assert isinstance(node, Barrier)
    with pytest.raises(ComponentError, match="not connected"):
        node.new_state()
