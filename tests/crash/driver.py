"""A process that runs the crash workload, so a test can SIGKILL it and start it again.

    python -m tests.crash.driver submit  STORE [--batches N --size N --concurrency N --name X]
    python -m tests.crash.driver resume  STORE RUN_ID
    python -m tests.crash.driver recover STORE JOURNAL

Every mode takes ``--go FILE``: print ``ready`` once imported, then wait for FILE to
exist before touching the store, so a test can start two processes at the same moment.

``submit`` builds the schedule and calls ``Schedule.submit()``: the first time it
creates the run, after a crash it resumes the same run. ``resume`` calls
``jobweave.resume(run_id)``; ``recover`` calls ``jobweave.recover(journal)``.
The job's results file is named by ``CRASH_RESULTS`` (see tests/crash/jobs.py).

On stdout: ``started RUN_ID`` as soon as the run executes, then ``finished RUN_ID
STATUS`` at the end; an error prints ``error TYPE MESSAGE`` and exits 3.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import jobweave as jw
from tests.crash import jobs


def _announce(event: Any) -> None:
    if isinstance(event, jw.RunStarted):
        print("started", event.run_id, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.crash.driver")
    parser.add_argument("mode", choices=("submit", "resume", "recover"))
    parser.add_argument("store")
    parser.add_argument("target", nargs="?", help="run id (resume) or journal (recover)")
    parser.add_argument("--batches", type=int, default=jobs.BATCHES)
    parser.add_argument("--size", type=int, default=jobs.BATCH_SIZE)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--name", default=jobs.NAME)
    parser.add_argument("--go", default=None, help="wait for this file to exist first")
    args = parser.parse_args(argv)
    if args.go:
        print("ready", flush=True)
        while not os.path.exists(args.go):
            time.sleep(0.005)
    listeners = [_announce]
    try:
        if args.mode == "submit":
            schedule = jobs.build(args.batches, args.size, name=args.name)
            result = schedule.submit(store=args.store, concurrency=args.concurrency,
                                     listeners=listeners)
        elif args.mode == "resume":
            result = jw.resume(args.target, store=args.store, listeners=listeners)
        else:
            result = jw.recover(args.target, store=args.store, listeners=listeners)
    except jw.JobweaveError as exc:
        print("error", type(exc).__name__, str(exc).replace("\n", " "), flush=True)
        return 3
    print("finished", result.run_id, result.status, flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
