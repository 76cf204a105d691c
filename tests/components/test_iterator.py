"""The iterator: batches, index, context, progress, and lists that are not there."""

from __future__ import annotations

from typing import Any

import pytest

from jobweave.components.iterator import Iterator
from jobweave.components.node import build
from jobweave.errors import ComponentError

ENV: dict[str, Any] = {"input": {}, "secrets": {}}


def fire(msg: Any, **settings: Any) -> list[tuple[str, Any]]:
    return build("iterator", "each", settings).fire(msg, ENV)


def test_one_item_per_batch_by_default() -> None:
    assert fire({"array": ["a", "b"]}) == [
        ("out", {"batch": ["a"], "batch_num": 1, "total_batches": 2}),
        ("out", {"batch": ["b"], "batch_num": 2, "total_batches": 2}),
    ]


@pytest.mark.parametrize(("size", "batches"), [
    (2, [[1, 2], [3, 4], [5]]),
    (3, [[1, 2, 3], [4, 5]]),
    (5, [[1, 2, 3, 4, 5]]),
    (9, [[1, 2, 3, 4, 5]]),
])
def test_batches_of_batch_size_the_last_one_shorter(size: int, batches: list[list[int]]) -> None:
    out = fire({"array": [1, 2, 3, 4, 5]}, batch_size=size)
    assert [m["batch"] for _, m in out] == batches
    assert [m["batch_num"] for _, m in out] == list(range(1, len(batches) + 1))
    assert {m["total_batches"] for _, m in out} == {len(batches)}


def test_emit_index_gives_the_position_of_each_batchs_first_item() -> None:
    out = fire({"array": list("abcde")}, batch_size=2, emit_index=True)
    assert [m["index"] for _, m in out] == [0, 2, 4]
    assert "index" not in fire({"array": [1]})[0][1]


def test_the_context_goes_with_every_batch_and_nothing_else_does() -> None:
    context = {"sync_id": 7, "page": 2}
    out = fire({"array": [1, 2], "context": context, "other": "dropped"})
    assert [m for _, m in out] == [
        {"batch": [1], "batch_num": 1, "total_batches": 2, "context": context},
        {"batch": [2], "batch_num": 2, "total_batches": 2, "context": context},
    ]


def test_a_null_context_is_still_a_context() -> None:
    assert fire({"array": [1], "context": None})[0][1]["context"] is None


def test_progress_follows_each_batch() -> None:
    out = fire({"array": list(range(7)), "context": "c"}, batch_size=3, emit_progress=True,
               emit_index=True)
    assert out == [
        ("out", {"batch": [0, 1, 2], "batch_num": 1, "total_batches": 3, "index": 0,
                 "context": "c"}),
        ("progress", {"batch_num": 1, "total_batches": 3, "progress": 33.33,
                      "is_last_batch": False}),
        ("out", {"batch": [3, 4, 5], "batch_num": 2, "total_batches": 3, "index": 3,
                 "context": "c"}),
        ("progress", {"batch_num": 2, "total_batches": 3, "progress": 66.67,
                      "is_last_batch": False}),
        ("out", {"batch": [6], "batch_num": 3, "total_batches": 3, "index": 6,
                 "context": "c"}),
        ("progress", {"batch_num": 3, "total_batches": 3, "progress": 100.0,
                      "is_last_batch": True}),
    ]
    assert isinstance(out[-1][1]["progress"], float)


def test_an_empty_list_emits_nothing_even_progress() -> None:
    assert fire({"array": []}, emit_progress=True) == []


def test_array_field_is_a_dotted_path() -> None:
    out = fire({"response": {"data": [{"id": 1}]}}, array_field="response.data")
    assert out == [("out", {"batch": [{"id": 1}], "batch_num": 1, "total_batches": 1})]


def test_ports() -> None:
    node = build("iterator", "each", {})
    assert node.in_ports() == ("in",)
    assert node.out_ports() == ("out", "progress")
    assert node.inline and not node.joins and not node.source


def test_continue_on_error_is_accepted_for_the_runtime() -> None:
    assert Iterator("each", {"continue_on_error": True}).continue_on_error is True
    assert Iterator("each", {}).continue_on_error is False


@pytest.mark.parametrize(("msg", "found"), [
    ({"items": [1]}, "found no such field"),
    ({"array": "abc"}, "found text 'abc'"),
    ({"array": {"a": 1}}, "found mapping"),
    ({"array": None}, "found null None"),
    ({"array": 3}, "found number 3"),
    ([1, 2], "found no such field"),
    ("text", "found no such field"),
])
def test_no_list_to_split_is_a_component_error(msg: Any, found: str) -> None:
    with pytest.raises(ComponentError, match=f"needs a list at 'array' of the message, {found}"):
        fire(msg)
