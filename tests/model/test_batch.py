"""jw.batch flattens jobs, lists, tuples, generators and batches at any depth."""

from __future__ import annotations

import pytest

import jobweave as jw
from tests import jobs


def _make(n: int) -> list[jw.Job]:
    return [jw.job(jobs.noop, i=i) for i in range(n)]


def test_jobs_lists_tuples_generators_and_batches_flatten_in_order() -> None:
    a, b, c, d, e, f, g = _make(7)
    inner = jw.batch(e, [f])
    flat = jw.batch(a, [b, (c, (j for j in [d]))], inner, iter([g]))
    assert flat.jobs == (a, b, c, d, e, f, g)
    assert len(flat) == 7
    assert list(flat) == [a, b, c, d, e, f, g]


def test_nesting_at_any_depth() -> None:
    leaf = jw.job(jobs.noop)
    nested: object = leaf
    for depth in range(300):  # deeper than Python's recursion would like
        nested = [nested] if depth % 3 else (jw.batch(nested) if depth % 2 else (nested,))
    assert jw.batch(nested, [[[]]]).jobs == (leaf,)


def test_a_batch_of_batches_of_generators() -> None:
    tables = ["customers", "orders", "invoices"]
    first = jw.batch(jw.job(jobs.load_table, table=t) for t in tables)
    second = jw.batch(first, (jw.shell(f"echo {t}") for t in tables), name="all")
    assert second.name == "all"
    assert [j.params.get("table", j.target) for j in second] == [
        "customers", "orders", "invoices", "echo customers", "echo orders", "echo invoices"]


def test_an_empty_batch_is_allowed_as_data() -> None:
    assert len(jw.batch()) == 0
    assert len(jw.batch([], (), iter([]))) == 0


@pytest.mark.parametrize(
    ("item", "kind"),
    [(42, "int"), ("echo hi", "str"), (b"bytes", "bytes"), ({"job": 1}, "dict"),
     (None, "NoneType"), (jobs.noop, "function")],
)
def test_items_that_are_not_jobs_are_refused_with_a_clear_message(item: object,
                                                                    kind: str) -> None:
    with pytest.raises(jw.DefinitionError) as info:
        jw.batch(jw.job(jobs.noop), [jw.job(jobs.noop), item])
    text = str(info.value)
    assert "a batch takes jobs, batches and lists of them" in text
    assert f"got {kind}" in text


def test_a_bad_item_deep_inside_is_found() -> None:
    with pytest.raises(jw.DefinitionError, match="got float"):
        jw.batch([[[jw.job(jobs.noop), [(3.5,)]]]])
