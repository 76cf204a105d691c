"""jobweave's DST rules: a local time that does not exist fires once, at the end of the
gap; a local time that happens twice fires once, at its first occurrence. Intervals of
``every`` are absolute. Time is driven by hand: no sleeps, no wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

import jobweave as jw
from jobweave.triggers import due, fires_between, next_fire

WARSAW = "Europe/Warsaw"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize("trigger", [
    jw.at("02:30", tz=WARSAW),
    jw.cron("30 2 * * *", tz=WARSAW),
])
def test_daily_0230_in_warsaw_on_the_spring_forward_day_fires_once_at_the_end_of_the_gap(
        trigger: jw.Cron | jw.At) -> None:
    fires = fires_between(trigger, utc(2026, 3, 28), utc(2026, 3, 31))
    assert fires == [utc(2026, 3, 28, 1, 30),  # 02:30 CET
                     utc(2026, 3, 29, 1, 0),   # 02:30 does not exist: 03:00 CEST
                     utc(2026, 3, 30, 0, 30)]  # 02:30 CEST
    assert fires[1].astimezone(trigger.zone).strftime("%H:%M %z") == "03:00 +0200"


@pytest.mark.parametrize("trigger", [
    jw.at("02:30", tz=WARSAW),
    jw.cron("30 2 * * *", tz=WARSAW),
])
def test_daily_0230_in_warsaw_on_the_fall_back_day_fires_once_at_the_first_occurrence(
        trigger: jw.Cron | jw.At) -> None:
    fires = fires_between(trigger, utc(2026, 10, 24), utc(2026, 10, 27))
    assert fires == [utc(2026, 10, 24, 0, 30),  # 02:30 CEST
                     utc(2026, 10, 25, 0, 30),  # 02:30 CEST, the first of two 02:30s
                     utc(2026, 10, 26, 1, 30)]  # 02:30 CET
    # from between the two 02:30s, the next fire is the next day's
    assert next_fire(trigger, utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 26, 1, 30)


def test_a_server_polling_every_minute_through_both_changes_fires_once_a_day() -> None:
    trigger = jw.at("02:30", tz=WARSAW)
    for day in (utc(2026, 3, 28, 22), utc(2026, 10, 24, 21)):
        last, fired, now = None, [], day
        while now < day + timedelta(hours=8):
            decision = due(trigger, last, now)
            fired.extend(decision.fires)
            last = decision.last_fire
            now += timedelta(minutes=1)
        assert len(fired) == 1, fired


def test_several_times_inside_one_gap_fire_once_together() -> None:
    trigger = jw.cron("*/15 2 * * *", tz=WARSAW)
    fires = fires_between(trigger, utc(2026, 3, 29, 0), utc(2026, 3, 29, 12))
    assert fires == [utc(2026, 3, 29, 1, 0)]


def test_hourly_cron_across_both_changes() -> None:
    trigger = jw.cron("0 * * * *", tz=WARSAW)
    spring = fires_between(trigger, utc(2026, 3, 28, 23, 30), limit=4)
    # 01:00 CET, then 02:00 does not exist (fires at 03:00 CEST, the same instant as 03:00)
    assert spring == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2),
                      utc(2026, 3, 29, 3)]
    autumn = fires_between(trigger, utc(2026, 10, 24, 22, 30), limit=4)
    # 01:00 and 02:00 CEST, then 02:00 CET is a repeat and does not fire; 03:00 CET
    assert autumn == [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 2),
                      utc(2026, 10, 25, 3)]


def test_every_counts_absolute_time_across_dst() -> None:
    hourly = jw.every("1h")
    autumn = fires_between(hourly, utc(2026, 10, 24, 22, 30), limit=5)
    assert [b - a for a, b in pairwise(autumn)] == [timedelta(hours=1)] * 4
    local = [f.astimezone(jw.at("00:00", tz=WARSAW).zone).strftime("%H:%M%z") for f in autumn]
    assert local == ["01:00+0200", "02:00+0200", "02:00+0100", "03:00+0100", "04:00+0100"]
    daily = jw.every("1d", anchor=datetime(2026, 3, 28, 2, 30, tzinfo=UTC))
    assert fires_between(daily, utc(2026, 3, 28, 3), limit=2) == [utc(2026, 3, 29, 2, 30),
                                                                  utc(2026, 3, 30, 2, 30)]


def test_a_clock_stepped_back_an_hour_fires_nothing_twice() -> None:
    trigger = jw.cron("*/10 * * * *")
    last, fired = None, []
    clock = [utc(2026, 5, 1, 10, 0, 30) + timedelta(minutes=m) for m in range(0, 61, 5)]
    # at 11:00:30 the clock is stepped back to 10:00:30 and runs on to 11:30:30
    clock += [utc(2026, 5, 1, 10, 0, 30) + timedelta(minutes=m) for m in range(0, 91, 5)]
    for now in clock:
        decision = due(trigger, last, now)
        fired.extend(decision.fires)
        last = decision.last_fire
    assert len(fired) == len(set(fired))
    assert fired == [utc(2026, 5, 1, 10, m) for m in (10, 20, 30, 40, 50)] + \
        [utc(2026, 5, 1, 11, m) for m in (0, 10, 20, 30)]


def test_a_restart_with_the_stored_last_fire_does_not_fire_again() -> None:
    trigger = jw.at("02:30", tz=WARSAW)
    first = due(trigger, utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30, 5))
    assert first.fires == (utc(2026, 10, 25, 0, 30),)
    # the server restarts during the repeated hour, at 02:30 CET, with the stored value
    again = due(trigger, first.last_fire, utc(2026, 10, 25, 1, 30, 5))
    assert again.fires == () and again.skipped == 0
    assert again.next_fire == utc(2026, 10, 26, 1, 30)


def test_a_gap_of_half_an_hour_is_found_too() -> None:
    # Lord Howe Island moves its clocks 30 minutes, 02:00 -> 02:30, on 2026-10-04
    trigger = jw.at("02:15", tz="Australia/Lord_Howe")
    fires = fires_between(trigger, utc(2026, 10, 1, 12), limit=3)
    local = [f.astimezone(trigger.zone).strftime("%m-%d %H:%M%z") for f in fires]
    assert local == ["10-02 02:15+1030", "10-03 02:15+1030", "10-04 02:30+1100"]


def test_prev_fire_inside_the_repeated_hour_finds_the_first_occurrence() -> None:
    from jobweave.triggers import prev_fire

    daily = jw.at("02:30", tz=WARSAW)
    assert prev_fire(daily, utc(2026, 10, 25, 1, 45)) == utc(2026, 10, 25, 0, 30)
    hourly = jw.cron("0 * * * *", tz=WARSAW)
    assert prev_fire(hourly, utc(2026, 10, 25, 1, 59)) == utc(2026, 10, 25, 0)
