"""``jobweave serve``: start runs of definitions when their triggers fire, until stopped."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import Annotated

import typer

from jobweave.cli.app import EXIT_OK, StoreOption, app, engine_for
from jobweave.engine.serve import RENEW_SECONDS, Server
from jobweave.errors import DefinitionError


class _Lines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        return f"{stamp} {record.levelname.lower()}: {record.getMessage()}"


@app.command("serve")
def serve_command(
    targets: Annotated[list[str], typer.Argument(
        metavar="TARGET...",
        help="Definitions with triggers: YAML/JSON files with 'triggers:', or "
             "path/file.py:name / package.module:name naming a flow, batch or schedule.")],
    store: StoreOption = None,
    grace: Annotated[float, typer.Option(
        "--grace", metavar="SECONDS", min=0,
        help="On SIGTERM/SIGINT, how long runs started here may take to pause before "
             "serve exits (runs still going are left resumable).")] = 10.0,
    renew: Annotated[float, typer.Option(
        "--renew", metavar="SECONDS", min=0.1, hidden=True,
        help="Trigger lease renewal interval.")] = RENEW_SECONDS,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print warnings and errors only.")] = False,
) -> int:
    """Start runs when their triggers fire; SIGTERM or Ctrl-C stops cleanly."""
    from jobweave.loader import load_target

    definitions = [load_target(target) for target in targets]
    if not definitions:
        raise DefinitionError("name at least one definition to serve")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Lines())
    logger = logging.getLogger("jobweave")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    server = Server(definitions, engine=engine_for(store), renew=renew)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # stop() takes a lock the interrupted main thread may hold: set it from a thread
        threading.Thread(target=server.stop, daemon=True).start()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.serve()
        if server.stopping.is_set():
            logger.info("stopping: no new fires")
        server.close(grace)
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)
        logger.removeHandler(handler)
    return EXIT_OK
