"""One parser for durations written as text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobweave.durations import format_duration, parse_duration
from jobweave.errors import DefinitionError


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", timedelta(seconds=90)),
    ("15m", timedelta(minutes=15)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("1h 30m", timedelta(hours=1, minutes=30)),
    ("2d", timedelta(days=2)),
    ("1w", timedelta(weeks=1)),
    ("250ms", timedelta(milliseconds=250)),
    ("1m30s", timedelta(seconds=90)),
    ("1.5h", timedelta(minutes=90)),
    ("45", timedelta(seconds=45)),
    (45, timedelta(seconds=45)),
    (0.5, timedelta(seconds=0.5)),
    (timedelta(hours=3), timedelta(hours=3)),
])
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("soon", "bad duration"),
    ("1h1h", "bad duration"),
    ("h", "bad duration"),
    ("", "bad duration"),
    ("-5s", "bad duration"),
    (-5, "must not be negative"),
    (float("nan"), "must not be negative"),
    (True, "must be text"),
    ([1], "must be text"),
    ("200y", "bad duration"),
    (10**12, "over a hundred years"),
])
def test_bad_durations(value: object, message: str) -> None:
    with pytest.raises(DefinitionError, match=message) as info:
        parse_duration(value, field="every")
    assert info.value.field == "every"


@pytest.mark.parametrize("delta", [timedelta(hours=1, minutes=30), timedelta(days=2),
                                   timedelta(milliseconds=1500), timedelta(0)])
def test_format_reads_back(delta: timedelta) -> None:
    assert parse_duration(format_duration(delta)) == delta
