"""Helpers of the several-engines tests: engine processes on one store, and the checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from jobweave.store import SqlStore

LEASE = 2.0
"""The run lease of these tests (``--lease`` / ``JOBWEAVE_LEASE``): failover in seconds."""


@dataclass
class Proc:
    """A jobweave process whose output goes to files."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def owner(self) -> str:
        import socket

        return f"{socket.gethostname()}:{self.pid}"

    def text(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def describe(self) -> str:
        return f"pid {self.pid} exit {self.proc.returncode}:\n{self.text()[-3000:]}"


def start(folder: Path, tag: str, *args: str, lease: float = LEASE) -> Proc:
    """``python -m jobweave ARGS`` in ``folder``, with the test lease."""
    out, err = folder / f"{tag}.out", folder / f"{tag}.err"
    env = dict(os.environ, JOBWEAVE_LEASE=str(lease))
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "jobweave", *args], cwd=folder,
                                stdout=o, stderr=e, env=env)
    return Proc(proc, out, err)


def serve(folder: Path, tag: str, store: str, *targets: str, lease: float = LEASE) -> Proc:
    """An engine: ``jobweave serve`` on ``store`` (taking over runs)."""
    return start(folder, tag, "serve", *targets, "--store", store, "--lease", str(lease),
                 "--renew", "0.5", lease=lease)


def stop(proc: Proc, timeout: float = 30.0) -> None:
    """SIGTERM, then wait."""
    if proc.proc.poll() is None:
        proc.proc.terminate()
    try:
        proc.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.proc.kill()
        proc.proc.wait(10)


def wait_until(predicate, timeout: float, what: str, every: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until truthy; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


def completions(store: SqlStore, run_id: str) -> Counter[str]:
    """How many ``completed`` records each job has in the run's journal."""
    return Counter(r["node"] for r in store.journal(run_id) if r["event"] == "completed")


def executions(log: Path) -> Counter[tuple[str, str]]:
    """How many times each (run, job) ran, from the jobs' side-effect log."""
    if not log.exists():
        return Counter()
    return Counter(tuple(line.split()[:2]) for line in log.read_text().splitlines()
                   if line.strip())  # type: ignore[misc]


def takeovers(store: SqlStore, run_id: str) -> list[dict[str, object]]:
    """The run's ``run_started`` records that took it over from a lost owner."""
    return [r for r in store.journal(run_id)
            if r["event"] == "run_started" and (r["data"] or {}).get("from")]
