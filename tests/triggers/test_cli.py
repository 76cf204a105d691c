"""`jobweave triggers TARGET... --from --count --json`, run in this process (no signals)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.engine.serve import Server
from jobweave.loader import load_target
from jobweave.store import close_all
from tests.cli.helpers import one_error_line, run_in_process


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "plan.py").write_text(textwrap.dedent("""
        import jobweave as jw

        nightly = jw.at("02:30", tz="Europe/Warsaw")
        several = {"hourly": jw.every("1h", missed="all"),
                   "weekdays": jw.cron("0 2 * * 1-5", tz="Europe/Warsaw", name="wd")}

        def made():
            return [jw.every("30m", max_fires=2)]

        not_a_trigger = 42
    """))
    (tmp_path / "plan.yaml").write_text(textwrap.dedent("""
        triggers:
          - at: "02:30"
            tz: Europe/Warsaw
            name: nightly
          - every: 2h
    """))
    (tmp_path / "bad.yaml").write_text("triggers:\n  - at: '02:30'\n    tz: Mars/Base\n")
    return tmp_path


Triggers = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def jobweave(capsys: pytest.CaptureFixture[str]) -> Triggers:
    """``jobweave triggers ARGS`` in the test's folder (the current one)."""

    def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
        assert Path.cwd() == folder
        return run_in_process(["triggers", *args], capsys)

    return run


def test_text_lists_local_times_with_offsets_and_utc(folder: Path, jobweave: Triggers) -> None:
    done = jobweave(folder, "plan.py:nightly", "plan.py:several", "plan.py:made",
                    "--from", "2026-10-24T00:00:00Z", "--count", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "nightly: at 02:30 every day in Europe/Warsaw (missed=skip overlap=skip)",
        "  2026-10-24 Sat 02:30:00+0200  2026-10-24T00:30:00Z",
        "  2026-10-25 Sun 02:30:00+0200  2026-10-25T00:30:00Z",  # once, the first 02:30
        "  2026-10-26 Mon 02:30:00+0100  2026-10-26T01:30:00Z",
    ]
    assert "hourly: every 1h (missed=all overlap=skip)" in lines
    assert "wd: cron '0 2 * * 1-5' in Europe/Warsaw (missed=skip overlap=skip)" in lines
    assert "made[0]: every 30m (missed=skip overlap=skip max_fires=2)" in lines


