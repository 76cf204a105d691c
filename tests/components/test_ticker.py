"""The ticker: when each emission is due (interval and cron), and what it emits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobweave.components.node import build
from jobweave.components.ticker import Ticker
from jobweave.errors import ComponentError

# 2026-05-01 10:07:30 UTC, a Friday
START = datetime(2026, 5, 1, 10, 7, 30, tzinfo=UTC).timestamp()


def ticker(**settings: Any) -> Ticker:
    node = build("ticker", "tick", settings)
    assert isinstance(node, Ticker)
    return node


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_an_interval_ticker_emits_at_the_start_then_every_interval() -> None:
    node = ticker(interval=60)
    assert [node.due_at(START, k) for k in range(4)] == [START, START + 60, START + 120,
                                                         START + 180]


def test_without_emit_on_start_the_first_emission_is_one_interval_in() -> None:
    node = ticker(interval="1h", emit_on_start=False)
    assert [node.due_at(START, k) for k in range(3)] == [START + 3600, START + 7200,
                                                         START + 10800]


@pytest.mark.parametrize(("interval", "seconds"), [
    (2, 2.0), (0.25, 0.25), ("250ms", 0.25), ("90s", 90.0), ("1h30m", 5400.0), ("2d", 172800.0),
])
def test_interval_as_seconds_or_duration_text(interval: Any, seconds: float) -> None:
    assert ticker(interval=interval).due_at(0.0, 1) == seconds


@pytest.mark.parametrize("emit_on_start", [True, False])
def test_max_emissions_counts_every_emission(emit_on_start: bool) -> None:
    node = ticker(interval=10, max_emissions=2, emit_on_start=emit_on_start)
    first = START if emit_on_start else START + 10
    assert node.due_at(START, 0) == first
    assert node.due_at(START, 1) == first + 10
    assert node.due_at(START, 2) is None
    assert node.due_at(START, 50) is None


def test_zero_max_emissions_is_unbounded() -> None:
    assert ticker(interval=1).due_at(START, 10**6) == START + 10**6


def test_a_cron_ticker_emits_at_the_start_then_at_each_fire_time() -> None:
    node = ticker(cron="*/15 * * * *")
    assert [node.due_at(START, k) for k in range(4)] == [
        START, utc("2026-05-01 10:15"), utc("2026-05-01 10:30"), utc("2026-05-01 10:45")]


def test_a_cron_ticker_without_emit_on_start() -> None:
    node = ticker(cron="0 9 * * mon-fri", emit_on_start=False, max_emissions=3)
    assert [node.due_at(START, k) for k in range(4)] == [
        utc("2026-05-04 09:00"), utc("2026-05-05 09:00"), utc("2026-05-06 09:00"), None]


def test_a_cron_ticker_reads_its_expression_in_tz() -> None:
    node = ticker(cron="0 9 * * *", tz="Europe/Warsaw", emit_on_start=False)
    assert node.due_at(START, 0) == utc("2026-05-02 07:00")  # 09:00 CEST


def test_a_fire_time_at_the_very_start_is_not_emitted_twice() -> None:
    start = utc("2026-05-01 10:00")
    node = ticker(cron="0 * * * *")
    assert [node.due_at(start, k) for k in range(2)] == [start, utc("2026-05-01 11:00")]


def test_cron_emissions_asked_in_any_order_agree() -> None:
    in_order = ticker(cron="*/7 * * * *")
    expected = [in_order.due_at(START, k) for k in range(12)]
    assert len(set(expected)) == 12 and expected == sorted(expected)
    node = ticker(cron="*/7 * * * *")
    for k in (9, 3, 3, 11, 0, 10, 4):
        assert node.due_at(START, k) == expected[k], k
    assert node.due_at(START + 1, 1) == expected[1]  # another run's start


def test_emitted_may_not_be_negative() -> None:
    with pytest.raises(ValueError, match="emitted"):
        ticker(interval=1).due_at(START, -1)


def test_fire_emits_the_tick_the_scheduled_time_and_the_payload() -> None:
    node = ticker(interval=5, payload={"sync": "full", "since": None})
    msg = node.tick_message(0, utc("2026-05-01 10:00:00.5"))
    assert node.fire(msg, {}) == [("out", {"tick": 1, "at": "2026-05-01T10:00:00.500Z",
                                           "payload": {"sync": "full", "since": None}})]
    assert node.fire(node.tick_message(4, START), {})[0][1]["tick"] == 5


def test_fire_gives_each_emission_its_own_copy_of_the_payload() -> None:
    node = ticker(interval=5, payload={"list": [1]})
    first = node.fire(node.tick_message(0, START), {})[0][1]
    first["payload"]["list"].append(2)
    assert node.fire(node.tick_message(1, START + 5), {})[0][1]["payload"] == {"list": [1]}


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None])
def test_a_payload_that_is_not_a_mapping_keeps_the_same_shape(payload: Any) -> None:
    out = ticker(interval=1, payload=payload).fire({"emitted": 0, "at": 0}, {})
    assert out == [("out", {"tick": 1, "at": "1970-01-01T00:00:00.000Z", "payload": payload})]


def test_the_default_payload_is_an_empty_mapping() -> None:
    assert ticker(interval=1).fire({"emitted": 2, "at": 0.0}, {})[0][1]["payload"] == {}


@pytest.mark.parametrize("msg", [None, {}, {"emitted": 0}, {"at": 1.0}, {"emitted": "0", "at": 1}])
def test_fire_with_anything_but_a_tick_message_is_a_component_error(msg: Any) -> None:
    with pytest.raises(ComponentError, match="tick_message"):
        ticker(interval=1).fire(msg, {})


def test_a_ticker_is_a_source_with_no_input() -> None:
    node = ticker(interval=1)
    assert node.source and node.in_ports() == () and node.out_ports() == ("out",)
