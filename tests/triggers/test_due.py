"""due() applies the missed policy to the stored last fire, bounds catch-up, counts
max_fires, and never moves the stored value back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import jobweave as jw
from jobweave.errors import DefinitionError
from jobweave.triggers import MAX_CATCH_UP, due, next_fire, prev_fire


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


HOURLY = dict(interval="1h")
DOWN_FROM, BACK_AT = utc(2026, 1, 1, 0), utc(2026, 1, 1, 5, 0, 20)  # 5 fires passed


def test_skip_drops_what_was_missed_but_keeps_the_fire_that_is_on_time() -> None:
    decision = due(jw.every("1h"), DOWN_FROM, BACK_AT)
    assert decision.fires == (utc(2026, 1, 1, 5),)  # 20 s late: within the grace
    assert decision.skipped == 4
    assert decision.last_fire == utc(2026, 1, 1, 5)
    assert decision.next_fire == utc(2026, 1, 1, 6)
    late = due(jw.every("1h"), DOWN_FROM, BACK_AT + timedelta(minutes=30))
    assert late.fires == () and late.skipped == 5 and late.last_fire == utc(2026, 1, 1, 5)


def test_once_fires_one_run_for_everything_missed() -> None:
    decision = due(jw.every("1h", missed="once"), DOWN_FROM, BACK_AT + timedelta(minutes=30))
    assert decision.fires == (utc(2026, 1, 1, 5),)
    assert decision.skipped == 4


def test_all_fires_each_missed_instant_oldest_first() -> None:
    decision = due(jw.every("1h", missed="all"), DOWN_FROM, BACK_AT)
    assert decision.fires == tuple(utc(2026, 1, 1, h) for h in range(1, 6))
    assert decision.skipped == 0


@pytest.mark.parametrize("trigger", [jw.every("1m", missed="all"),
                                     jw.cron("* * * * *", missed="all")])
def test_all_is_bounded_to_the_latest_instants(trigger: jw.Every | jw.Cron) -> None:
    decision = due(trigger, DOWN_FROM, utc(2026, 1, 2, 0, 0, 1))  # a day of minutes
    assert len(decision.fires) == MAX_CATCH_UP
    assert decision.fires[-1] == utc(2026, 1, 2) and decision.fires[0] == \
        utc(2026, 1, 2) - timedelta(minutes=MAX_CATCH_UP - 1)
    assert list(decision.fires) == sorted(decision.fires)
    assert decision.skipped == 24 * 60 - MAX_CATCH_UP
    assert len(due(trigger, DOWN_FROM, utc(2026, 1, 2), max_catch_up=3).fires) == 3


def test_a_trigger_never_served_starts_from_now() -> None:
    now = utc(2026, 1, 1, 0, 30)
    plain = due(jw.every("1h"), None, now)
    assert plain.fires == () and plain.last_fire == now
    assert plain.next_fire == utc(2026, 1, 1, 1)
    eager = due(jw.every("1h", emit_on_start=True), None, now)
    assert eager.fires == (now,) and eager.last_fire == now
    # emit_on_start fires once: the stored value is there after it
    assert due(jw.every("1h", emit_on_start=True), eager.last_fire, now).fires == ()
    assert due(jw.cron("0 * * * *"), None, now).fires == ()


def test_max_fires_stops_the_trigger() -> None:
    trigger = jw.every("1h", missed="all", max_fires=3)
    first = due(trigger, DOWN_FROM, BACK_AT, fired=1)
    assert first.fires == (utc(2026, 1, 1, 1), utc(2026, 1, 1, 2))
    assert first.next_fire is None
    done = due(trigger, first.last_fire, BACK_AT + timedelta(hours=3), fired=3)
    assert done.fires == () and done.next_fire is None
    once = due(jw.every("1h", emit_on_start=True, max_fires=1), None, DOWN_FROM)
    assert once.fires == (DOWN_FROM,) and once.next_fire is None
    assert due(jw.every("1h", max_fires=0), DOWN_FROM, BACK_AT).next_fire is not None


def test_nothing_is_due_before_the_next_fire_and_the_stored_value_never_goes_back() -> None:
    trigger = jw.cron("0 2 * * *", tz="Europe/Warsaw")
    last = utc(2026, 6, 1, 0)  # 02:00 CEST
    for now in (utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 12), utc(2026, 5, 31, 23)):
        decision = due(trigger, last, now)
        assert decision.fires == () and decision.last_fire == last
        assert decision.next_fire == utc(2026, 6, 2, 0)


def test_naive_times_are_refused() -> None:
    with pytest.raises(DefinitionError, match="time zone"):
        next_fire(jw.every("1h"), datetime(2026, 1, 1))
    with pytest.raises(DefinitionError, match="now"):
        due(jw.every("1h"), None, datetime(2026, 1, 1))


def test_prev_and_next_fire_bracket_an_instant() -> None:
    trigger = jw.at(["09:00", "17:30"], days="weekdays", tz="America/New_York")
    now = utc(2026, 7, 4, 12)  # a Saturday
    assert prev_fire(trigger, now) == utc(2026, 7, 3, 21, 30)  # Fri 17:30 EDT
    assert next_fire(trigger, now) == utc(2026, 7, 6, 13)  # Mon 09:00 EDT
    assert prev_fire(trigger, utc(2026, 7, 6, 13)) == utc(2026, 7, 6, 13)


def test_the_overlap_policy_decides_a_fire_while_the_previous_run_runs() -> None:
    from jobweave.triggers import on_overlap

    skip, queue, allow = (jw.every("1h", overlap=o) for o in ("skip", "queue", "allow"))
    assert [on_overlap(t, running=False) for t in (skip, queue, allow)] == ["start"] * 3
    assert [on_overlap(t, running=True) for t in (skip, queue, allow)] == \
        ["skip", "wait", "start"]
    assert on_overlap(queue, running=True, waiting=True) == "skip"
