"""What a job calls: resolved when it first starts, kept per node and shared per callable."""

from __future__ import annotations

from typing import Any

import pytest

import jobweave as jw
from jobweave.engine.targets import Targets
from jobweave.errors import JobweaveError
from jobweave.plan import compile_plan
from tests import jobs


def wants(value: int, context: Any) -> int:
    return value


def test_jobs_of_one_callable_share_what_it_resolved_to() -> None:
    plan = compile_plan(jw.batch([jw.job(jobs.noop, i=i) for i in range(3)]
                                 + [jw.job(wants, value=1)]))
    targets = Targets(len(plan.nodes))
    first, second, third, other = (targets.task_target(n) for n in plan.nodes)
    assert first[0] is jobs.noop and first[1] == plan.nodes[0].target
    assert first[2] is False
    assert second is first and third is first  # one lookup for the batch
    assert other[0] is wants and other[2] is True
    assert targets.ready[1] is first  # a retry looks nothing up


def test_a_reference_resolves_per_node_and_a_bad_one_raises() -> None:
    plan = compile_plan(jw.batch([jw.job("tests.jobs:add", a=1, b=2),
                                  jw.shell("true")]))
    targets = Targets(len(plan.nodes))
    fn, ref, context = targets.task_target(plan.nodes[0])
    assert fn is jobs.add and ref == "tests.jobs:add" and context is False
    shell = targets.task_target(plan.nodes[1])
    assert shell[0] is not jobs.add and shell[2] is True  # the shell runner takes a context
    broken = plan.nodes[0]
    broken.fn, broken.target = None, "tests.jobs:no_such_job"
    with pytest.raises(JobweaveError):
        Targets(len(plan.nodes)).task_target(broken)
