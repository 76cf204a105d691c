"""Helpers for the crash tests: start and SIGKILL real processes, read what they left.

Nothing here mocks jobweave: the processes run the real engine on a real SQLite store,
and the checks read the store, the journal and the jobs' own results files.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobweave.store import SqlStore
from tests.crash.jobs import RESULTS_ENV

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SEED = 20261125
POLL = 0.02
LEFT = 400
"""Jobs the last kill leaves at least unfinished as the store shows them: the store shows
completions a commit late (up to ``GROUP_ROWS`` of them), and the poll, the random pause
and a loaded machine let a few hundred 1-5 ms jobs finish before the signal lands."""
"""Seconds between looks at the store or a process's output."""
WAIT = 120.0
"""Seconds any single wait may take before the test fails (a hang, not slowness)."""


def crash_seed() -> int:
    """The seed of this test session's kill points: ``JOBWEAVE_CRASH_SEED`` or a fixed one."""
    return int(os.environ.get("JOBWEAVE_CRASH_SEED") or DEFAULT_SEED)


def child_env(results: Path) -> dict[str, str]:
    """The environment of a child: importable tests and jobweave, and its results file."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env[RESULTS_ENV] = str(results)
    env.pop("JOBWEAVE_STORE", None)
    return env


@dataclass
class Child:
    """A started process whose stdout and stderr go to files we can poll."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def lines(self) -> list[str]:
        return self.out.read_text(errors="replace").splitlines()

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")[-4000:]

    def describe(self) -> str:
        return f"pid {self.pid} exit {self.proc.returncode}; stdout {self.lines()[-5:]}; " \
               f"stderr:\n{self.stderr()}"

    def line(self, prefix: str, timeout: float = WAIT, *, stderr: bool = False) -> str | None:
        """Wait for a line of stdout (or stderr) starting with ``prefix``; None if the
        process ended without writing one."""
        path = self.err if stderr else self.out
        deadline = time.monotonic() + timeout
        while True:
            ended = self.proc.poll() is not None  # look once more after it ended
            for text in _complete_lines(path.read_text(errors="replace"), ended):
                if text.startswith(prefix):
                    return text
            if ended:
                return None
            if time.monotonic() > deadline:
                raise AssertionError(f"no {prefix!r} line within {timeout}s: {self.describe()}")
            time.sleep(POLL)

    def peek(self, prefix: str) -> str | None:
        """The first stdout line starting with ``prefix`` so far, without waiting."""
        text = self.out.read_text(errors="replace")
        return next((t for t in _complete_lines(text, False) if t.startswith(prefix)), None)

    def kill(self) -> None:
        """SIGKILL the process and reap it, so its pid is really gone."""
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.killed = True
        self.proc.wait(timeout=WAIT)

    def finish(self, timeout: float = WAIT) -> int:
        """Wait for the process to end by itself; return its exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"did not finish within {timeout}s: {self.describe()}") from None


class Children:
    """Every process a test started; whatever is still running at the end is killed."""

    def __init__(self, folder: Path, results: Path) -> None:
        self.folder = folder
        self.results = results
        self.started: list[Child] = []

    def start(self, args: Sequence[str], *, module: str = "tests.crash.driver") -> Child:
        n = len(self.started)
        out, err = self.folder / f"child{n}.out", self.folder / f"child{n}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=self.folder,
                                    env=child_env(self.results), stdin=subprocess.DEVNULL,
                                    stdout=o, stderr=e)
        child = Child(proc, out, err)
        self.started.append(child)
        return child

    @property
    def killed_pids(self) -> set[int]:
        return {c.pid for c in self.started if c.killed}

    def close(self) -> None:
        for c in self.started:
            if c.proc.poll() is None:
                c.kill()


def completed(store: SqlStore, run_id: str) -> int:
    """Jobs of the run the store shows completed."""
    return store.get_run(run_id).counts.get("completed", 0)


def wait_completed(store: SqlStore, run_id: str, target: int, child: Child) -> None:
    """Poll until the run shows ``target`` completions, or the child ended."""
    deadline = time.monotonic() + WAIT
    while completed(store, run_id) < target and child.proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} did not reach {target} completions: "
                                 f"{child.describe()}")
        time.sleep(POLL)


def _complete_lines(text: str, ended: bool) -> list[str]:
    """The lines of ``text`` a writer has finished: a line read while the child writes it
    may be cut short (``started`` without its run id), so it counts once its newline is
    there, or once the child ended."""
    lines = text.split("\n")
    if not ended or not lines[-1]:
        lines.pop()
    return lines


def kill_somewhere(rng: random.Random, store: SqlStore, run_id: str, child: Child,
                   ceiling: int) -> None:
    """SIGKILL ``child`` at a random point of its run: early (starting up, or just
    started), or after some more completions, but no more than ``ceiling`` in all,
    so the run is still unfinished when the signal lands."""
    if rng.random() < 0.2:
        # early: while importing, claiming or seeding, or just after the run started
        deadline = time.monotonic() + rng.uniform(0.0, 1.5)
        while time.monotonic() < deadline and child.peek("started") is None:
            time.sleep(POLL / 4)
        time.sleep(rng.uniform(0.0, 0.01))
    else:
        assert child.line("started") is not None, child.describe()
        done = completed(store, run_id)
        more = rng.randint(0, 150)
        wait_completed(store, run_id, min(done + more, ceiling), child)
        time.sleep(rng.uniform(0.0, 0.01))
    child.kill()


# -- reading what processes left ------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    id: int
    job: str
    token: str
    attempt: int
    pid: int
    ts: float
    busy: int
    """Jobs of its process running at that moment, itself included."""


def invocations(results: Path) -> dict[str, list[Invocation]]:
    """Every recorded invocation, by job, oldest first."""
    out: dict[str, list[Invocation]] = {}
    with sqlite3.connect(results) as conn:
        for row in conn.execute("SELECT id, job, token, attempt, pid, ts, busy FROM invocations "
                                "ORDER BY id"):
            out.setdefault(row[1], []).append(Invocation(*row))
    conn.close()
    return out


def result_values(results: Path) -> dict[str, int]:
    """The ``results`` table: job name → value."""
    with sqlite3.connect(results) as conn:
        rows = dict(conn.execute("SELECT job, value FROM results").fetchall())
    conn.close()
    return rows


@dataclass
class JournalFold:
    """A run's journal, folded by job."""

    completed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    replayed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


