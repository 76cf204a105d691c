"""``jobweave triggers list|pause|resume|fire``: the dashboard's trigger actions from the
command line, with who asked, and honoured by a real serving loop on the same store."""

from __future__ import annotations

import json

import jobweave as jw
from jobweave.cli.app import cli_actor
from jobweave.engine.serve import Server
from jobweave.store import SqlStore
from jobweave.store.access import requests_of
from jobweave.store.triggers import TriggerTable
from jobweave.web.triggers_view import trigger_log
from tests.cli.helpers import Jobweave, one_error_line


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
    assert p.returncode == 0 and "fire asked" in p.stdout
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