def test_json_for_scripts_from_a_yaml_file(folder: Path, jobweave: Triggers) -> None:
    done = jobweave(folder, "plan.yaml", "--from", "2026-03-28T12:00:00+01:00", "-n", "2",
                    "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["from"] == "2026-03-28T11:00:00+00:00"
    nightly, every = data["triggers"]
    assert nightly["name"] == "nightly" and nightly["tz"] == "Europe/Warsaw"
    # 02:30 does not exist on 2026-03-29: it fires as the clocks jump, 03:00 CEST
    assert nightly["fires"] == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
    assert every["kind"] == "every" and every["fires"] == ["2026-03-28T12:00:00+00:00",
                                                           "2026-03-28T14:00:00+00:00"]


@pytest.mark.parametrize(("args", "message"), [
    (["plan.py:not_a_trigger"], "plan.py:not_a_trigger is an int, not a trigger"),
    (["bad.yaml"], "bad.yaml:3: triggers[0].tz: unknown time zone 'Mars/Base'"),
    (["plan.py:nightly", "--from", "tomorrow"], "--from 'tomorrow' is not an ISO 8601 time"),
    (["plan.py:nightly", "--count", "0"], "--count must be between 1 and 1000"),
])
def test_bad_input_is_one_line_and_exit_2(folder: Path, jobweave: Triggers, args: list[str],
                                          message: str) -> None:
    done = jobweave(folder, *args)
    assert done.returncode == 2
    assert message in one_error_line(done.stderr)
    assert done.stdout == ""


@pytest.mark.parametrize(("text", "message"), [
    # a definition file: the line of the key at fault, as for any other definition error
    ("name: nightly\njobs:\n  - shell: 'true'\ntriggers:\n  - every: 1h\n  - cron: '0 2 * *'\n"
     "    tz: UTC\n", "defs.yaml:6: triggers[1].cron: "),
    ("triggers:\n  hourly:\n    every: 1h\n  nightly:\n    at: '02:30'\n    days: [someday]\n",
     "defs.yaml:6: triggers.nightly.days: "),
    ("triggers:\n  - every: 1h\n  - every: 2h\n    overlap: sometimes\n",
     "defs.yaml:4: triggers[1].overlap: "),
    ("triggers:\n  - every: 1h\n  - 42\n", "defs.yaml:3: triggers[1]: "),
    # an unknown key: its own line, not the line of the trigger's kind
    ("name: x\njobs:\n  - shell: 'true'\ntriggers:\n  - every: 5m\n    missed: once\n"
     "    tz: UTC\n", "defs.yaml:7: triggers[0].tz: unknown key 'tz' for an every trigger "),
    ("triggers:\n  nightly:\n    at: '02:30'\n    emit_on_start: true\n",
     "defs.yaml:4: triggers.nightly.emit_on_start: unknown key 'emit_on_start' for an at "),
    ("name: x\ntriggers: []\n", "defs.yaml:2: the file's 'triggers' is empty"),
])
def test_a_bad_trigger_in_a_file_names_its_line_and_exits_2(
        folder: Path, jobweave: Triggers, text: str, message: str) -> None:
    (folder / "defs.yaml").write_text(text)
    done = jobweave(folder, "defs.yaml")
    assert done.returncode == 2
    assert one_error_line(done.stderr).startswith(f"jobweave: error: {message}")
    assert done.stdout == ""


def test_a_bad_trigger_in_a_json_file_names_its_line(folder: Path, jobweave: Triggers) -> None:
    (folder / "defs.json").write_text('{"jobs": [{"shell": "true"}],\n "triggers": [\n'
                                      '  {"every": "1h"},\n  {"every": "1h", "max_fires": -1}\n'
                                      ']}\n')
    done = jobweave(folder, "defs.json")
    assert done.returncode == 2
    assert one_error_line(done.stderr).startswith(
        "jobweave: error: defs.json:4: triggers[1].max_fires: ")


def test_the_listing_stops_at_max_fires_and_says_so(folder: Path, jobweave: Triggers) -> None:
    done = jobweave(folder, "plan.py:made", "--from", "2026-10-24T00:00:00Z", "--count", "3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "made[0]: every 30m (missed=skip overlap=skip max_fires=2)",
        "  2026-10-24 Sat 00:00:00+0000  2026-10-24T00:00:00Z",
        "  2026-10-24 Sat 00:30:00+0000  2026-10-24T00:30:00Z",
        "  (max_fires 2: no more fires after this)",
    ]
    data = json.loads(jobweave(folder, "plan.py:made", "--from", "2026-10-24T00:00:00Z",
                               "-n", "3", "--json").stdout)
    (made,) = data["triggers"]
    assert (len(made["fires"]), made["fired"]) == (2, None)
    # fewer fire times asked than max_fires allows: nothing to say
    lines = jobweave(folder, "plan.py:made", "-n", "1").stdout.splitlines()
    assert len(lines) == 2 and "max_fires" not in lines[1]


def test_with_store_the_fires_a_serve_process_made_count_toward_max_fires(
        folder: Path, jobweave: Triggers) -> None:
    (folder / "defs.py").write_text(textwrap.dedent("""
        import jobweave as jw

        three = jw.batch(jw.job("tests.jobs:noop", name="part"), name="three",
                         triggers=[jw.every("1h", emit_on_start=True, max_fires=3),
                                   jw.every("1d", max_fires=1),
                                   jw.every("2h", emit_on_start=True, max_fires=1)])
    """))
    store = str(folder / "s.db")
    server = Server([load_target("defs.py:three")], engine=jw.Engine(jw.Settings(store=store)),
                    owner="serve-1")
    fires = server.tick()  # the first and last triggers fire once at once; the second not
    assert len(fires) == 2
    for handle in server.handles.values():
        assert handle.wait(timeout=20).status == "completed"
    close_all()
    done = jobweave(folder, "defs.py:three", "--count", "5", "--store", store)
    assert done.returncode == 0, done.stderr
    first, second, third = done.stdout.split("\n\n")
    assert len(first.splitlines()) == 4, first  # the head, two fire times, the end
    assert first.splitlines()[-1] == "  (max_fires 3, 1 fired so far: no more fires after this)"
    assert second.splitlines()[-1] == "  (max_fires 1: no more fires after this)"
    assert third.splitlines()[1:] == ["  (max_fires 1 reached, 1 fired so far: no more fires)"]
    data = json.loads(jobweave(folder, "defs.py:three", "--store", store, "--json").stdout)
    assert [(t["fired"], len(t["fires"])) for t in data["triggers"]] == [(1, 2), (0, 1),
                                                                          (1, 0)]
    # the same triggers not served from this definition: the store knows nothing of them
    data = json.loads(jobweave(folder, "plan.py:made", "--store", store, "--json").stdout)
    assert [(t["fired"], len(t["fires"])) for t in data["triggers"]] == [(None, 2)]
