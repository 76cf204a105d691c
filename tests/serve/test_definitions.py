"""Triggers on flows, batches and schedules, in Python and in definition files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.loader import load_file
from tests import jobs

TRIGGERS = [jw.cron("0 2 * * 1-5", tz="Europe/Warsaw"), jw.every("1h"),
            jw.at(days=["mon"], time="02:00")]


def _digest(definition: object) -> str:
    return jw.Engine(jw.Settings(store="unused.db")).plan(definition).digest


def test_triggers_are_carried_but_stay_out_of_the_digest() -> None:
    def made(triggers: list[jw.triggers.Trigger]) -> list[object]:
        step = jw.job(jobs.noop, name="a")
        return [jw.batch(step, name="b", triggers=triggers),
                jw.schedule([[jw.job(jobs.noop, name="a")]], name="s", triggers=triggers),
                jw.flow([jw.job(jobs.noop, name="a")], elements=["x"], name="f",
                        triggers=triggers)]

    for plain, triggered in zip(made([]), made(TRIGGERS), strict=True):
        assert tuple(triggered.triggers) == tuple(TRIGGERS)
        assert plain.triggers == ()
        assert _digest(plain) == _digest(triggered)


@pytest.mark.parametrize("bad", ["0 2 * * *", [jw.every("1h"), "daily"], 3])
def test_anything_but_triggers_is_refused(bad: object) -> None:
    with pytest.raises(jw.DefinitionError, match="trigger"):
        jw.batch(jw.job(jobs.noop), name="b", triggers=bad)  # type: ignore[arg-type]


def test_batch_and_schedule_files_carry_triggers(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(textwrap.dedent("""
        name: nightly
        triggers:
          - cron: "0 2 * * 1-5"
            tz: Europe/Warsaw
          - every: 1h
            overlap: queue
        jobs:
          - shell: "true"
    """))
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""
        kind: schedule
        triggers:
          - at: "02:00"
            days: [mon]
        batches:
          - jobs: [{shell: "true"}]
    """))
    batch = load_file(str(tmp_path / "b.yaml"))
    assert batch.triggers == (jw.cron("0 2 * * 1-5", tz="Europe/Warsaw"),
                              jw.every("1h", overlap="queue"))
    schedule = load_file(str(tmp_path / "s.yaml"))
    assert schedule.triggers == (jw.at("02:00", days=["mon"]),)


def test_a_bad_trigger_in_a_file_names_its_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("jobs: [{shell: 'true'}]\ntriggers:\n  - every: 1h\n  - at: '02:00'\n"
                    "    tz: Europe/Warsow\n")
    with pytest.raises(jw.DefinitionError) as caught:
        load_file(str(path))
    assert (caught.value.line, caught.value.field) == (5, "triggers[1].tz")
    assert "unknown time zone 'Europe/Warsow'" in caught.value.message
