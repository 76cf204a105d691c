"""The serving loop, driven by hand: an injected clock and one round per ``tick(now)``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import jobweave as jw
from jobweave.engine.serve import Server
from jobweave.store.sql import SqlStore
from jobweave.store.triggers import TriggerTable
from tests import jobs
from tests.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC)
"""A Monday, half a minute past 10:00 UTC."""


def _batch(*triggers: jw.triggers.Trigger, job: Any = None, name: str = "tick") -> jw.Batch:
    return jw.batch(job or jw.job(jobs.noop, name="noop"), name=name, triggers=list(triggers))


def _server(url: str, definition: Any, *, at: datetime = T0, owner: str = "me",
            source: str = "tests:definition") -> Server:
    engine = jw.Engine(jw.Settings(store=url))
    return Server([(definition, source)], engine=engine, now=lambda: at, owner=owner,
                  takeover=False)


def _runs(url: str) -> list[jw.store.RunRecord]:
    return jw.Engine(jw.Settings(store=url)).store.list_runs(limit=1000)


def _finish(server: Server) -> None:
    for handle in server.handles.values():
        handle.wait(timeout=20)


@BACKENDS
def test_each_fire_time_starts_one_run_and_stores_the_trigger(store_url: str) -> None:
    server = _server(store_url, _batch(jw.every("1m")))
    assert server.tick(T0) == []  # first served: nothing missed, nothing due yet
    fired = server.tick(T0 + timedelta(seconds=30))
    assert [(f.action, f.scheduled) for f in fired] == [("started", T0 + timedelta(seconds=30))]
    assert server.tick(T0 + timedelta(seconds=45)) == []
    assert server.tick(T0 + timedelta(seconds=30)) == []
    _finish(server)
    runs = _runs(store_url)
    assert [(r.run_id, r.status, r.name) for r in runs] == [(fired[0].run_id, "completed",
                                                             "tick")]
    (row,) = TriggerTable(server.engine.store).all()
    assert (row.fires, row.last_run, row.lease_owner) == (1, fired[0].run_id, "me")
    assert row.last_fire == (T0 + timedelta(seconds=30)).timestamp()


@BACKENDS
def test_a_restart_a_clock_stepped_back_and_two_servers_fire_nothing_twice(
        store_url: str) -> None:
    minute = T0 + timedelta(seconds=30)
    first = _server(store_url, _batch(jw.every("1m")), owner="a")
    first.tick(T0)
    assert len(first.tick(minute)) == 1
    _finish(first)
    # a restarted server (a new owner: the old one's lease is dead) fires nothing again
    again = _server(store_url, _batch(jw.every("1m")), owner="a")
    assert again.tick(minute) == [] and again.tick(minute + timedelta(seconds=20)) == []
    # the clock steps back an hour, then walks forward again: nothing before the stored
    # last fire is due again
    back = minute - timedelta(hours=1)
    for k in range(0, 3601, 300):
        assert again.tick(back + timedelta(seconds=k)) == []
    # two servers tick at the same instants: each fire is claimed once
    other = _server(store_url, _batch(jw.every("1m")), owner="b")
    fired = []
    for k in range(1, 4):
        now = minute + timedelta(minutes=k, seconds=1)
        fired += again.tick(now) + other.tick(now)
        _finish(again)
        _finish(other)
    assert [f.scheduled for f in fired] == [minute + timedelta(minutes=k) for k in (1, 2, 3)]
    assert {f.action for f in fired} == {"started"}
    assert len(_runs(store_url)) == 4


def test_a_server_whose_lease_ran_out_is_taken_over(tmp_path: Any) -> None:
    url = str(tmp_path / "s.db")
    minute = T0 + timedelta(seconds=30)
    holder = _server(url, _batch(jw.every("1m")), owner="a")
    other = _server(url, _batch(jw.every("1m")), owner="b")
    holder.tick(T0)
    other.tick(T0)
    holder.tick(minute - timedelta(seconds=5))  # renews its lease
    assert other.tick(minute) == []  # "a" holds the lease: "b" leaves the fire to it
    assert other.seconds_to_wait(minute) > 0
    assert len(holder.tick(minute)) == 1
    _finish(holder)
    # "a" stops renewing; after the lease "b" fires
    later = minute + timedelta(minutes=1)
    assert [(f.scheduled, f.action) for f in other.tick(later + timedelta(seconds=1))] == [
        (later, "started")]
    _finish(other)
    assert len(_runs(url)) == 2


@pytest.mark.parametrize(("missed", "count"), [("skip", 0), ("once", 1), ("all", 5)])
def test_missed_fire_times_follow_the_policy(tmp_path: Any, missed: str, count: int) -> None:
    url = str(tmp_path / "s.db")
    trigger = jw.every("1h", missed=missed, overlap="allow")
    server = _server(url, _batch(trigger))
    server.tick(T0)
    # nothing served for five and a half hours: five fire times passed, none within grace
    later = _server(url, _batch(trigger), owner="later")
    fired = later.tick(T0 + timedelta(hours=5, minutes=30))
    assert len(fired) == count and all(f.action == "started" for f in fired)
    if missed == "all":
        assert [f.scheduled.hour for f in fired] == [11, 12, 13, 14, 15]
    if missed == "once":
        assert fired[0].scheduled == datetime(2026, 3, 2, 15, tzinfo=UTC)
    _finish(later)
    assert len(_runs(url)) == count


def _blocked(overlap: str) -> jw.Batch:
    return _batch(jw.every("1m", overlap=overlap),
                  job=jw.job(jobs.patient, seconds=60, name="long"))


@pytest.mark.parametrize(("overlap", "actions"), [
    ("skip", ["started", "skipped", "skipped"]),
    ("allow", ["started", "started", "started"]),
    ("queue", ["started", "queued", "skipped"]),
])
def test_overlap_is_judged_by_the_previous_run(tmp_path: Any, overlap: str,
                                               actions: list[str]) -> None:
    url = str(tmp_path / "s.db")
    server = _server(url, _blocked(overlap))
    server.tick(T0)
    fired = []
    for k in range(3):
        fired += server.tick(T0 + timedelta(seconds=31 + 60 * k))
    assert [f.action for f in fired] == actions
    first = fired[0].run_id
    assert first is not None
    # the first run ends: a queued fire starts now, at its own scheduled instant
    server.handles[first].cancel()
    server.handles[first].wait(timeout=20)
    after = server.tick(T0 + timedelta(seconds=31 + 120))
    if overlap == "queue":
        assert [(f.action, f.scheduled) for f in after] == [
            ("started", T0 + timedelta(seconds=90))]
    else:
        assert after == []
    for handle in server.handles.values():
        handle.cancel()
    _finish(server)
    started = sum(f.action == "started" for f in fired + after)
    assert len(_runs(url)) == started


def test_a_daily_local_time_fires_once_a_day_through_both_dst_changes(tmp_path: Any) -> None:
    url = str(tmp_path / "s.db")
    trigger = jw.at("02:30", tz="Europe/Warsaw", overlap="allow")
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    server = _server(url, _batch(trigger), at=start)
    fired = []
    for days, end in ((start, start + timedelta(days=3)),
                      (datetime(2026, 10, 23, 12, tzinfo=UTC),
                       datetime(2026, 10, 26, 12, tzinfo=UTC))):
        now = days
        while now <= end:
            fired += server.tick(now)
            now += timedelta(minutes=10)
    # autumn: the gap between the two windows is missed (skip) and fires nothing
    assert [f.scheduled.isoformat() for f in fired] == [
        "2026-03-28T01:30:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00",
        "2026-10-24T00:30:00+00:00", "2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
    assert {f.action for f in fired} == {"started"}
    _finish(server)
    assert len(_runs(url)) == 6


def test_max_fires_ends_the_trigger_and_the_loop_is_done(tmp_path: Any) -> None:
    url = str(tmp_path / "s.db")
    server = _server(url, _batch(jw.every("1m", max_fires=2, emit_on_start=True)))
    fired = server.tick(T0)
    assert [f.scheduled for f in fired] == [T0]
    fired += server.tick(T0 + timedelta(seconds=30))
    assert len(fired) == 2 and server.served[0].wake is None
    assert server.tick(T0 + timedelta(minutes=5)) == []
    _finish(server)
    assert server.done


def test_the_loop_sleeps_until_the_next_fire_at_most_the_renew_interval(
        tmp_path: Any) -> None:
    url = str(tmp_path / "s.db")
    server = _server(url, _batch(jw.every("1h")))
    server.tick(T0)
    assert server.seconds_to_wait(T0) == 5.0
    assert server.seconds_to_wait(T0 + timedelta(minutes=59, seconds=28)) == 2.0


def test_a_definition_without_triggers_is_refused(tmp_path: Any) -> None:
    with pytest.raises(jw.DefinitionError, match="carries no triggers"):
        _server(str(tmp_path / "s.db"), jw.batch(jw.job(jobs.noop)))


def test_a_deleted_trigger_row_is_served_anew(tmp_path: Any) -> None:
    url = str(tmp_path / "s.db")
    server = _server(url, _batch(jw.every("1m")))
    server.tick(T0)
    with server.engine.store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM jobweave_triggers")
    server.served[0].wake = T0  # look at it again at the next lease renewal
    assert server.tick(T0 + timedelta(seconds=6)) == []
    assert [r.last_fire for r in TriggerTable(server.engine.store).all()] == [None]
    server.served[0].wake = T0
    server.tick(T0 + timedelta(seconds=7))  # never served again: starts from now
    assert [r.last_fire for r in TriggerTable(server.engine.store).all()] == [
        (T0 + timedelta(seconds=7)).timestamp()]


class _Killed(BaseException):
    """Stands for this process dying inside the transaction that stores a fire's run."""


