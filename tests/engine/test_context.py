"""Jobs that declare ``context`` get one; values in and out must be JSON data."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests import jobs


def test_a_job_that_declares_context_sees_its_run_job_attempt_and_token(store_url: str) -> None:
    result = jw.run([jw.job(jobs.whoami, name="a"), jw.job("tests.jobs:whoami", name="b",
                                                           tags=["t"])], store=store_url)
    assert result.ok
    for name in ("a", "b"):
        seen = result.job(name).output
        assert seen == {"run_id": result.run_id, "job": name, "attempt": 1,
                        "token": f"{result.run_id}/{name}/e2.a1"}


def test_a_job_without_a_context_parameter_gets_none(store_url: str) -> None:
    # echo takes **no** context: passing one would be a TypeError that faults the job
    result = jw.run(jw.job(jobs.echo, value="plain"), store=store_url)
    assert result.ok and result.jobs[0].output == "plain"


def test_the_context_is_the_real_thing(store_url: str) -> None:
    seen: dict[str, Any] = {}

    def look(context: jw.Context) -> None:
        seen["type"] = type(context)
        seen["cancelled"] = context.cancelled
        seen["tags"] = context.tags
        seen["thread"] = threading.current_thread().name
        context.check()  # not stopped: does not raise

    result = jw.run(jw.job(look, tags=["etl"]), store=store_url)
    assert result.ok
    assert seen == {"type": jw.Context, "cancelled": False, "tags": ("etl",),
                    "thread": "jobweave-worker"}


def test_an_output_that_is_not_json_faults_the_job_naming_the_problem(store_url: str) -> None:
    result = jw.run([jw.job(jobs.unserialisable, name="bad"),
                     jw.job(jobs.echo, value={"ok": True}, name="good")], store=store_url)
    bad = result.job("bad")
    assert (bad.status, bad.output) == ("faulted", None)
    assert bad.error is not None
    assert "output is not JSON-serialisable" in bad.error
    assert "object" in bad.error  # the offending type is named
    assert result.job("good").status == "completed"
    assert result.exit_code == 1
    stored = {j.name: j for j in open_store(store_url).get_jobs(result.run_id)}
    assert stored["bad"].status == "faulted" and stored["bad"].output is None


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", threading.Lock()])
def test_a_parameter_that_is_not_json_is_refused_before_a_run(store_url: str,
                                                              value: object) -> None:
    with pytest.raises(jw.DefinitionError) as info:
        jw.run([jw.job(jobs.noop), jw.job(jobs.echo, name="loader", value=value)],
               store=store_url)
    assert info.value.field == "loader.params.value"
    assert "not JSON-serialisable" in str(info.value)
    assert "loader" in str(info.value) and "value" in str(info.value)
    assert open_store(store_url).list_runs() == []


def test_json_parameters_and_outputs_round_trip(store_url: str) -> None:
    value = {"s": "é ✓", "n": [1, 2.5, None, True], "nested": {"k": []}}
    result = jw.run(jw.job(jobs.echo, value=value), store=store_url)
    assert result.jobs[0].output == value
    assert open_store(store_url).get_jobs(result.run_id)[0].output == value


def test_a_parameter_that_refers_to_itself_is_refused_naming_it(store_url: str) -> None:
    loop: dict[str, object] = {"a": 1}
    loop["self"] = loop
    with pytest.raises(jw.DefinitionError) as info:
        jw.run([jw.job(jobs.noop), jw.job(jobs.echo, name="loader", value=loop)],
               store=store_url)
    assert info.value.field == "loader.params.value"
    assert "not JSON-serialisable" in str(info.value)


def test_a_parameter_nested_past_the_recursion_limit_is_refused(store_url: str) -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(jw.DefinitionError) as info:
        jw.run(jw.job(jobs.echo, name="loader", value=deep), store=store_url)
    assert info.value.field == "loader.params.value"
