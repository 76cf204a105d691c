"""SIGKILL a process running a graph at random points, resume it, and check the journal:
no finished firing is fired again, none is lost, and the results are those of a run that
was never interrupted."""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobweave.engine.pending import GROUP_ROWS
from jobweave.store import open_store
from tests.crash.harness import Children, crash_seed
from tests.graph_engine import shapes


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    kids = Children(tmp_path, tmp_path / "results")
    yield kids
    kids.close()


def _start(children: Children, counts: Path, *args: str) -> object:
    os.environ[shapes.COUNTS_ENV] = str(counts)
    os.environ["JOBWEAVE_TEST_DELAY"] = "0.01"
    try:
        return children.start(list(args), module="tests.graph_engine.driver")
    finally:
        del os.environ[shapes.COUNTS_ENV]
        del os.environ["JOBWEAVE_TEST_DELAY"]


def _finished_firings(store: str, run_id: str, node: str) -> Counter[str]:
    s = open_store(store)
    try:
        return Counter(json.dumps(json.loads(d)["in"], sort_keys=True)
                       for _, _, d in s.firings(run_id, node) if "out" in json.loads(d))
    finally:
        s.close()


def _kill_and_resume(children: Children, counts: Path, store: str, first: list[str],
                     kills: int, rng: random.Random, count_file: str) -> tuple[str, int]:
    """Start, kill after a random share of the work, resume, ... then let it finish."""
    child = _start(children, counts, *first)
    started = child.line("started")  # type: ignore[attr-defined]
    assert started, child.describe()  # type: ignore[attr-defined]
    run_id = started.split()[1]
    done = 0
    for _ in range(kills):
        target = len(list(counts.glob(count_file))) + rng.randint(3, 15)
        deadline = time.monotonic() + 60
        while len(list(counts.glob(count_file))) < target and time.monotonic() < deadline:
            if child.proc.poll() is not None:  # type: ignore[attr-defined]
                break
            time.sleep(0.005)
        if child.proc.poll() is not None:  # type: ignore[attr-defined]
            break
        child.kill()  # type: ignore[attr-defined]
        done += 1
        if open_store(store).get_run(run_id, counts=False).status == "completed":
            return run_id, done  # the kill came after the run's last commit: nothing to resume
        child = _start(children, counts, "resume", store, run_id)
    assert child.finish() == 0, child.describe()  # type: ignore[attr-defined]
    line = child.line("finished")  # type: ignore[attr-defined]
    assert line is not None and line.split()[2] == "completed", child.describe()  # type: ignore[attr-defined]
    return run_id, done


def test_a_paging_loop_killed_and_resumed_fetches_each_page_once(
        tmp_path: Path, children: Children) -> None:
    rng = random.Random(f"{crash_seed()}:pages")
    counts = tmp_path / "counts"
    counts.mkdir()
    store = str(tmp_path / "s.db")
    last = 60
    run_id, kills = _kill_and_resume(children, counts, store, ["pages", store, "--last",
                                     str(last)], 3, rng, "page-*")
    assert kills >= 1
    finished = _finished_firings(store, run_id, "fetch")
    assert len(finished) == last, "every page was fetched"
    assert set(finished.values()) == {1}, "no page has two finished firings"
    calls = {p.name: len(p.read_text()) for p in counts.glob("page-*")}
    assert len(calls) == last
    # only a fetch in flight at a kill runs again
    assert sum(calls.values()) <= last + kills


def test_a_fan_out_killed_and_resumed_runs_each_item_once(
        tmp_path: Path, children: Children) -> None:
    rng = random.Random(f"{crash_seed()}:fan")
    counts = tmp_path / "counts"
    counts.mkdir()
    store = str(tmp_path / "s.db")
    n = 150
    run_id, kills = _kill_and_resume(children, counts, store, ["fan", store, "--n", str(n)],
                                     3, rng, "square-*")
    assert kills >= 1
    finished = _finished_firings(store, run_id, "square")
    assert len(finished) == n and set(finished.values()) == {1}
    sinks = _finished_firings(store, run_id, "sink")
    assert len(sinks) == n and set(sinks.values()) == {1}
    calls = {p.name: len(p.read_text()) for p in counts.glob("square-*")}
    assert len(calls) == n
    # only what a kill can catch runs twice: the 4 firings in flight, and finished ones
    # whose records waited for their group commit (at most GROUP_ROWS)
    assert sum(calls.values()) <= n + (4 + GROUP_ROWS) * kills


def test_a_barrier_killed_and_resumed_takes_every_token_once(
        tmp_path: Path, children: Children) -> None:
    rng = random.Random(f"{crash_seed()}:join")
    counts = tmp_path / "counts"
    counts.mkdir()
    store = str(tmp_path / "s.db")
    n = 60
    run_id, kills = _kill_and_resume(children, counts, store, ["join", store, "--n", str(n)],
                                     3, rng, "square-*")
    assert kills >= 1
    s = open_store(store)
    try:
        groups = [json.loads(d) for _, _, d in s.firings(run_id, "wait")]
        sunk = [json.loads(d)["in"] for _, _, d in s.firings(run_id, "sink")]
    finally:
        s.close()
    assert len(groups) == n and len({g["id"] for g in groups}) == n
    for k in range(3):  # each branch's every token is in exactly one group
        assert sorted(m["i"] for m in sunk if m["from"] == k) == list(range(n))
    for g in groups:  # a tuple group holds one token of each port
        assert sorted(port for port, _ in g["in"]) == ["0", "1", "2"]
