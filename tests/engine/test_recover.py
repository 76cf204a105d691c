"""Recovery through the Python API: replay, execute_when_recovering, selectors, torn tails."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from jobweave.store.export import export_lines
from tests import jobs
from tests.conftest import BACKENDS

pytestmark = BACKENDS


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    jobs.CALLS.clear()


def _pipeline() -> list[jw.Job]:
    a = jw.job("tests.jobs:recorded", x=1, name="a", tags=["extract"])
    b = jw.job("tests.jobs:recorded", x=jw.output(a), name="b")
    c = jw.job("tests.jobs:recovering", v=jw.output(b), name="c", execute_when_recovering=True)
    d = jw.job("tests.jobs:recorded", x=5, name="d")
    return [a, b, c, d]


def test_recover_reuses_outputs_and_invokes_only_what_asks_to_be(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    assert first.ok
    jobs.CALLS.clear()

    again = jw.recover(first.run_id, store=store_url)

    assert again.ok and again.run_id != first.run_id
    assert jobs.CALLS == [("recovering", True)]  # a, b and d were replayed, not invoked
    assert again.outputs["b"] == 4 and again.outputs["d"] == 10
    assert again.outputs["c"] == {"v": 4, "recovered": True,
                                  "previous": {"v": 4, "recovered": False, "previous": None}}
    record = open_store(store_url).get_run(again.run_id)
    assert record.parent_run == first.run_id


def test_changed_selectors_rerun_the_match_and_everything_downstream(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    plan = jw.recovery_plan(first.run_id, store=store_url, changed=["tag=extract"])
    actions = {d.name: (d.action, d.reason) for d in plan.decisions}
    assert actions["a"] == ("rerun", "selected as changed")
    assert actions["b"] == ("rerun", "downstream of a")
    assert actions["c"] == ("rerun", "downstream of b")
    assert actions["d"] == ("replay", "completed in the journal")

    by_data = jw.recovery_plan(first.run_id, store=store_url, changed=["data=v"])
    assert {d.name for d in by_data.decisions if d.action == "rerun"} == {"c"}

    jobs.CALLS.clear()
    jw.recover(first.run_id, store=store_url, changed=["name=b"])
    assert sorted(jobs.CALLS) == [("recorded", 2), ("recovering", False)]


def test_a_recovered_run_can_itself_be_recovered(store_url: str) -> None:
    # more jobs than one replay record holds, so the chunked records are read back
    first = jw.run([jw.job("tests.jobs:noop", i=i) for i in range(2500)], store=store_url)
    second = jw.recover(first.run_id, store=store_url)
    plan = jw.recovery_plan(second.run_id, store=store_url)
    assert plan.as_dict()["counts"] == {"replay": 2500, "rerun": 0, "execute": 0, "run": 0}
    events = [r["event"] for r in open_store(store_url).journal(second.run_id)]
    assert events.count("replayed") == 3


def test_a_torn_last_line_is_dropped_with_a_note(store_url: str, tmp_path: Path) -> None:
    first = jw.run(_pipeline(), store=store_url)
    lines = list(export_lines(open_store(store_url).journal(first.run_id)))
    path = tmp_path / "torn.jsonl"
    path.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])

    plan = jw.recovery_plan(str(path), store=store_url)

    assert len(plan.dropped) == 1 and "torn.jsonl" in plan.dropped[0]
    assert plan.count("replay") == 3  # the torn line was run_finished; every job is kept


def test_a_different_definition_is_refused_unless_told(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    changed = [*_pipeline(), jw.job("tests.jobs:recorded", x=9, name="e")]
    with pytest.raises(jw.JournalMismatch, match="different definition"):
        jw.recovery_plan(first.run_id, changed, store=store_url)
    plan = jw.recovery_plan(first.run_id, changed, store=store_url, force=True)
    assert {d.name: d.action for d in plan.decisions}["e"] == "run"


def test_a_run_still_running_is_not_recovered_beside_itself(store_url: str) -> None:
    started = threading.Event()
    handle = jw.submit([jw.job("tests.jobs:slow_step", label="a", seconds=1.0, name="a"),
                        jw.job("tests.jobs:step", label="b", name="b",
                               after=[jw.job("tests.jobs:step", label="z", name="z")])],
                       store=store_url,
                       listeners=[lambda e: isinstance(e, jw.JobStarted) and started.set()])
    assert started.wait(10)
    with pytest.raises(jw.RunOwnedError) as caught:
        jw.recover(handle.run_id, store=store_url)
    assert caught.value.run_id == handle.run_id
    # what it would do may still be asked, and nothing was created
    assert jw.recovery_plan(handle.run_id, store=store_url).source_run == handle.run_id
    assert [r.run_id for r in open_store(store_url).list_runs()] == [handle.run_id]
    assert handle.wait(timeout=30).ok
    assert jw.recover(handle.run_id, store=store_url).ok  # once it stopped, it may be


def test_recovering_a_finished_or_paused_run_leaves_it_as_it_was(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    db = open_store(store_url)
    journal = list(db.journal(first.run_id))
    assert jw.recover(first.run_id, store=store_url).ok
    assert db.get_run(first.run_id).status == "completed"
    assert list(db.journal(first.run_id)) == journal  # nothing written to the source
    assert db.set_aside(first.run_id) is None


def test_a_crashed_run_is_set_aside_and_its_dead_owner_fenced_out(store_url: str) -> None:
    import socket
    import subprocess
    import sys

    engine = jw.Engine(jw.Settings(store=store_url))
    run_id, _ = engine.create(_pipeline())
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    db = open_store(store_url)
    owner = f"{socket.gethostname()}:{gone.stdout.strip()}"  # a process that has exited
    claim = db.claim(run_id, owner)
    assert db.get_run(run_id).status == "crashed"
    assert db.set_aside(run_id, by="test") == "crashed"
    record = db.get_run(run_id)
    assert record.status == "paused" and record.owner is None
    last = list(db.journal(run_id))[-1]
    assert last["event"] == "run_paused" and last["data"] == {
        "action": "recover", "was": "crashed", "by": "test"}
    with pytest.raises(jw.RunOwnedError):  # the dead owner's epoch writes nothing more
        db.commit(run_id, [], [], {"status": "running"}, epoch=claim.epoch)
    assert db.set_aside(run_id) is None  # paused now: left alone
    assert jw.recover(run_id, store=store_url).ok
