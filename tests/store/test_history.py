"""Folding a journal into attempts and executions: the cases a live run, a crash, a
resume and another process's cancel or pause leave behind."""

from __future__ import annotations

from typing import Any

from jobweave.store.history import active_time, attempts_of, segments


def rec(seq: int, ts: float, event: str, node: str | None = None, attempt: int | None = None,
        **data: Any) -> dict[str, Any]:
    return {"seq": seq, "ts": ts, "event": event, "node": node, "attempt": attempt,
            "data": data or None}


def test_attempts_across_a_crash_and_a_resume() -> None:
    records = [
        rec(2, 10.0, "run_started"),
        rec(3, 10.1, "started", "a", 1),
        rec(4, 10.5, "captured", "a", 1, started=10.2, stdout="one\n"),
        rec(5, 10.5, "retrying", "a", 1, error="first", delay=0),
        rec(6, 10.6, "started", "a", 2),          # the owner dies while attempt 2 runs
        rec(7, 20.0, "run_started"),
        rec(8, 20.2, "captured", "a", 3, started=20.1, stderr="three\n"),
        rec(9, 20.3, "completed", "a", 3, started=20.1, output=1),  # start record dropped
        rec(10, 20.3, "cancelled", "b", 1),       # cancelled while waiting: no attempt
    ]
    (one, two, three), = attempts_of(records, live=False).values()
    assert (one.number, one.status, one.error, one.stdout) == (1, "faulted, retried", "first",
                                                              "one\n")
    assert one.started_at == 10.2 and one.finished_at == 10.5  # when it really began
    assert (two.number, two.status, two.execution, two.finished_at) == (2, "interrupted", 1,
                                                                        None)
    assert (three.status, three.execution, three.stderr) == ("completed", 2, "three\n")
    assert three.duration is not None and abs(three.duration - 0.2) < 1e-9


def test_an_open_attempt_of_a_live_run_is_running() -> None:
    records = [rec(2, 1.0, "run_started"), rec(3, 1.1, "started", "a", 1)]
    assert attempts_of(records, live=True)["a"][0].status == "running"
    assert attempts_of(records, live=False)["a"][0].status == "interrupted"


def test_executions_end_with_their_owner_not_with_another_process() -> None:
    records = [
        rec(2, 10.0, "run_started"), rec(9, 12.0, "run_finished"),     # failed
        rec(10, 50.0, "run_started"), rec(11, 50.5, "pausing"), rec(14, 51.0, "run_paused"),
        rec(15, 90.0, "run_started"),                                   # its owner died...
        rec(30, 200.0, "cancel_requested"), rec(31, 200.0, "run_finished"),  # ...cancelled
        rec(32, 300.0, "run_started"), rec(40, 301.0, "run_paused"),   # died, then paused
        rec(41, 400.0, "run_started"),                                  # still running
    ]
    assert segments(records) == [(2, 10.0, 9, 12.0), (10, 50.0, 14, 51.0),
                                 (15, 90.0, 29, None), (32, 300.0, 39, None),
                                 (41, 400.0, None, None)]


def test_active_time_sums_the_spans_and_runs_an_open_one_to_now() -> None:
    assert active_time([(10.0, 12.0), (50.0, 51.0)]) == 3.0
    assert active_time([(10.0, 12.0), (50.0, None)], open_end=53.0) == 5.0
