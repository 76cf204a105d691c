"""A compiled plan's definition is encoded once: the digest's text is what the store writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobweave as jw
from jobweave.engine import Engine
from jobweave.model.job import name_problem
from jobweave.plan import compile_plan, plan_from_definition
from jobweave.plan.nodes import digest_of
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


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | _text
            | st.floats(allow_nan=False, allow_infinity=False))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(_text, inner, max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(
    params=st.lists(st.dictionaries(st.sampled_from(["value", "b", "a", "z", "é"]), _values,
                                    max_size=4), min_size=1, max_size=4),
    names=st.lists(st.none() | _text.filter(lambda t: name_problem(t) is None), min_size=4,
                   max_size=4),
    options=st.lists(st.fixed_dictionaries({
        "retries": st.integers(0, 3),
        "timeout": st.none() | st.integers(1, 9) | st.floats(0.5, 9.5),
        "tags": st.lists(_text, max_size=2),
        "run_anyway": st.booleans(),
    }), min_size=4, max_size=4),
    fed=st.booleans(),
)
def test_the_stored_text_is_the_reference_encoding_for_any_parameters(
        params: list[dict[str, Any]], names: list[str | None], options: list[dict[str, Any]],
        fed: bool) -> None:
    made: list[jw.Job] = []
    for k, p in enumerate(params):
        name = names[k]
        if name is not None and any(name == j.name for j in made):
            name = None
        extra: dict[str, Any] = {"parts": jw.output(made[:2])} if fed and made else {}
        made.append(jw.job(jobs.swallow, name=name, after=made[-1:], params={**p, **extra},
                           **options[k]))
    plan = compile_plan(made)
    names_ = [n.name for n in plan.nodes]
    reference = json.dumps([n.definition(names_) for n in plan.nodes], sort_keys=True,
                           separators=(",", ":"), allow_nan=False)
    # the text written (encoded with or without sorting, by what the parameters need) is
    # the canonical one the digest is checked against on resume and recover
    assert f'"nodes":{reference}' in (plan.encoded or "")
    assert plan.digest == digest_of(json.loads(plan.encoded or "")["nodes"], {"kind": plan.kind})
