"""Pausing a served trigger, resuming it and asking it to fire now, as the dashboard does:
changes of the trigger's row that the serving loop honours with its conditional claim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jobweave as jw
from jobweave.store.access import requests_of
from jobweave.store.triggers import TriggerTable
from tests.conftest import BACKENDS
from tests.serve.test_loop import T0, _batch, _blocked, _finish, _runs, _server


def _at(seconds: float) -> float:
    return (T0 + timedelta(seconds=seconds)).timestamp()


@BACKENDS
def test_a_paused_trigger_fires_nothing_and_skips_what_passed_while_paused(
        store_url: str) -> None:
    server = _server(store_url, _batch(jw.every("1m")))
    assert server.tick(T0) == []  # served: the row is claimed (and cached by the server)
    table = TriggerTable(server.engine.store)
    (row,) = table.all()
    assert table.set_paused(row.key, True, now=_at(1)).paused
    # the server's cached row says "active": its claim does not match and it reads again
    assert server.tick(T0 + timedelta(seconds=30)) == []
    assert server.tick(T0 + timedelta(seconds=90)) == []
    assert table.all()[0].last_fire == T0.timestamp() and _runs(store_url) == []
    resumed = table.set_paused(row.key, False, now=_at(100))
    assert not resumed.paused and resumed.last_fire == _at(100)
    # 10:01 and 10:02 passed while paused: skipped, not caught up; 10:03 fires
    assert server.tick(T0 + timedelta(seconds=100)) == []
    fired = server.tick(T0 + timedelta(seconds=150))
    assert [(f.action, f.scheduled) for f in fired] == [("started", T0 + timedelta(seconds=150))]
    _finish(server)


@BACKENDS
def test_a_fire_asked_starts_one_run_across_two_servers_even_when_paused(
        store_url: str) -> None:
    first = _server(store_url, _batch(jw.every("1h")), owner="a")
    other = _server(store_url, _batch(jw.every("1h")), owner="b")
    first.tick(T0)
    table = TriggerTable(first.engine.store)
    (row,) = table.all()
    table.set_paused(row.key, True, now=_at(1))
    assert table.ask_fire(row.key, "alice", now=_at(2))
    assert not table.ask_fire(row.key, "bob", now=_at(3))  # one ask waits at a time
    now = T0 + timedelta(seconds=5)
    fired = other.tick(now) + first.tick(now) + other.tick(now) + first.tick(now)
    assert [(f.action, f.scheduled) for f in fired] == [("started", T0 + timedelta(seconds=2))]
    _finish(first)
    after = table.all()[0]
    assert (after.fires, after.fire_asked, after.fire_asked_by, after.paused) == (
        1, None, None, True)
    (run,) = _runs(store_url)
    assert run.status == "completed" and run.run_id == fired[0].run_id
    (logged,) = requests_of(first.engine.store, run.run_id)  # the run's journal says who
    assert (logged.actor, logged.what, logged.detail["event"]) == ("alice", "fire-now",
                                                                   "run_started")


@BACKENDS
def test_a_fire_asked_is_seen_at_the_next_renewal_even_for_a_trigger_done(
        store_url: str) -> None:
    server = _server(store_url, _batch(jw.every("1m", max_fires=1)))
    server.tick(T0)
    assert len(server.tick(T0 + timedelta(seconds=30))) == 1
    _finish(server)
    assert server.tick(T0 + timedelta(seconds=31)) == [] and server.done
    table = TriggerTable(server.engine.store)
    table.ask_fire(table.all()[0].key, "alice", now=_at(32))
    server.nudge()
    fired = server.tick(T0 + timedelta(seconds=33))
    assert [f.action for f in fired] == ["started"]
    _finish(server)
    assert table.all()[0].fires == 2


def test_a_queued_fire_waits_while_paused_and_starts_on_resume(tmp_path: Any) -> None:
    url = str(tmp_path / "s.db")
    server = _server(url, _blocked("queue"))
    server.tick(T0)
    (first,) = server.tick(T0 + timedelta(seconds=31))
    assert [f.action for f in server.tick(T0 + timedelta(seconds=91))] == ["queued"]
    table = TriggerTable(server.engine.store)
    key = table.all()[0].key
    table.set_paused(key, True, now=_at(95))
    assert first.run_id is not None
    server.handles[first.run_id].cancel()
    server.handles[first.run_id].wait(timeout=20)
    assert server.tick(T0 + timedelta(seconds=151)) == []  # its run ended, but paused
    table.set_paused(key, False, now=_at(160))
    after = server.tick(T0 + timedelta(seconds=161))
    assert [(f.action, f.scheduled) for f in after] == [("started", T0 + timedelta(seconds=90))]
    for handle in server.handles.values():
        handle.cancel()
    _finish(server)
