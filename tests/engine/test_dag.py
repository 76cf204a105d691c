"""Dependencies: after= ordering, output bindings, skipped dependents, run_anyway."""

from __future__ import annotations

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests import jobs
from tests.conftest import BACKENDS

pytestmark = BACKENDS


def test_after_orders_jobs(store_url: str, request: pytest.FixtureRequest) -> None:
    key = request.node.nodeid
    setup = jw.job(jobs.flaky, key=key + "/setup", fails=0, name="setup")
    loads = [jw.job(jobs.flaky, key=f"{key}/load{i}", fails=0, name=f"load{i}", after=setup)
             for i in range(3)]
    report = jw.job(jobs.flaky, key=key + "/report", fails=0, name="report", after=loads)
    result = jw.run([report, loads, setup], store=store_url)  # order given does not matter
    assert result.ok

    setup_r = result.job("setup")
    for i in range(3):
        load = result.job(f"load{i}")
        assert setup_r.finished_at is not None and load.started_at is not None
        assert load.started_at >= setup_r.finished_at
        assert jobs.STARTS[f"{key}/load{i}"][0] >= jobs.STARTS[key + "/setup"][0]
        assert result.job("report").started_at >= load.finished_at  # type: ignore[operator]
    # the journal shows each completion before anything that waited on it started
    journal = list(open_store(store_url).journal(result.run_id))
    done_at = {e["node"]: e["seq"] for e in journal if e["event"] == "completed"}
    for i in range(3):
        assert done_at["setup"] < done_at[f"load{i}"] < done_at["report"]


def test_output_bindings_deliver_upstream_outputs(store_url: str) -> None:
    a = jw.job(jobs.add, a=1, b=2, name="a")
    b = jw.job(jobs.add, a=10, b=20, name="b")
    c = jw.job(jobs.echo, value={"k": [1]}, name="c")
    one = jw.job(jobs.add, a=jw.output(a), b=100, name="one")
    many = jw.job(jobs.total, parts=jw.output([a, b, one]), name="many")
    from_batch = jw.job(jobs.echo, value=jw.output(jw.batch(a, c)), name="from-batch")
    result = jw.run([many, from_batch], store=store_url)  # upstreams are pulled in

    assert result.ok
    assert result.job("one").output == 103
    assert result.job("many").output == 3 + 30 + 103
    assert result.job("from-batch").output == [3, {"k": [1]}]
    assert {j.name for j in result.jobs} == {"a", "b", "c", "one", "many", "from-batch"}
    # the stored definition records the bindings by job name
    definition = open_store(store_url).submitted(result.run_id)["definition"]
    nodes = {n["name"]: n for n in definition["nodes"]}
    assert nodes["many"]["bindings"] == [{"param": "parts", "from": ["a", "b", "one"],
                                          "many": True}]


def test_a_chain_passes_values_down(store_url: str) -> None:
    prev = jw.job(jobs.add, a=0, b=1, name="step0")
    chain = [prev]
    for i in range(1, 30):
        prev = jw.job(jobs.add, a=jw.output(prev), b=1, name=f"step{i}")
        chain.append(prev)
    result = jw.run(chain, store=store_url)
    assert result.ok
    assert result.job("step29").output == 30


def test_a_fault_skips_dependents_and_their_dependents(store_url: str) -> None:
    broken = jw.job(jobs.fail, message="source down", name="extract")
    fine = jw.job(jobs.echo, value=1, name="other")
    transform = jw.job(jobs.echo, value=jw.output(broken), name="transform")
    load = jw.job(jobs.noop, after=transform, name="load")
    audit = jw.job(jobs.noop, after=[load, fine], name="audit")
    result = jw.run([broken, fine, transform, load, audit], store=store_url)

    statuses = {j.name: j.status for j in result.jobs}
    assert statuses == {"extract": "faulted", "other": "completed", "transform": "skipped",
                        "load": "skipped", "audit": "skipped"}
    for name in ("transform", "load", "audit"):
        j = result.job(name)
        assert j.attempts == 0 and j.started_at is None
        assert j.error == "an upstream job did not complete"
    assert (result.status, result.exit_code) == ("failed", 1)
    journal = list(open_store(store_url).journal(result.run_id))
    assert {e["node"] for e in journal if e["event"] == "skipped"} == {"transform", "load",
                                                                       "audit"}
    assert not [e for e in journal if e["event"] == "started" and e["node"] == "load"]


def test_run_anyway_runs_after_an_upstream_fault(store_url: str) -> None:
    broken = jw.job(jobs.fail, name="extract")
    cleanup = jw.job(jobs.echo, value="cleaned", after=broken, run_anyway=True, name="cleanup")
    after_cleanup = jw.job(jobs.echo, value="next", after=cleanup, name="next")
    result = jw.run([broken, cleanup, after_cleanup], store=store_url)
    assert result.job("cleanup").status == "completed"
    assert result.job("cleanup").output == "cleaned"
    assert result.job("next").status == "completed"
    assert result.exit_code == 1  # the fault still fails the run


def test_a_cycle_is_refused_before_a_run(store_url: str) -> None:
    a = jw.job(jobs.noop, name="a")
    b = jw.job(jobs.noop, name="b", after=a)
    object.__setattr__(a, "after", (b,))  # jobs are frozen: only a cheat builds a cycle
    with pytest.raises(jw.CycleError) as info:
        jw.run([a, b], store=store_url)
    assert set(info.value.cycle) == {"a", "b"}
    assert open_store(store_url).list_runs() == []
