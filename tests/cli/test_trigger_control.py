"""``jobweave triggers list|pause|resume|fire``: the dashboard's trigger actions from the
command line, with who asked, and honoured by a real serving loop on the same store."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

import jobweave as jw
from jobweave.cli.app import cli_actor
from jobweave.engine.serve import Server
from jobweave.store import SqlStore
from jobweave.store.access import requests_of
from jobweave.store.triggers import TriggerTable
from jobweave.web.triggers_view import trigger_log
from tests.cli.helpers import Jobweave, one_error_line, wait_for


def _served(store: str) -> Server:
    batch = jw.batch(jw.job("tests.jobs:noop", name="part"), name="hourly",
                     triggers=[jw.every("1h")])
    server = Server([(batch, "tests:hourly")], engine=jw.Engine(jw.Settings(store=store)),
                    owner="serve-1")
    server.tick()  # registers and claims the trigger's row
    return server


def test_pause_fire_and_resume_a_served_trigger(cli: Jobweave, store: str,
                                                db: SqlStore) -> None:
    server = _served(store)
    me = cli_actor()
    listed = json.loads(cli("triggers", "list", "--json").stdout)["triggers"]
    (tid,) = [t["id"] for t in listed]
    line = cli("triggers", "list").stdout
    assert line.startswith(f"{tid}  tests:hourly  next ")

    p = cli("triggers", "pause", tid)
    assert (p.returncode, p.stdout) == (0, f"trigger {tid} paused (tests:hourly)\n")
    assert "paused" in cli("triggers", "list").stdout
    p = cli("triggers", "fire", tid)
    assert (p.returncode, p.stdout) == (0, f"trigger {tid}: fire asked; the 'jobweave serve' "
                                           "serving it starts the run at its next round\n")
    again = cli("triggers", "fire", tid)  # one asked fire waits at a time
    assert again.returncode == 1 and "still waiting" in again.stdout

    server.nudge()
    (fire,) = server.tick()  # paused, but an asked fire still starts
    assert fire.action == "started"
    for handle in server.handles.values():
        assert handle.wait(timeout=20).status == "completed"
    (asked,) = requests_of(db, str(fire.run_id))
    assert (asked.what, asked.actor) == ("fire-now", me)

    p = cli("triggers", "resume", tid, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["paused"] is False
    (row,) = TriggerTable(db).all()
    assert not row.paused
    assert [(a["actor"], a["what"]) for a in trigger_log(db, row.key)] == [
        (me, "resume"), (me, "fire-now"), (me, "fire-now"), (me, "pause")]


def test_unknown_trigger_and_bad_words_exit_2_with_one_line(cli: Jobweave, store: str) -> None:
    _served(store)
    for args, says in [(("pause", "nope"), "no trigger 'nope' in this store"),
                       (("fire",), "takes one trigger"),
                       (("resume", "a", "b"), "takes one trigger"),
                       (("list", "x"), "takes no argument")]:
        p = cli("triggers", *args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert says in one_error_line(p.stderr), args


@pytest.fixture
def warsaw(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time zone is Europe/Warsaw (the CLI prints local times)."""
    monkeypatch.setenv("TZ", "Europe/Warsaw")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_list_says_the_zone_and_never_fired_until_a_trigger_fires(
        cli: Jobweave, store: str, warsaw: None) -> None:
    _served(store)  # registered and leased: its stored last fire is now, it fired nothing
    (row,) = json.loads(cli("triggers", "list", "--json").stdout)["triggers"]
    assert (row["fires"], row["last_fire"] is not None) == (0, True)
    at = time.localtime(row["next"][0])
    zone = "CEST" if at.tm_isdst else "CET"
    assert cli("triggers", "list").stdout == (
        f"{row['id']}  tests:hourly  next {time.strftime('%Y-%m-%d %H:%M:%S', at)} {zone}, "
        "never fired\n")


def test_list_shows_the_last_fire_with_its_zone_and_no_next_past_max_fires(
        cli: Jobweave, store: str, warsaw: None) -> None:
    batch = jw.batch(jw.job("tests.jobs:noop", name="part"), name="once",
                     triggers=[jw.every("1h", emit_on_start=True, max_fires=1)])
    server = Server([(batch, "tests:once")], engine=jw.Engine(jw.Settings(store=store)),
                    owner="serve-1")
    (fire,) = server.tick()  # fires at once, and never again
    for handle in server.handles.values():
        handle.wait(timeout=20)
    (row,) = json.loads(cli("triggers", "list", "--json").stdout)["triggers"]
    assert (row["fires"], row["next"]) == (1, [])
    at = time.localtime(fire.scheduled.timestamp())
    assert cli("triggers", "list").stdout == (
        f"{row['id']}  tests:once  fires no more, last fire "
        f"{time.strftime('%Y-%m-%d %H:%M:%S %Z', at)}\n")


def test_fire_says_when_no_serve_process_serves_the_trigger(
        cli: Jobweave, store: str, spawn: Callable[..., subprocess.Popen[str]],
        target: Callable[[str], str], db: SqlStore) -> None:
    target("""
        hourly = jw.batch(jw.job("tests.jobs:noop", name="part"), name="hourly",
                          triggers=[jw.every("1h")])
    """)
    waits = "no 'jobweave serve' process serves it now: the fire waits for one"
    proc = spawn("serve", "flow.py:hourly")
    (row,) = wait_for(lambda: [r for r in TriggerTable(db).all() if r.lease_owner],
                      what="serve to lease its trigger")
    proc.send_signal(signal.SIGKILL)  # its lease stays in the row, naming a dead process
    proc.wait(timeout=10)
    (listed,) = json.loads(cli("triggers", "list", "--json").stdout)["triggers"]
    assert listed["served_by"] == row.lease_owner
    p = cli("triggers", "fire", listed["id"])
    assert (p.returncode, p.stdout) == (0, f"trigger {listed['id']}: fire asked; {waits}, "
                                           "which starts the run at its first round\n")
    again = cli("triggers", "fire", listed["id"])
    assert again.returncode == 1 and again.stdout.endswith(
        "still waiting (no 'jobweave serve' process serves it now)\n")
    # and a serve process that stopped cleanly released its lease
    server = _served(store)
    server.close()
    (other,) = [t["id"] for t in json.loads(cli("triggers", "list", "--json").stdout)[
        "triggers"] if t["definition"] == "tests:hourly"]
    assert waits in cli("triggers", "fire", other).stdout
