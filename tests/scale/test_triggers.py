"""Triggers fire once across engines: three ``jobweave serve`` on one PostgreSQL store,
one of them SIGKILLed half-way."""

from __future__ import annotations

import signal
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from jobweave.store import close_all, open_store
from jobweave.store.triggers import TriggerTable
from tests.scale import helpers as h

pytestmark = [pytest.mark.crash, pytest.mark.timeout(180)]


def test_each_tick_makes_one_run_while_an_engine_is_killed(pg_store_url: str,
                                                            tmp_path: Path) -> None:
    (tmp_path / "tick.py").write_text(textwrap.dedent(f"""
        import jobweave as jw
        from tests.scale.jobs import mark

        tick = jw.batch(jw.job(mark, log={str(tmp_path / "side.log")!r}, seconds=0.0,
                               name="mark"), name="tick",
                        triggers=[jw.every("1s", overlap="allow")])
    """))
    engines = [h.serve(tmp_path, f"engine{i}", pg_store_url, "tick.py:tick") for i in range(3)]
    store = open_store(pg_store_url)
    try:
        for e in engines:
            h.wait_until(lambda e=e: "serving 1 trigger" in e.text(), 30, "the engines")

        def fires() -> int:
            rows = TriggerTable(store).all()
            return rows[0].fires if rows else 0

        h.wait_until(lambda: fires() >= 4, 30, "four fires")
        holder = TriggerTable(store).all()[0].lease_owner
        (victim,) = [e for e in engines if e.owner == holder]
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        at_kill = fires()
        h.wait_until(lambda: fires() >= at_kill + 4, 30,  # the others carry on
                     "four fires after the kill")
        for e in engines:
            h.stop(e)
        runs = store.list_runs(limit=1000)
        (row,) = TriggerTable(store).all()
        assert len(runs) == row.fires >= at_kill + 4
        # a run's id starts with its fire time (to the second): no tick made two runs
        ticks = Counter(r.run_id.rsplit("-", 1)[0] for r in runs)
        assert max(ticks.values()) == 1, ticks.most_common(3)
        # serve pauses the runs still going when it is stopped; a run stored by a fire
        # just before the stop is left pending, for the next serve to start
        assert {r.status for r in runs} <= {"completed", "paused", "running", "crashed",
                                            "pending"}
        survivors = [e for e in engines if e is not victim]
        assert all("Traceback" not in e.text() for e in survivors)
        assert sum("started run" in e.text() for e in survivors) >= 1
    finally:
        for e in engines:
            h.stop(e)
        close_all()
