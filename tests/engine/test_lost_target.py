"""A stored reference that no longer loads faults its job; it does not crash the run."""

from __future__ import annotations

import jobweave as jw
from jobweave.plan import compile_plan, plan_from_definition


def test_a_target_that_no_longer_imports_faults_only_its_job(store_url: str) -> None:
    plan = compile_plan([jw.job("tests.jobs:noop", name="fine"),
                         jw.job("tests.jobs:noop", name="moved")])
    stored = plan.definition
    stored["nodes"][1]["target"] = "tests.no_such_module:noop"  # as if the code moved
    reloaded = plan_from_definition(stored)

    result = jw.Engine(jw.Settings(store=store_url)).submit(reloaded).wait(timeout=30)

    assert result.job("fine").status == "completed"
    moved = result.job("moved")
    assert moved.status == "faulted"
    assert "cannot load the job's target" in (moved.error or "")
    assert "tests.no_such_module" in (moved.error or "")
    assert result.exit_code == 1
