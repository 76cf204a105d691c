"""A compiled plan's definition is encoded once: the digest's text is what the store writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import jobweave as jw
from jobweave.engine import Engine
from jobweave.plan import compile_plan, plan_from_definition
from jobweave.settings import Settings
from tests import jobs


def _definitions() -> dict[str, Any]:
    a = jw.job(jobs.add, a=1, b=2, name="a", tags=["x"])
    b = jw.job(jobs.add, a=jw.output(a), b=0.5, retries=2, timeout=3.0)
    c = jw.job(jobs.total, parts=jw.output([a, b]), after=a)
    return {
        "batch": [jw.job(jobs.add, a=k, b=k) for k in range(3)],
        "dag": [c],
        "schedule": jw.schedule([jw.batch(jw.job(jobs.add, a=1, b=1, name="first")),
                                 [jw.shell("echo 'é ok'", name="second")]]),
        "flow": jw.flow([jw.job(jobs.add, a=1, b=2), jw.sleep(0)],
                        elements=[{"name": "h1", "context": {"role": "r", "w": float("nan")}},
                                  "h2"], mode="parallel", name="f"),
        # parameters out of order, nested dicts in and out of order: sorted by the encoder
        "unsorted": [jw.job(jobs.add, b=1, a=2),
                     jw.job(jobs.echo, value={"z": [1, {"b": 2, "a": None}], "y": "é"}),
                     jw.job(jobs.echo, value={"a": [{"a": 1, "b": True}], "b": 1.5})],
        "sorted": [jw.job(jobs.echo, value={"a": [{"a": 1, "b": True}], "b": 1.5},
                          retries=1, tags=["t"], timeout=2.0, run_anyway=True),
                   jw.job(jobs.describe, one=1, many=[2], flag="x")],
    }


@pytest.mark.parametrize("kind", ["batch", "dag", "schedule", "flow", "unsorted", "sorted"])
def test_the_text_is_the_definition_and_the_digest_is_the_stored_ones(kind: str) -> None:
    plan = compile_plan(_definitions()[kind])
    assert plan.encoded is not None
    decoded = json.loads(plan.encoded)
    # the nodes' text is the canonical one (sorted keys, compact), whichever way it was made
    canonical = json.dumps(plan.definition["nodes"], sort_keys=True, separators=(",", ":"))
    assert f'"nodes":{canonical}' in plan.encoded
    # NaN is not equal to itself: compare the canonical texts
    assert json.dumps(decoded, sort_keys=True) == json.dumps(plan.definition, sort_keys=True)
    # the digest a stored definition is checked against (resume, recover) is the same
    assert plan_from_definition(decoded).digest == plan.digest


def test_create_writes_the_compiled_text_as_it_is(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    engine = Engine(Settings(store=store))
    run_id, plan = engine.create(_definitions()["dag"])
    assert plan.encoded is not None
    (raw,) = sqlite3.connect(store).execute(
        "SELECT data FROM jobweave_journal WHERE run_id = ? AND seq = 1", (run_id,)).fetchone()
    assert plan.encoded in raw
    record = engine.store.submitted(run_id)
    assert record["definition"] == plan.definition
    assert record["digest"] == plan.digest and record["options"]["concurrency"] is None
