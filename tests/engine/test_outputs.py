"""Outputs travel as JSON: a job gets the same value however its run got there, and an
output JSON cannot carry faults its job (never the engine), resumed or not."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobweave as jw
from jobweave.engine.outputs import MAX_DEPTH
from jobweave.store import open_store
from tests.conftest import BACKENDS

DECODED = {"1": "one", "t": [1, 2], "n": {"deep": [3, [4]]}, "s": "x", "f": 0.5}
"""What ``tests.jobs:mixed`` returns, as JSON hands it on."""


def _flow(flag: Path) -> list[jw.Job]:
    producer = jw.job("tests.jobs:mixed", name="producer")
    other = jw.job("tests.jobs:nested", depth=1, name="other")
    consumer = jw.job("tests.jobs:describe", name="consumer", flag=str(flag),
                      one=jw.output(producer), many=jw.output([producer, other]))
    return [producer, other, consumer]


@BACKENDS
def test_a_job_gets_the_same_inputs_uninterrupted_resumed_and_recovered(
        store_url: str, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    expected = repr((DECODED, [DECODED, [0]]))

    flag.touch()
    straight = jw.run(_flow(flag), store=store_url)
    assert straight.ok
    flag.unlink()
    stopped = jw.run(_flow(flag), store=store_url)
    assert stopped.job("consumer").status == "faulted"
    flag.touch()
    resumed = jw.resume(stopped.run_id, store=store_url)
    recovered = jw.recover(straight.run_id, store=store_url, changed=["name=consumer"])
    exported = tmp_path / "stopped.jsonl"
    exported.write_text("".join(jw_journal_lines(store_url, stopped.run_id)))
    from_file = jw.recover(str(exported), store=store_url)  # consumer: not completed there

    runs = {"uninterrupted": straight, "resumed": resumed, "recovered": recovered,
            "recovered from a file": from_file}
    for how, result in runs.items():
        assert result.ok, how
        assert result.outputs["consumer"] == expected, how
        assert result.outputs["producer"] == DECODED, how
        assert type(result.outputs["producer"]["t"]) is list, how
    stored = {j.name: j.output for j in open_store(store_url).get_jobs(straight.run_id)}
    assert stored["producer"] == DECODED


def jw_journal_lines(store_url: str, run_id: str) -> list[str]:
    from jobweave.store.export import export_lines

    return list(export_lines(open_store(store_url).journal(run_id)))


@pytest.mark.parametrize("job, params, why", [
    ("nested", {"depth": 1000}, f"nests deeper than {MAX_DEPTH} levels"),  # RecursionError
    ("nested", {"depth": MAX_DEPTH + 1}, f"nests deeper than {MAX_DEPTH} levels"),
    ("not_a_number", {"which": "nan"}, "NaN or Infinity"),
    ("not_a_number", {"which": "-inf"}, "NaN or Infinity"),
    ("unserialisable", {}, "object"),
])
def test_an_output_json_cannot_carry_faults_its_job_and_the_run_goes_on(
        tmp_path: Path, job: str, params: dict[str, object], why: str) -> None:
    store = str(tmp_path / "store.db")
    bad = jw.job(f"tests.jobs:{job}", name="bad", **params)
    flow = [bad, jw.job("tests.jobs:echo", value=1, name="fine"),
            jw.job("tests.jobs:echo", value=jw.output(bad), name="after_bad")]
    first = jw.run(flow, store=store)
    assert first.status == "failed"
    assert first.job("fine").status == "completed"
    assert first.job("after_bad").status == "skipped"
    assert first.job("bad").status == "faulted"
    assert "output is not JSON-serialisable: " in (first.job("bad").error or "")
    assert why in (first.job("bad").error or "")
    # resuming runs it again: it faults the same clear way, and the engine stands
    again = jw.resume(first.run_id, store=store)
    assert again.status == "failed" and again.job("bad").attempts == 2
    assert why in (again.job("bad").error or "")
    # nothing JSON cannot carry reached the journal: it exports and reads back
    lines = jw_journal_lines(store, first.run_id)
    path = tmp_path / "j.jsonl"
    path.write_text("".join(lines))
    assert jw.recovery_plan(str(path), store=store).count("replay") == 1


def test_an_output_as_deep_as_allowed_is_kept(tmp_path: Path) -> None:
    store = str(tmp_path / "store.db")
    deep = jw.job("tests.jobs:nested", depth=MAX_DEPTH - 1, name="deep")
    result = jw.run([deep, jw.job("tests.jobs:echo", value=jw.output(deep), name="next")],
                    store=store)
    assert result.ok
    value = result.outputs["next"]
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == 0


@pytest.mark.parametrize("param", [float("nan"), float("inf"), [1.0, float("-inf")]])
def test_a_parameter_json_cannot_carry_is_refused_before_a_run(tmp_path: Path,
                                                               param: object) -> None:
    store = str(tmp_path / "store.db")
    with pytest.raises(jw.DefinitionError) as caught:
        jw.run(jw.job("tests.jobs:echo", value=param, name="j"), store=store)
    assert caught.value.field == "j.params.value"
    with pytest.raises(jw.DefinitionError, match="backoff"):
        jw.run(jw.job("tests.jobs:echo", retries=1, backoff=float("inf")), store=store)
    assert open_store(store).list_runs() == []
