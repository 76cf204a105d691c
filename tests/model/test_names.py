"""Default job names are readable and unique; bad names and references stop before a run."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobweave as jw
from jobweave.store import open_store
from tests import jobs


@pytest.fixture
def engine(store_url: str) -> jw.Engine:
    return jw.Engine(jw.Settings(store=store_url))


def _names(engine: jw.Engine, definition: object) -> list[str]:
    return [n.name for n in engine.plan(definition).nodes]


def test_default_names_show_the_target_and_first_parameters(engine: jw.Engine) -> None:
    names = _names(engine, [
        jw.job(jobs.load_table, table="customers"),
        jw.job("tests.jobs:add", a=1, b=2),
        jw.job(jobs.pid),
        jw.shell("echo   hello\n  world"),
        jw.sleep(0.5),
    ])
    # a reference's name may carry its module's short name (``jobs.add``): both read well
    assert names[1].endswith("add[1,2]") and ":" not in names[1]
    assert [names[0], *names[2:]] == ["load_table[customers]", "pid",
                                      "shell[echo hello world]", "sleep[0.5]"]


def test_duplicate_default_names_get_a_numbered_suffix(engine: jw.Engine) -> None:
    names = _names(engine, [jw.job(jobs.load_table, table="customers") for _ in range(3)]
                   + [jw.job(jobs.load_table, table="orders")])
    assert names == ["load_table[customers]", "load_table[customers]#2",
                     "load_table[customers]#3", "load_table[orders]"]
    assert len(set(names)) == len(names)


def test_a_default_name_never_takes_an_explicit_one(engine: jw.Engine) -> None:
    names = _names(engine, [jw.job(jobs.pid), jw.job(jobs.pid, name="pid")])
    assert names == ["pid#2", "pid"]


def test_long_parameters_are_clipped(engine: jw.Engine) -> None:
    (name,) = _names(engine, jw.job(jobs.echo, value="x" * 500))
    assert name.startswith("echo[xxx") and len(name) < 60


def test_the_result_uses_the_same_names(store_url: str) -> None:
    result = jw.run([jw.job(jobs.load_table, table="customers"),
                     jw.job(jobs.load_table, table="customers")], store=store_url)
    assert [j.name for j in result.jobs] == ["load_table[customers]",
                                             "load_table[customers]#2"]
    assert result.job("load_table[customers]#2").output == "loaded customers"


def test_duplicate_explicit_names_are_refused_and_nothing_is_stored(store_url: str) -> None:
    with pytest.raises(jw.DefinitionError, match="two jobs are named 'load'"):
        jw.run([jw.job(jobs.noop, name="load"), jw.job(jobs.echo, name="load")],
               store=store_url)
    assert open_store(store_url).list_runs() == []


def test_an_unknown_module_reference_is_refused_and_nothing_is_stored(store_url: str) -> None:
    good = jw.job(jobs.noop)
    with pytest.raises(jw.DefinitionError) as info:
        jw.run([good, jw.job("tests.no_such_module:fn")], store=store_url)
    assert "tests.no_such_module" in str(info.value)
    assert info.value.field is not None and info.value.field.endswith("fn.target")
    assert open_store(store_url).list_runs() == []


def test_an_unknown_function_in_a_real_module_is_refused(store_url: str) -> None:
    with pytest.raises(jw.DefinitionError, match="has no 'no_such_function'") as info:
        jw.submit(jw.job("tests.jobs:no_such_function"), store=store_url)
    assert info.value.field is not None
    assert info.value.field.endswith("no_such_function.target")
    assert open_store(store_url).list_runs() == []


def test_a_reference_to_something_not_callable_is_refused(store_url: str) -> None:
    with pytest.raises(jw.DefinitionError, match="not callable"):
        jw.run(jw.job("tests.jobs:RUNNING"), store=store_url)
    assert open_store(store_url).list_runs() == []


def test_a_refused_definition_leaves_an_existing_store_unchanged(store_url: str) -> None:
    first = jw.run(jw.job(jobs.noop), store=store_url)
    before = [(r.run_id, r.status) for r in open_store(store_url).list_runs()]
    with pytest.raises(jw.DefinitionError):
        jw.run(jw.job("tests.jobs:missing"), store=store_url)
    after = [(r.run_id, r.status) for r in open_store(store_url).list_runs()]
    assert before == after == [(first.run_id, "completed")]
    assert Path(store_url).exists()
