"""Recover from a journal cut by a crash (torn last line included), SIGKILL the
recovery, resume it: recorded completions are never invoked again."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import SqlStore
from jobweave.store.export import export_lines
from tests.crash.conftest import Reference
from tests.crash.harness import Children, check_final, invocations, kill_somewhere

pytestmark = [pytest.mark.crash, pytest.mark.timeout(300)]


def _cut_journal(store: SqlStore, run_id: str, path: Path, rng: random.Random) -> set[str]:
    """Export the journal, keep a random 30-70% of it plus a torn piece of the next
    line; return the jobs whose completion the kept lines hold."""
    lines = list(export_lines(store.journal(run_id)))
    cut = rng.randint(len(lines) * 3 // 10, len(lines) * 7 // 10)
    torn = lines[cut][:rng.randint(1, len(lines[cut]) - 2)]
    path.write_text("".join(lines[:cut]) + torn, encoding="utf-8")
    return {r["node"] for r in map(json.loads, lines[:cut]) if r["event"] == "completed"}


def test_recover_a_torn_journal_kill_the_recovery_and_resume_it(
        seed: int, rng: random.Random, reference: Reference, copied: SqlStore,
        store_path: Path, results_path: Path, tmp_path: Path, children: Children) -> None:
    why = f"JOBWEAVE_CRASH_SEED={seed}"
    total = len(reference.values)
    journal = tmp_path / "cut.jsonl"
    kept = _cut_journal(copied, reference.run_id, journal, rng)
    assert 0 < len(kept) < total

    plan = jw.recovery_plan(str(journal), store=str(store_path))
    assert len(plan.dropped) == 1 and "dropped the last line" in plan.dropped[0], \
        f"{why}: {plan.dropped}"
    replay = {d.name for d in plan.decisions if d.action == "replay"}
    assert replay == kept, f"{why}: the plan replays other jobs than the journal completed"
    assert plan.count("run") == total - len(kept)

    before = invocations(results_path)
    last_id = max(c.id for calls in before.values() for c in calls)
    child = children.start(["recover", str(store_path), str(journal)])
    started = child.line("started")
    assert started is not None, f"{why}: {child.describe()}"
    new_id = started.split()[1]
    assert new_id != reference.run_id
    kill_somewhere(rng, copied, new_id, child,
                   ceiling=len(kept) + (total - len(kept)) // 2)
    assert copied.get_run(new_id).status == "crashed", f"{why}: {copied.get_run(new_id)}"

    child = children.start(["resume", str(store_path), new_id])
    assert child.finish() == 0, f"{why}: {child.describe()}"
    assert child.line("finished") == f"finished {new_id} completed", child.describe()

    record = copied.get_run(new_id)
    assert record.parent_run == reference.run_id
    check_final(copied, new_id, results_path, reference.values,
                repeat_pids=children.killed_pids, since=last_id, replayed=replay, why=why)
    after = invocations(results_path)
    for name in replay:  # recorded completions: not invoked by the recovery, nor its resume
        assert after[name] == before[name], f"{why}: replayed {name} was invoked: {after[name]}"
    # the original run is untouched
    assert copied.get_run(reference.run_id).status == "completed"


def test_damage_before_the_last_line_is_refused(reference: Reference, copied: SqlStore,
                                                store_path: Path, tmp_path: Path) -> None:
    lines = list(export_lines(copied.journal(reference.run_id)))
    middle = len(lines) // 2
    lines[middle] = lines[middle].replace('"completed"', '"complete"', 1) \
        if '"completed"' in lines[middle] else lines[middle][:-5] + "\n"
    journal = tmp_path / "damaged.jsonl"
    journal.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(jw.JournalError, match=f"damaged.jsonl:{middle + 1}:"):
        jw.recover(str(journal), store=str(store_path))
    runs = copied.list_runs(limit=10)
    assert [r.run_id for r in runs] == [reference.run_id]
