"""Triggers are validated when made: one DefinitionError naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

import jobweave as jw
from jobweave.triggers import fires_between, next_fire, trigger_from_data
from jobweave.triggers.cron import parse_cron


@pytest.mark.parametrize(("make", "field", "message"), [
    (lambda: jw.cron("0 2 * *"), "cron", "must have 5 fields"),
    (lambda: jw.cron("60 * * * *"), "cron", "minute 60 is out of range 0-59"),
    (lambda: jw.cron("0 24 * * *"), "cron", "hour 24 is out of range"),
    (lambda: jw.cron("0 0 0 * *"), "cron", "day of month 0 is out of range 1-31"),
    (lambda: jw.cron("0 0 * 13 *"), "cron", "month 13"),
    (lambda: jw.cron("0 0 * * 8"), "cron", "day of week 8"),
    (lambda: jw.cron("0 0 * * funday"), "cron", "'funday' is not a number"),
    (lambda: jw.cron("*/0 * * * *"), "cron", "step must be at least 1"),
    (lambda: jw.cron("0 5-2 * * *"), "cron", "runs backwards"),
    (lambda: jw.cron("0 0 31 2 *"), "cron", "names no day that exists"),
    (lambda: jw.cron("0 0 * * *", tz="Mars/Olympus"), "tz", "unknown time zone"),
    (lambda: jw.cron("0 0 * * *", tz=""), "tz", "time zone must be"),
    (lambda: jw.cron("0 0 * * *", missed="later"), "missed", "one of 'skip', 'once', 'all'"),
    (lambda: jw.cron("0 0 * * *", overlap="wait"), "overlap",
     "one of 'skip', 'queue', 'allow'"),
    (lambda: jw.every("1h", max_fires=-1), "max_fires", "whole number"),
    (lambda: jw.every("soon"), "every", "bad duration"),
    (lambda: jw.every("500ms"), "every", "shorter than one second"),
    (lambda: jw.every(-5), "every", "must not be negative"),
    (lambda: jw.every("1h", anchor=datetime(2026, 1, 1)), "anchor", "time zone"),
    (lambda: jw.at("25:00"), "time", "must look like '02:30'"),
    (lambda: jw.at("2pm"), "time", "must look like"),
    (lambda: jw.at([]), "time", "at least one time"),
    (lambda: jw.at("02:00", days=["mon", "funday"]), "days", "unknown day 'funday'"),
    (lambda: jw.at("02:00", days=[]), "days", "at least one day"),
    (lambda: jw.at("02:00", tz="Nowhere"), "tz", "unknown time zone 'Nowhere'"),
])
def test_bad_triggers_are_refused_with_the_field(make: object, field: str,
                                                 message: str) -> None:
    with pytest.raises(jw.DefinitionError, match=message) as info:
        make()  # type: ignore[operator]
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_at_normalises_days_and_times() -> None:
    trigger = jw.at(["17:30", "9:00", "09:00:00"], days=["Wednesday", "mon", "fri-sun"])
    assert trigger.times == ("09:00", "17:30")
    assert trigger.days == ("mon", "wed", "fri", "sat", "sun")
    assert jw.at("1:02:03", days="weekdays").days == ("mon", "tue", "wed", "thu", "fri")
    assert jw.at("00:00", days="weekends").days == ("sat", "sun")
    assert jw.at("00:00").days == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    assert jw.at("1:02:03").times == ("01:02:03",)
    assert jw.at("00:00", days="sat-mon").days == ("mon", "sat", "sun")


def test_triggers_are_frozen_values() -> None:
    a = jw.cron("0 2 * * 1-5", tz="Europe/Warsaw", missed="once")
    assert a == jw.cron("0 2 * * 1-5", tz="Europe/Warsaw", missed=jw.Missed.ONCE)
    assert hash(a) == hash(jw.cron("0 2 * * 1-5", tz="Europe/Warsaw", missed="once"))
    assert a.missed is jw.Missed.ONCE and a.overlap is jw.Overlap.SKIP
    with pytest.raises(AttributeError):
        a.tz = "UTC"  # type: ignore[misc]
    assert jw.every("90m").interval == timedelta(minutes=90)
    assert jw.every(timedelta(hours=2)) == jw.every("2h") == jw.every(7200)


def test_each_policy_member_says_what_it_does() -> None:
    for policy in (*jw.Missed, *jw.Overlap):
        assert policy.__doc__ and policy.__doc__ != type(policy).__doc__
    assert [m.value for m in jw.Missed] == ["skip", "once", "all"]
    assert [m.value for m in jw.Overlap] == ["skip", "queue", "allow"]


def test_descriptions() -> None:
    assert jw.cron("0 2 * * 1-5", tz="Europe/Warsaw").describe() == \
        "cron '0 2 * * 1-5' in Europe/Warsaw"
    assert jw.every("1h30m").describe() == "every 1h30m"
    assert jw.at("02:00", days=["mon", "wed"]).describe() == "at 02:00 on mon, wed in UTC"


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("0 2 * * 1-5", datetime(2026, 7, 3, 3, tzinfo=UTC), datetime(2026, 7, 6, 2, tzinfo=UTC)),
    ("@daily", datetime(2026, 7, 3, 3, tzinfo=UTC), datetime(2026, 7, 4, tzinfo=UTC)),
    ("@weekly", datetime(2026, 7, 3, tzinfo=UTC), datetime(2026, 7, 5, tzinfo=UTC)),
    ("0 0 * * 7", datetime(2026, 7, 3, tzinfo=UTC), datetime(2026, 7, 5, tzinfo=UTC)),
    ("0 0 29 2 *", datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
    ("15,45 9-17/4 * jan-mar mon", datetime(2026, 3, 30, 10, tzinfo=UTC),
     datetime(2026, 3, 30, 13, 15, tzinfo=UTC)),
    ("0 0 13 * fri", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC)),
    ("*/20 * * * *", datetime(2026, 3, 1, 0, 59, 59, tzinfo=UTC),
     datetime(2026, 3, 1, 1, tzinfo=UTC)),
])
def test_cron_next_fire(expression: str, after: datetime, expected: datetime) -> None:
    assert next_fire(jw.cron(expression), after) == expected


def test_day_of_month_and_day_of_week_match_either_when_both_are_set() -> None:
    fields = parse_cron("0 0 13 * fri")
    assert fields.day_matches(date(2026, 3, 13))  # a Friday the 13th
    assert fields.day_matches(date(2026, 3, 6))  # a Friday
    assert fields.day_matches(date(2026, 4, 13))  # a Monday the 13th
    assert not fields.day_matches(date(2026, 4, 14))


def test_fires_between_respects_the_end_and_the_limit() -> None:
    trigger = jw.every("15m")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(fires_between(trigger, start, start + timedelta(hours=1))) == 4
    assert len(fires_between(trigger, start, limit=7)) == 7


def test_triggers_from_plain_data() -> None:
    assert trigger_from_data({"cron": "0 2 * * 1-5", "tz": "Europe/Warsaw",
                              "missed": "once"}) == \
        jw.cron("0 2 * * 1-5", tz="Europe/Warsaw", missed="once")
    assert trigger_from_data({"every": "1h", "emit_on_start": True, "max_fires": 3}) == \
        jw.every("1h", emit_on_start=True, max_fires=3)
    assert trigger_from_data({"every": 60, "anchor": "2026-01-01T00:30:00Z"}).anchor == \
        datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert trigger_from_data({"at": ["02:00"], "days": ["mon", "wed"], "overlap": "queue"}) \
        == jw.at("02:00", days=["mon", "wed"], overlap="queue")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"cron": "0 2 * *"}, "triggers[1].cron", "5 fields"),
    ({"at": "02:00", "tz": "Mars"}, "triggers[1].tz", "unknown time zone"),
    ({"at": "02:00", "days": ["moon"]}, "triggers[1].days", "unknown day"),
    ({"every": "1h", "tz": "UTC"}, "triggers[1].tz", "unknown key 'tz' for an every trigger "),
    ({"at": "02:00", "emit_on_start": True}, "triggers[1].emit_on_start",
     "unknown key 'emit_on_start' for an at trigger "),
    ({"cron": "0 2 * * *", "days": ["mon"]}, "triggers[1].days",
     "unknown key 'days' for a cron trigger "),
    ({"every": "1h", "cron": "* * * * *"}, "triggers[1]", "exactly one of"),
    ({"when": "later"}, "triggers[1]", "exactly one of"),
    ("0 2 * * *", "triggers[1]", "must be a mapping"),
])
def test_bad_trigger_data_names_the_field(data: object, field: str, message: str) -> None:
    with pytest.raises(jw.DefinitionError, match=message) as info:
        trigger_from_data(data, field="triggers[1]")
    assert info.value.field == field


@pytest.mark.parametrize("trigger", [
    jw.cron("0 2 * * 1-5", tz="Europe/Warsaw"),
    jw.cron("@daily", missed="all", overlap="queue", max_fires=3, name="n"),
    jw.every("1h30m"),
    jw.every("1d", emit_on_start=True, anchor=datetime(2026, 3, 28, 2, 30, tzinfo=UTC)),
    jw.at(["02:00", "14:30:15"], days="weekdays", tz="Asia/Tokyo", missed="once"),
    jw.at("00:00"),
])
def test_triggers_round_trip_through_plain_data_and_pickle(trigger: object) -> None:
    import json
    import pickle

    from jobweave.triggers import trigger_to_data

    data = json.loads(json.dumps(trigger_to_data(trigger)))  # type: ignore[arg-type]
    assert trigger_from_data(data) == trigger
    copy = pickle.loads(pickle.dumps(trigger))
    assert copy == trigger
    assert next_fire(copy, datetime(2026, 1, 1, tzinfo=UTC)) == \
        next_fire(trigger, datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
