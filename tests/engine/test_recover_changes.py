"""Recovery with a changed definition: what changed runs again, whatever --changed names."""

from __future__ import annotations

import pytest

import jobweave as jw
from tests import jobs
from tests.conftest import BACKENDS


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    jobs.CALLS.clear()


def _pipeline(d: int = 5, *extra: jw.Job) -> list[jw.Job]:
    a = jw.job("tests.jobs:recorded", x=1, name="a", tags=["extract"])
    b = jw.job("tests.jobs:recorded", x=jw.output(a), name="b")
    dj = jw.job("tests.jobs:recorded", x=d, name="d")
    f = jw.job("tests.jobs:recorded", x=jw.output(dj), name="f")  # unchanged, downstream of d
    return [a, b, dj, f, *extra]


def _actions(plan: jw.RecoveryPlan) -> dict[str, tuple[str, str]]:
    return {d.name: (d.action, d.reason) for d in plan.decisions}


@BACKENDS
def test_a_changed_job_no_selector_names_runs_again_with_its_downstream(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    assert first.outputs["d"] == 10 and first.outputs["f"] == 20
    jobs.CALLS.clear()

    again = jw.recover(first.run_id, _pipeline(6), store=store_url, changed=["name=b"])

    assert again.ok
    # d's parameter changed from 5 to 6: its old output 10 does not stand
    assert again.outputs["d"] == 12 and again.outputs["f"] == 24
    assert sorted(jobs.CALLS) == [("recorded", 2), ("recorded", 6), ("recorded", 12)]


def test_the_plan_says_which_jobs_the_definition_diff_reruns(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    new = jw.job("tests.jobs:recorded", x=7, name="e")
    plan = jw.recovery_plan(first.run_id, _pipeline(6, new), store=store_url,
                            changed=["name=b"])
    assert _actions(plan) == {
        "a": ("replay", "completed in the journal"),
        "b": ("rerun", "selected as changed"),
        "d": ("rerun", "definition changed (params)"),
        "f": ("rerun", "downstream of d"),
        "e": ("run", "new in the definition"),
    }
    assert not plan.digest_matches
    assert plan.as_dict()["jobs"][2] == {"name": "d", "action": "rerun",
                                         "reason": "definition changed (params)"}


def test_a_job_after_an_added_one_runs_again(store_url: str) -> None:
    def sched(*first_batch: jw.Job) -> jw.Schedule:
        return jw.schedule([[jw.job("tests.jobs:recorded", x=1, name="a"), *first_batch],
                            [jw.job("tests.jobs:recorded", x=2, name="later"),
                             jw.job("tests.jobs:recorded", x=4, name="other")]], name="s")

    first = jw.run(sched(), store=store_url)
    added = jw.job("tests.jobs:recorded", x=3, name="added")
    plan = jw.recovery_plan(first.run_id, sched(added), store=store_url,
                            changed=["name=other"])
    actions = _actions(plan)
    assert actions["added"] == ("run", "new in the definition")
    assert actions["later"] == ("rerun", "downstream of added")  # its batch follows
    assert actions["a"] == ("replay", "completed in the journal")
    # --force replays what the journal holds: the new job runs, nothing else does
    forced = _actions(jw.recovery_plan(first.run_id, sched(added), store=store_url, force=True))
    assert forced["added"] == ("run", "new in the definition")
    assert {forced[n][0] for n in ("a", "later", "other")} == {"replay"}


def test_force_is_the_one_way_to_replay_a_changed_job(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    plan = jw.recovery_plan(first.run_id, _pipeline(6), store=store_url, force=True)
    assert _actions(plan)["d"] == ("replay", "definition changed (params); replayed (--force)")
    assert _actions(plan)["f"] == ("replay", "completed in the journal")
    jobs.CALLS.clear()
    forced = jw.recover(first.run_id, _pipeline(6), store=store_url, force=True)
    assert forced.outputs["d"] == 10 and jobs.CALLS == []
    # --force with a selector: the selected jobs run, changed ones are still replayed
    both = jw.recovery_plan(first.run_id, _pipeline(6), store=store_url, force=True,
                            changed=["name=a"])
    assert _actions(both)["a"] == ("rerun", "selected as changed")
    assert _actions(both)["d"][0] == "replay"


def test_an_unchanged_definition_replays_as_before(store_url: str) -> None:
    first = jw.run(_pipeline(), store=store_url)
    plan = jw.recovery_plan(first.run_id, _pipeline(), store=store_url)
    assert plan.digest_matches and plan.count("replay") == 4
