"""What Python jobs print and log is kept per attempt, off the console, under both executors."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest

import jobweave as jw
from jobweave.events import JobStarted
from jobweave.executors.capture import OUTPUT_LIMIT
from jobweave.store import open_store
from tests import jobs
from tests.conftest import BACKENDS
from tests.executors import chatty


def test_thread_jobs_print_and_log_into_their_attempt_not_the_console(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    console = logging.StreamHandler(sys.stderr)  # a console handler configured beforehand
    root = logging.getLogger()
    root.addHandler(console)
    stdout_before = sys.stdout
    started = threading.Event()

    def on_event(event: object) -> None:
        if isinstance(event, JobStarted) and event.job == "nap":
            started.set()

    try:
        handle = jw.submit(jw.batch(jw.job(chatty.talk, word="alpha", name="alpha"),
                                    jw.job(jobs.nap, seconds=0.5, name="nap")),
                           store=str(tmp_path / "s.db"), listeners=[on_event])
        assert started.wait(10)
        # the caller's own output still reaches the console while jobs run
        print("the caller speaks")
        logging.getLogger("caller").warning("the caller logs")
        result = handle.wait(30)
    finally:
        root.removeHandler(console)
    assert result.ok, result.jobs

    seen = capfd.readouterr()
    assert "the caller speaks" in seen.out and "the caller logs" in seen.err
    assert "alpha" not in seen.out + seen.err
    # everything is put back: the streams, the console handler, the root's handlers
    assert sys.stdout is stdout_before
    assert not console.filters and console not in root.handlers
    assert not [h for h in root.handlers if type(h).__module__ == "jobweave.executors.capture"]

    (attempt,) = open_store(str(tmp_path / "s.db")).attempts(result.run_id)["alpha"]
    assert attempt.stdout == "alpha out 0 attempt 1\n"
    assert attempt.stderr == ("alpha err attempt 1\n"
                              "WARNING tests.chatty: alpha logged attempt 1\n")


def test_jobs_printing_at_once_keep_their_own_lines(tmp_path: Path,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    words = [f"w{k}" for k in range(4)]
    gate = f"{tmp_path}-gate"
    result = jw.run(jw.batch([jw.job(chatty.chorus, word=w, gate=gate, parties=4, name=w)
                              for w in words]), concurrency=4, store=str(tmp_path / "s.db"))
    assert result.ok, result.jobs
    history = open_store(str(tmp_path / "s.db")).attempts(result.run_id)
    for w in words:
        (attempt,) = history[w]
        assert attempt.stdout == "".join(f"{w}:{k}\n" for k in range(200))
        assert attempt.stderr == "".join(f"WARNING tests.chatty: {w}:{k}\n"
                                         for k in range(0, 200, 20))
    seen = capfd.readouterr()
    assert not any(f"{w}:" in seen.out + seen.err for w in words)


@BACKENDS
def test_every_attempt_keeps_its_own_output_and_error(store_url: str) -> None:
    result = jw.run(jw.job(chatty.talk_then_fail, word="flaky", fails=2, retries=2,
                           name="flaky"), store=store_url)
    assert result.ok, result.jobs
    attempts = open_store(store_url).attempts(result.run_id)["flaky"]
    assert [a.number for a in attempts] == [1, 2, 3]
    assert [a.status for a in attempts] == ["faulted, retried", "faulted, retried",
                                            "completed"]
    for a in attempts:
        assert a.stdout == f"flaky out 0 attempt {a.number}\n"
        assert a.execution == 1 and a.duration is not None and a.duration >= 0
    assert "flaky attempt 1 went wrong" in (attempts[0].error or "")
    assert "flaky attempt 2 went wrong" in (attempts[1].error or "")
    assert attempts[2].error is None


def test_a_flood_of_output_keeps_only_its_tail(tmp_path: Path) -> None:
    result = jw.run(jw.job(chatty.flood, characters=300_000, name="flood"),
                    store=str(tmp_path / "s.db"))
    assert result.ok
    (attempt,) = open_store(str(tmp_path / "s.db")).attempts(result.run_id)["flood"]
    head, _, body = attempt.stdout.partition("\n")
    assert head == f"[{300_000 + len('the end') + 1 - OUTPUT_LIMIT} characters dropped]"
    assert len(body) == OUTPUT_LIMIT and body.endswith("x\nthe end\n")


def test_process_jobs_send_what_they_print_back_with_their_outcome(tmp_path: Path) -> None:
    result = jw.run(jw.batch(jw.job(chatty.talk, word="far", lines=3, name="far"),
                             jw.job(chatty.talk_then_fail, word="twice", fails=1, retries=1,
                                    name="twice")),
                    executor="processes", workers=2, store=str(tmp_path / "s.db"))
    assert result.ok, result.jobs
    history = open_store(str(tmp_path / "s.db")).attempts(result.run_id)
    (far,) = history["far"]
    assert far.stdout == "".join(f"far out {k} attempt 1\n" for k in range(3))
    assert far.stderr == "far err attempt 1\nWARNING tests.chatty: far logged attempt 1\n"
    first, second = history["twice"]
    assert "twice attempt 1 went wrong" in (first.error or "")
    assert (first.stdout, second.stdout) == ("twice out 0 attempt 1\n",
                                             "twice out 0 attempt 2\n")


def test_a_job_that_prints_nothing_journals_nothing_more(tmp_path: Path) -> None:
    result = jw.run(jw.job(jobs.noop, name="quiet"), store=str(tmp_path / "s.db"))
    events = [r["event"] for r in open_store(str(tmp_path / "s.db")).journal(result.run_id)]
    assert "captured" not in events