def fold(records: Iterable[dict[str, Any]]) -> JournalFold:
    journal = JournalFold()
    execution = 0
    nodes: list[dict[str, Any]] = []
    for r in records:
        journal.events.append(r["event"])
        if r["event"] == "submitted":
            nodes = r["data"]["definition"]["nodes"]
        elif r["event"] == "run_started":
            execution = r["seq"]  # what the runtime puts in context.token
        elif r["event"] == "completed":
            journal.completed.setdefault(r["node"], []).append({**r, "execution": execution})
        elif r["event"] == "replayed":  # a chunk of jobs, by index into the definition
            for i, attempt, started, _finished, output in r["data"]["jobs"]:
                journal.replayed.setdefault(nodes[i]["name"], []).append(
                    {"node": nodes[i]["name"], "attempt": attempt, "ts": r["ts"],
                     "data": {"output": output, "started": started}})
    return journal


def check_final(store: SqlStore, run_id: str, results: Path, reference: dict[str, int],
                *, repeat_pids: set[int], since: int = 0, replayed: set[str] = frozenset(),
                why: str) -> None:
    """The reliability contract on a finished run; ``why`` is prefixed to every failure.

    - the run and every job are ``completed``; the projection agrees with the journal;
    - each job completed exactly once in the journal (or, for ``replayed``, was replayed
      exactly once and never completed here);
    - no job was invoked after the invocation whose completion the journal holds, and
      any earlier invocation came from a process in ``repeat_pids`` (work in flight
      when that process died); only invocations with id > ``since`` count;
    - the results table, the stored outputs and ``reference`` are equal.
    """
    record = store.get_run(run_id)
    assert record.status == "completed", f"{why}: run is {record.status}: {record.counts}"
    jobs = store.get_jobs(run_id)
    assert len(jobs) == len(reference), f"{why}: {len(jobs)} jobs, want {len(reference)}"
    bad = [j.name for j in jobs if j.status != "completed"]
    assert not bad, f"{why}: not completed: {bad[:10]}"
    journal = fold(store.journal(run_id))
    assert journal.events[-1] == "run_finished", f"{why}: journal ends {journal.events[-3:]}"
    seen = invocations(results)
    for j in jobs:
        if j.name in replayed:
            assert len(journal.replayed.get(j.name, [])) == 1, \
                f"{why}: {j.name} replayed {journal.replayed.get(j.name)}"
            assert j.name not in journal.completed, \
                f"{why}: replayed {j.name} also completed: {journal.completed[j.name]}"
            rec = journal.replayed[j.name][0]
        else:
            done = journal.completed.get(j.name, [])
            assert len(done) == 1, f"{why}: {j.name} completed {len(done)} times: {done}"
            rec = done[0]
            _check_invocations(run_id, j.name, rec, [i for i in seen.get(j.name, [])
                                                     if i.id > since], repeat_pids, why)
        assert rec["data"]["output"] == j.output, \
            f"{why}: {j.name}: journal {rec['data']['output']} != store {j.output}"
        assert rec["attempt"] == j.attempts, \
            f"{why}: {j.name}: journal attempt {rec['attempt']} != store {j.attempts}"
    outputs = {j.name: j.output for j in jobs}
    assert outputs == reference, f"{why}: stored outputs differ from the uninterrupted run"
    values = result_values(results)
    diff = sorted(k for k in reference if values.get(k) != reference[k])
    assert values == reference, f"{why}: results table differs from the uninterrupted run " \
                                f"at {diff[:10]} (and {len(values)} vs {len(reference)} rows)"


def _check_invocations(run_id: str, name: str, rec: dict[str, Any], calls: list[Invocation],
                       repeat_pids: set[int], why: str) -> None:
    token = f"{run_id}/{name}/e{rec['execution']}.a{rec['attempt']}"
    assert calls, f"{why}: {name} completed (attempt {rec['attempt']}) but was never invoked"
    last = calls[-1]
    assert last.token == token, \
        f"{why}: {name} was invoked after its completing attempt {token}: {calls}"
    assert all(c.attempt <= rec["attempt"] for c in calls), \
        f"{why}: {name} has an invocation with a later attempt than {token}: {calls}"
    assert all(c.ts <= rec["ts"] for c in calls), \
        f"{why}: {name} was invoked after its completion was committed: {calls}, {rec}"
    for c in calls[:-1]:
        assert c.pid in repeat_pids, \
            f"{why}: {name} ran more than once in a process that did not crash: {calls}"
