"""The crash-test workload: module-level jobs that leave a trace in their own SQLite file.

Every invocation appends a row to ``invocations`` (job, attempt token, pid, time) and
upserts its value into ``results``. The tests compare those tables with the journal to
prove what ran, how often, and that the outputs match an uninterrupted run.

The results file is named by the ``CRASH_RESULTS`` environment variable, so the
definition (and its digest) is the same whichever file a process writes to.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

import jobweave as jw

RESULTS_ENV = "CRASH_RESULTS"
BATCHES = 4
BATCH_SIZE = 500
NAME = "crash-schedule"

_local = threading.local()
_busy_lock = threading.Lock()
_busy = 0
"""Jobs of this process inside ``work`` right now."""
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS invocations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "job TEXT NOT NULL, token TEXT NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL, "
    "ts REAL NOT NULL, busy INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS results (job TEXT PRIMARY KEY, value INTEGER NOT NULL, "
    "token TEXT NOT NULL)",
)


_connect_lock = threading.Lock()


def connect(path: str) -> sqlite3.Connection:
    """A connection to a results file: WAL, a busy timeout, autocommit.

    One thread at a time: switching a new file to WAL does not wait on SQLite's busy
    timeout, so job threads connecting at once to a fresh file would see "database is
    locked".
    """
    with _connect_lock:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        for statement in _SCHEMA:
            conn.execute(statement)
    return conn


def _conn() -> sqlite3.Connection:
    """This thread's connection to the results file of this process."""
    path = os.environ[RESULTS_ENV]
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "path", None) != path:
        conn = _local.conn = connect(path)
        _local.path = path
    return conn


def value_of(batch: int, i: int) -> int:
    """The value job (batch, i) returns: a function of its parameters only."""
    return (batch * 7919 + i * 104_729) % 1_000_003


def work(batch: int, i: int, ms: float, context: jw.Context) -> int:
    """Record the invocation, work ``ms`` milliseconds, record the result, return it.

    The invocation row also says how many jobs of this process were running at once.
    """
    global _busy
    with _busy_lock:
        _busy += 1
        busy = _busy
    try:
        conn = _conn()
        conn.execute("INSERT INTO invocations (job, token, attempt, pid, ts, busy) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (context.job, context.token,
                                                   context.attempt, os.getpid(), time.time(),
                                                   busy))
        time.sleep(ms / 1000)
        value = value_of(batch, i)
        conn.execute("INSERT INTO results (job, value, token) VALUES (?, ?, ?) "
                     "ON CONFLICT (job) DO UPDATE SET value = excluded.value, "
                     "token = excluded.token", (context.job, value, context.token))
        return value
    finally:
        with _busy_lock:
            _busy -= 1


def job_name(batch: int, i: int) -> str:
    return f"b{batch}-j{i:04d}"


RETRIES = 20
"""Each job's retries. The jobs never fail, but a job caught running by three kills of its
engine is faulted as one that kills its process (``lost_limit``: at least three deaths,
else retries + 1), and the kill test's sixteen kills at random points can catch one job
three times: after two, a resume runs it alone first, where an early kill finds it."""


def build(batches: int = BATCHES, size: int = BATCH_SIZE, *, name: str = NAME,
          concurrency: int | None = None, slower: int = 1) -> jw.Schedule:
    """The schedule: ``batches`` batches of ``size`` jobs of 1-5 ms each (times
    ``slower``)."""
    return jw.schedule(
        [[jw.job(work, name=job_name(b, i), batch=b, i=i, ms=(1 + (i * 7 + b) % 5) * slower,
                 retries=RETRIES)
          for i in range(size)] for b in range(batches)],
        name=name, concurrency=concurrency)


def expected(batches: int = BATCHES, size: int = BATCH_SIZE) -> dict[str, Any]:
    """Every job's value as an uninterrupted run computes it."""
    return {job_name(b, i): value_of(b, i) for b in range(batches) for i in range(size)}


# What ``jobweave run tests/crash/jobs.py:cli_schedule`` runs (signal tests): about two
# seconds of work, so that a signal sent early in it always lands before the end, however
# busy the machine is.
cli_schedule = build(name="crash-cli", slower=3)