_CREATE_RUN = SqlStore.create_run


def _dies_after_the_claim(self: SqlStore, **kwargs: Any) -> None:
    """``SqlStore.create_run`` in a process killed once its transaction claimed the fire."""
    claim = kwargs["first"]

    def then_die(conn: Any) -> None:
        claim(conn)
        raise _Killed

    _CREATE_RUN(self, **{**kwargs, "first": then_die})


@BACKENDS
def test_a_fire_is_counted_only_with_its_run_stored(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a serve process killed between counting a fire and storing its run would lose the
    # fire: both are one transaction, so a fire that was not stored is not counted either
    server = _server(store_url, _batch(jw.every("1m")))
    assert server.tick(T0) == []
    monkeypatch.setattr(SqlStore, "create_run", _dies_after_the_claim)
    with pytest.raises(_Killed):
        server.tick(T0 + timedelta(seconds=30))
    monkeypatch.undo()
    assert _runs(store_url) == []
    assert TriggerTable(server.engine.store).all()[0].fires == 0
    fired = server.tick(T0 + timedelta(seconds=31))  # the next round makes it again
    assert [(f.action, f.scheduled) for f in fired] == [("started", T0 + timedelta(seconds=30))]
    _finish(server)
    (row,) = TriggerTable(server.engine.store).all()
    assert [r.run_id for r in _runs(store_url)] == [fired[0].run_id] == [row.last_run]
    assert row.fires == 1


@BACKENDS
def test_the_fires_of_one_round_are_stored_with_their_count_or_not_at_all(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # five missed fire times start five runs in one round: counted and stored in one
    # transaction, so a process killed part way leaves no counted fire without its run
    url = store_url
    trigger = jw.every("1h", missed="all", overlap="allow")
    _server(url, _batch(trigger)).tick(T0)
    later = _server(url, _batch(trigger), owner="later")
    stored: list[list[str]] = []

    def counted(self: SqlStore, **kwargs: Any) -> None:
        stored.append([kwargs["run_id"], *kwargs.get("also", ())])
        _CREATE_RUN(self, **kwargs)

    monkeypatch.setattr(SqlStore, "create_run", _dies_after_the_claim)
    with pytest.raises(_Killed):
        later.tick(T0 + timedelta(hours=5, minutes=30))
    assert _runs(url) == [] and TriggerTable(later.engine.store).all()[0].fires == 0
    monkeypatch.setattr(SqlStore, "create_run", counted)
    fired = later.tick(T0 + timedelta(hours=5, minutes=31))
    monkeypatch.undo()
    assert [f.scheduled.hour for f in fired] == [11, 12, 13, 14, 15]
    assert stored == [[f.run_id for f in fired]]  # one transaction for the five
    _finish(later)
    assert sorted(r.run_id for r in _runs(url)) == sorted(f.run_id for f in fired)
    assert {r.status for r in _runs(url)} == {"completed"}
    assert TriggerTable(later.engine.store).all()[0].fires == 5
