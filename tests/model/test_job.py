"""jw.job / jw.shell / jw.sleep refuse bad options at definition time, naming the field."""

from __future__ import annotations

import math

import pytest

import jobweave as jw
from tests import jobs


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"retries": -1}, "retries", "whole number >= 0"),
        ({"retries": 1.5}, "retries", "whole number >= 0"),
        ({"retries": True}, "retries", "whole number >= 0"),
        ({"timeout": -2}, "timeout", "seconds >= 0"),
        ({"timeout": 0}, "timeout", "positive"),
        ({"timeout": math.inf}, "timeout", "seconds >= 0"),
        ({"retry_delay": -0.5}, "retry_delay", "seconds >= 0"),
        ({"retry_delay": math.nan}, "retry_delay", "seconds >= 0"),
        ({"backoff": 0.5}, "backoff", ">= 1"),
        ({"backoff": "2"}, "backoff", ">= 1"),
    ],
)
def test_bad_options_are_refused_naming_the_field(
    options: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(jw.DefinitionError) as info:
        jw.job(jobs.noop, **options)  # type: ignore[arg-type]
    assert info.value.field == f"noop.{field}"
    assert words in info.value.message
    assert str(info.value).startswith(f"noop.{field}: ")


def test_the_field_names_the_job_by_its_explicit_name() -> None:
    with pytest.raises(jw.DefinitionError) as info:
        jw.job(jobs.noop, name="nightly-load", retries=-3)
    assert info.value.field == "nightly-load.retries"


@pytest.mark.parametrize("target", [42, None, 3.5, ["tests.jobs:noop"]])
def test_a_target_that_is_neither_callable_nor_a_reference_is_refused(target: object) -> None:
    with pytest.raises(jw.DefinitionError) as info:
        jw.job(target)  # type: ignore[arg-type]
    assert "callable or a 'module:function' reference" in str(info.value)
    assert info.value.field is not None and info.value.field.endswith(".target")


@pytest.mark.parametrize("ref", ["tests.jobs.noop", "noop", ":noop", ""])
def test_a_malformed_reference_string_is_refused(ref: str) -> None:
    with pytest.raises(jw.DefinitionError, match="module:function"):
        jw.job(ref)


def test_good_options_are_kept_as_plain_data() -> None:
    j = jw.job(jobs.add, name="sum", retries=2, retry_delay=0.5, backoff=3, timeout=10,
               tags=["etl", "nightly"], a=1, b=2)
    assert (j.name, j.retries, j.retry_delay, j.backoff, j.timeout) == ("sum", 2, 0.5, 3, 10)
    assert j.tags == ("etl", "nightly")
    assert dict(j.params) == {"a": 1, "b": 2}
    assert j.kind == "python"


def test_a_reference_string_is_accepted_without_importing_it() -> None:
    # Resolution happens when the definition is compiled, not when the job is built.
    j = jw.job("tests.jobs:add", a=1, b=2)
    assert j.target == "tests.jobs:add"


@pytest.mark.parametrize("command", ["", "   ", None, 42])
def test_a_shell_job_needs_a_command(command: object) -> None:
    with pytest.raises(jw.DefinitionError, match="non-empty string"):
        jw.shell(command)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [-1, math.nan, "5"])
def test_a_sleep_needs_a_number_of_seconds(seconds: object) -> None:
    with pytest.raises(jw.DefinitionError, match="seconds >= 0"):
        jw.sleep(seconds)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "  ", 7])
def test_a_name_must_be_a_non_empty_string(name: object) -> None:
    with pytest.raises(jw.DefinitionError, match="non-empty string"):
        jw.job(jobs.noop, name=name)  # type: ignore[arg-type]


def test_after_takes_only_jobs() -> None:
    with pytest.raises(jw.DefinitionError, match="got int"):
        jw.job(jobs.noop, after=[jw.job(jobs.noop), 5])


def test_output_needs_at_least_one_job() -> None:
    with pytest.raises(jw.DefinitionError, match="at least one job"):
        jw.output([])
