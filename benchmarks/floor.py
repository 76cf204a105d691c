"""The floor of a workload: what a durable run of it costs before the engine does any
work of its own, beside the bare thread-pool runner and the jobweave run.

A durable run of N jobs must at least compile its definition, and write to its store N
job rows, N journal records and N job updates, committed in groups of at most
``GROUP_ROWS`` records (each commit fenced by the run's epoch). This module times those
two things alone: the compile, and the writes replayed on a new SQLite store through the
store's own connection and commit path, with the rows a real run of the workload wrote
(read back from its store). What is left between their sum and a target ratio is all the
engine may spend on starting jobs, handing them to threads and settling them.

``python -m benchmarks.floor W7 W8 W9 --n 10000 --repeat 5``
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import select

import jobweave as jw
from benchmarks.measure import compile_once, fresh_store, run_bare
from benchmarks.workloads import WORKLOADS, Workload
from jobweave.engine.engine import Engine
from jobweave.engine.pending import GROUP_ROWS
from jobweave.settings import Settings
from jobweave.store import close_all, open_store, schema

REPLAYED = ("W1", "W1+sum", "W2", "W3", "W7", "W8", "W9")
"""Workloads of jobs on a SQLite store beside a bare runner: the ones whose writes this
replays (a graph journals firings, a flow's jobs come from its elements). W2's chain
commits a link at a time, so its floor here, in groups, is lower than its real one."""
JOB_COLUMNS = ("run_id", "idx", "name", "kind", "status", "attempts", "output", "error",
               "started_at", "finished_at", "tags")
JOURNAL_COLUMNS = ("run_id", "seq", "ts", "event", "node", "attempt", "data")


class Written(NamedTuple):
    """The rows one real run of a workload wrote: its jobs and its journal."""

    jobs: list[tuple[Any, ...]]
    journal: list[tuple[Any, ...]]
    run_s: float


def run_and_read(workload: Workload, n: int) -> Written:
    """Run the workload on a new store (timed as the suite times it) and read back what
    the run wrote."""
    with fresh_store(workload) as url:
        store = open_store(url)
        definition, check = workload.build(n)
        gc.collect()
        t0 = time.perf_counter()
        result = jw.run(definition, store=url, concurrency=workload.concurrency)
        run_s = time.perf_counter() - t0
        check(result)
        s = schema
        with store.engine.connect() as conn:
            jobs = [tuple(r) for r in conn.execute(
                select(*(s.jobs.c[c] for c in JOB_COLUMNS))
                .where(s.jobs.c.run_id == result.run_id).order_by(s.jobs.c.idx))]
            journal = [tuple(r) for r in conn.execute(
                select(*(s.journal.c[c] for c in JOURNAL_COLUMNS))
                .where(s.journal.c.run_id == result.run_id).order_by(s.journal.c.seq))]
        del result, definition
        close_all()
        return Written(jobs, journal, run_s)


def writes_alone(workload: Workload, n: int, written: Written) -> tuple[float, float]:
    """Seconds to write what the run wrote, on new stores, from rows built beforehand:
    (the run's creation: its job rows, pending, and its definition's record, in one
    transaction; the rest of its journal in commits of ``GROUP_ROWS`` records, each with
    the updates of the jobs its records settle).

    The commits are timed on a store where the engine created the same run: on one where
    the creation was replayed too they took twice as long for W7 (0.15 s, against 0.07 s
    inside the real run, whose exact commits replayed after the engine's creation take
    0.07-0.08 s), for a reason not found; the figure kept is the one the run sees."""
    index = {row[2]: row for row in written.jobs}
    pending = json.dumps([[row[1], row[2], row[3], row[10]] for row in written.jobs])
    created = [r for r in written.journal if r[3] == "submitted"]
    later = [r for r in written.journal if r[3] != "submitted"]
    # the cheapest insert known: SQLite builds the rows from one JSON array itself
    insert = (f"INSERT INTO {schema.jobs.name} (run_id, idx, name, kind, status, attempts, "
              "tags) SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
              "json_extract(value, '$[2]'), 'pending', 0, json_extract(value, '$[3]') "
              "FROM json_each(?)")
    record = (f"INSERT INTO {schema.journal.name} ({', '.join(JOURNAL_COLUMNS)}) "
              f"VALUES ({', '.join('?' * len(JOURNAL_COLUMNS))})")
    with fresh_store(workload) as url:
        store = open_store(url)
        raw = store.writer_engine.raw_connection()
        gc.collect()
        t0 = time.perf_counter()
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute(insert, (written.jobs[0][0], pending))
        cur.executemany(record, created)
        cur.execute("COMMIT")
        create_s = time.perf_counter() - t0
        cur.close()
        raw.close()
        close_all()
    with fresh_store(workload) as url:
        store = open_store(url)
        definition, _check = workload.build(n)
        run_id, _plan = Engine(Settings(store=url)).create(definition)
        with store.engine.connect() as conn:
            epoch = conn.execute(select(schema.runs.c.epoch).where(
                schema.runs.c.run_id == run_id)).scalar_one()
        groups = []
        for k in range(0, len(later), GROUP_ROWS):
            records = [(run_id, *r[1:]) for r in later[k:k + GROUP_ROWS]]
            updates = [(*index[r[4]][4:10], run_id, index[r[4]][1])
                       for r in records if r[4] in index and r[3] != "started"]
            groups.append((records, updates))
        writer = store.writer(run_id, epoch)
        gc.collect()
        t0 = time.perf_counter()
        for records, updates in groups:
            writer.commit(records, updates)
        commits_s = time.perf_counter() - t0
        writer.close()
        close_all()
    return create_s, commits_s


def floor(workload: Workload, n: int, repeat: int) -> dict[str, Any]:
    """Every figure of one workload at size n (medians of ``repeat`` runs)."""
    runs, creates, commits = [], [], []
    for _ in range(repeat):
        written = run_and_read(workload, n)
        runs.append(written.run_s)
        create_s, commits_s = writes_alone(workload, n, written)
        creates.append(create_s)
        commits.append(commits_s)
    bare = statistics.median(run_bare(workload, n) for _ in range(repeat))
    compiled = statistics.median(compile_once(workload, n) for _ in range(repeat))
    run_s = statistics.median(runs)
    write_s = statistics.median(creates) + statistics.median(commits)
    records = len(written.journal)
    return {"workload": workload.key, "n": n, "bare_s": bare, "run_s": run_s,
            "compile_s": compiled, "create_s": statistics.median(creates),
            "commits_s": statistics.median(commits), "writes_s": write_s,
            "floor_s": compiled + write_s, "records": records,
            # a job still running START_AFTER after it started is journaled `started`
            # too: how many were depends on the machine's load, not on the workload
            "started": sum(1 for r in written.journal if r[3] == "started"),
            "commits": -(-(records - 1) // GROUP_ROWS)}


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The figures as a text table; ``floor x bare`` is what a target ratio must leave
    room above for the engine's own work."""
    head = (f"{'workload':8}  {'N':>7}  {'bare s':>6}  {'run s':>6}  {'x bare':>6}  "
            f"{'compile s':>9}  {'create s':>8}  {'commits s':>9}  {'floor s':>7}  "
            f"{'floor x bare':>12}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['workload']:8}  {r['n']:>7,}  {r['bare_s']:6.3f}  {r['run_s']:6.3f}  "
            f"{r['run_s'] / r['bare_s']:6.1f}  {r['compile_s']:9.3f}  {r['create_s']:8.3f}  "
            f"{r['commits_s']:9.3f}  {r['floor_s']:7.3f}  {r['floor_s'] / r['bare_s']:12.2f}")
    return "\n".join(lines)


def arguments(prog: str, doc: str | None,
              argv: list[str] | None) -> tuple[list[Workload], int, int]:
    """The command line of this module and of ``benchmarks.without``: the workloads (of
    ``REPLAYED``, refused by name otherwise), the size and the repetitions."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n")[0])
    parser.add_argument("workloads", nargs="+", metavar="WORKLOAD",
                        help=", ".join(REPLAYED))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    chosen = []
    for key in args.workloads:
        workload = WORKLOADS.get(key)
        if not isinstance(workload, Workload) or key not in REPLAYED:
            parser.error(f"{key}: not one of {', '.join(REPLAYED)}")
        chosen.append(workload)
    return chosen, args.n, max(1, args.repeat)


def main(argv: list[str] | None = None) -> int:
    workloads, n, repeat = arguments("python -m benchmarks.floor", __doc__, argv)
    sys.stdout.write(table([floor(w, n, repeat) for w in workloads]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
