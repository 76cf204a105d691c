"""What a faulted step stops, in each mode, and continue_on_failure."""

from __future__ import annotations

import jobweave as jw
from tests.flows import steps


def _status(result: jw.RunResult) -> dict[str, str]:
    return {j.name: j.status for j in result.jobs}


def test_serial_stops_the_element_and_the_elements_after_it(store_url: str) -> None:
    f = jw.flow([jw.job(steps.fail_on, name="a", bad="E2"), jw.job(steps.work, name="b",
                                                                       seconds=0)],
                elements=["E1", "E2", "E3"], name="f")
    result = jw.run(f, store=store_url)
    assert result.exit_code == 1
    assert _status(result) == {"a[E1]": "completed", "b[E1]": "completed",
                               "a[E2]": "faulted", "b[E2]": "skipped",
                               "a[E3]": "skipped", "b[E3]": "skipped"}


def test_parallel_finishes_the_step_then_stops(store_url: str) -> None:
    f = jw.flow([jw.job(steps.fail_on, name="a", bad="E2"), jw.job(steps.work, name="b",
                                                                       seconds=0)],
                elements=["E1", "E2", "E3"], mode="parallel", name="f")
    result = jw.run(f, store=store_url)
    assert _status(result) == {"a[E1]": "completed", "a[E2]": "faulted", "a[E3]": "completed",
                               "b[E1]": "skipped", "b[E2]": "skipped", "b[E3]": "skipped"}


def test_continue_on_failure_keeps_going(store_url: str) -> None:
    for mode in ("serial", "parallel"):
        f = jw.flow([jw.job(steps.fail_on, name="a", bad="E2"),
                     jw.job(steps.work, name="b", seconds=0)],
                    elements=["E1", "E2", "E3"], mode=mode, name="f", continue_on_failure=True)
        result = jw.run(f, store=store_url)
        status = _status(result)
        assert status["a[E2]"] == "faulted"
        assert all(status[f"b[{e}]"] == "completed" for e in ("E1", "E2", "E3")), mode
        assert result.exit_code == 1  # a fault is still a fault


def test_a_step_that_tolerates_failure(store_url: str) -> None:
    f = jw.flow([jw.job(steps.fail_on, name="a", bad="E1", continue_on_failure=True),
                 jw.job(steps.fail_on, name="b", bad="E1"),
                 jw.job(steps.work, name="c", seconds=0)],
                elements=["E1", "E2"], name="f")
    status = _status(jw.run(f, store=store_url))
    # a's fault lets b run; b's fault stops the flow
    assert status == {"a[E1]": "faulted", "b[E1]": "faulted", "c[E1]": "skipped",
                      "a[E2]": "skipped", "b[E2]": "skipped", "c[E2]": "skipped"}
