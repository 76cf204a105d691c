"""Real Celery workers (``jobweave worker`` subprocesses) on the real Redis and PostgreSQL.

Each test gets its own queue, so workers of tests running in parallel never take each
other's messages; workers run in their own session and are killed by process group.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import wait_for
from tests.conftest import require_service

__all__ = ["wait_for"]

REDIS = os.environ.get("JOBWEAVE_TEST_REDIS", "redis://127.0.0.1:6379/0")
RABBIT = os.environ.get("JOBWEAVE_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672//")
LEASE = 1.5
SWEEP = 0.5


def reachable(url: str, port: int) -> bool:
    host = url.split("@")[-1].split("//")[-1].split(":")[0].split("/")[0] or "127.0.0.1"
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Cluster:
    """The settings of one test's workers and engine, and the workers it started."""

    store: str
    broker: str
    queue: str
    folder: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(JOBWEAVE_STORE=self.store, JOBWEAVE_BROKER=self.broker,
                   JOBWEAVE_QUEUE=self.queue, JOBWEAVE_ATTEMPT_LEASE=str(LEASE),
                   JOBWEAVE_SWEEP=str(SWEEP), JOBWEAVE_EXECUTOR="celery")
        env.update(extra)
        return env

    def settings(self, **changes: object):  # type: ignore[no-untyped-def]
        from jobweave.settings import Settings

        return Settings(store=self.store, executor="celery", broker=self.broker,
                        queue=self.queue, attempt_lease=LEASE, sweep=SWEEP).with_(**changes)

    def worker(self, *, concurrency: int = 1, queues: str | None = None,
               loglevel: str = "info", cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start a worker and return once it answered a ping; with ``cwd``, the installed
        ``jobweave`` command started in that folder, as a user would."""
        name = f"w{len(self.procs)}-{self.queue}@{socket.gethostname()}"
        command = ([sys.executable, "-m", "jobweave"] if cwd is None
                   else [str(Path(sys.executable).parent / "jobweave")])
        with open(self.folder / f"worker{len(self.procs)}.log", "wb") as log:
            proc = subprocess.Popen(
                [*command, "worker", "-c", str(concurrency), "-n",
                 name, "-Q", queues or self.queue, "-l", loglevel],
                env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=cwd)
        self.procs.append(proc)
        self._ready(name, proc)
        return proc

    def _ready(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        from jobweave.executors.celery_app import make_app

        app = make_app(self.settings())
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise AssertionError(f"worker exited with {proc.returncode}: "
                                         f"{self.logs()[-2000:]}")
                if app.control.ping(destination=[name], timeout=0.5):
                    return
            raise AssertionError(f"worker {name} not ready in 30 s: {self.logs()[-2000:]}")
        finally:
            app.close()

    def children(self, proc: subprocess.Popen[bytes]) -> list[int]:
        """The pool processes of a worker."""
        out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace")
                       for p in sorted(self.folder.glob("worker*.log")))

    def stop(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGCONT)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)


def marks(path: Path, what: str | None = None) -> list[list[str]]:
    """The lines a test's jobs noted (``what pid time``), those of ``what`` if given."""
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if what is None or r[0] == what]


def completions(engine: Any, run_id: str) -> dict[str, int]:
    """How many times each job's completion is in the run's journal."""
    counts: dict[str, int] = {}
    for rec in engine.store.journal(run_id):
        if rec["event"] == "completed":
            counts[rec["node"]] = counts.get(rec["node"], 0) + 1
    return counts


def _cluster(pg_store_url: str, tmp_path: Path, broker: str) -> Iterator[Cluster]:
    cluster = Cluster(pg_store_url, broker, "jwt-" + secrets.token_hex(4), tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(pg_store_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """A PostgreSQL store, Redis as the broker, and the workers the test starts."""
    if not reachable(REDIS, 6379):
        require_service("Redis", f"nothing listens at {REDIS}")
    yield from _cluster(pg_store_url, tmp_path, REDIS)


@pytest.fixture
def rabbit_cluster(pg_store_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """The same with RabbitMQ as the broker."""
    if not reachable(RABBIT, 5672):
        require_service("RabbitMQ", f"nothing listens at {RABBIT}")
    yield from _cluster(pg_store_url, tmp_path, RABBIT)
