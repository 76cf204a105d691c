"""``jobweave worker``: a Celery worker that runs the jobs of runs with executor celery."""

from __future__ import annotations

import os
import socket
import sys
from typing import Annotated, Literal

import typer

from jobweave.cli.app import EXIT_OK, StoreOption, app, settings_for


@app.command("worker")
def worker_command(
    store: StoreOption = None,
    broker: Annotated[str | None, typer.Option(
        "--broker", help="The broker URL (default: $JOBWEAVE_BROKER): redis://host:6379/0 "
                         "or amqp://user:password@host:5672//.")] = None,
    queues: Annotated[str | None, typer.Option(
        "--queues", "-Q", help="Comma-separated queues to take jobs from (default: "
                               "$JOBWEAVE_QUEUE, else jobweave).")] = None,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", "-c", min=1, help="Worker processes (default: one per CPU).")] = None,
    pool: Annotated[Literal["prefork", "threads", "solo"], typer.Option(
        "--pool", "-P", help="Celery's pool: prefork (default) isolates each job's process.")
    ] = "prefork",
    name: Annotated[str | None, typer.Option(
        "--name", "-n", help="The worker's node name (default: jobweave-PID@host).")] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="Celery's log level.")
                        ] = "warning",
) -> int:
    """Run jobs of executor celery: a Celery worker on the broker and the PostgreSQL store."""
    from jobweave.executors.attempts import conninfo
    from jobweave.executors.celery_app import broker_of, make_app

    settings = settings_for(store, broker=broker)
    conninfo(settings.store)  # one clear line when the store is not PostgreSQL
    broker_of(settings)
    # jobs travel by reference: "package.module:function" imports from the folder the
    # worker was started in, as under `python -m` (the pool's processes inherit the path)
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    # the pool's processes read the same settings
    os.environ["JOBWEAVE_STORE"] = settings.store
    os.environ["JOBWEAVE_BROKER"] = settings.broker or ""
    celery_app = make_app(settings)
    argv = ["worker", "-P", pool, "-l", loglevel, "-O", "fair",
            "-Q", queues or settings.queue,
            "-n", name or f"jobweave-{os.getpid()}@{socket.gethostname()}",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if concurrency is not None:
        argv += ["-c", str(concurrency)]
    celery_app.worker_main(argv)
    return EXIT_OK
