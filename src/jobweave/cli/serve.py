"""``jobweave serve``: start runs of definitions when their triggers fire, until stopped."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from jobweave.cli.app import EXIT_OK, CommandError, StoreOption, app, engine_for
from jobweave.errors import DefinitionError
from jobweave.settings import RENEW_SECONDS

if TYPE_CHECKING:
    from jobweave.web.server import WebServer


class _Lines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        return f"{stamp} {record.levelname.lower()}: {record.getMessage()}"


@app.command("serve")
def serve_command(
    targets: Annotated[list[str] | None, typer.Argument(
        metavar="[TARGET]...", show_default=False,
        help="Definitions with triggers: YAML/JSON files with 'triggers:', or "
             "path/file.py:name / package.module:name naming a flow, batch or schedule.")] = None,
    store: StoreOption = None,
    grace: Annotated[float, typer.Option(
        "--grace", metavar="SECONDS", min=0,
        help="On SIGTERM/SIGINT, how long runs started here may take to pause before "
             "serve exits (runs still going are left resumable).")] = 10.0,
    renew: Annotated[float, typer.Option(
        "--renew", metavar="SECONDS", min=0.1, hidden=True,
        help="Trigger lease renewal interval.")] = RENEW_SECONDS,
    lease: Annotated[float | None, typer.Option(
        "--lease", metavar="SECONDS", min=0.1,
        help="How long a run's owner may go silent before its run may be taken over "
             "(default: $JOBWEAVE_LEASE, else 15); use one lease for every engine on a "
             "store.")] = None,
    takeover: Annotated[bool, typer.Option(
        "--takeover/--no-takeover",
        help="Continue runs whose owner is gone (crashed) and submitted runs no worker "
             "started.")] = True,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print warnings and errors only.")] = False,
    web: Annotated[bool, typer.Option(
        "--web", help="Also serve the dashboard and REST API (needs the web extra).")] = False,
    host: Annotated[str, typer.Option(
        "--host", help="--web: the address to bind; one other than loopback needs auth.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="--web: the port.")
                    ] = 8080,
    auth: Annotated[bool | None, typer.Option(
        "--auth/--no-auth", help="--web: require a token or a signed-in session (default: "
                                 "on from the first request once the store has a token, "
                                 "then until the server stops; see 'jobweave token')")
    ] = None,
) -> int:
    """Start runs when their triggers fire; SIGTERM or Ctrl-C stops cleanly."""
    from jobweave.engine.serve import Server
    from jobweave.loader import load_target

    definitions = [load_target(target) for target in targets or ()]
    if not definitions and not web and not takeover:
        raise DefinitionError("name at least one definition to serve (or take over runs: "
                              "leave out --no-takeover)")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Lines())
    logger = logging.getLogger("jobweave")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    engine = engine_for(store, lease=lease)
    dashboard = _dashboard(engine.settings.store, host, port, auth) if web else None
    server = Server(definitions, engine=engine, renew=renew, takeover=takeover)
    if dashboard is not None:  # a trigger paused or fired from the dashboard: look at once
        dashboard.app.state.nudge = server.nudge

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # stop() takes a lock the interrupted main thread may hold: set it from a thread
        threading.Thread(target=server.stop, daemon=True).start()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if dashboard is not None:
            dashboard.start()
        server.serve()
        while dashboard is not None and not server.stopping.is_set():
            server.stopping.wait(0.5)  # triggers done: the dashboard stays up
        if server.stopping.is_set():
            logger.info("stopping: no new fires")
        if dashboard is not None:
            dashboard.stop(grace)
        server.close(grace)
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)
        logger.removeHandler(handler)
    return EXIT_OK


def _dashboard(store: str, host: str, port: int, auth: bool | None) -> WebServer:
    """The web server, once its extra is there and its address is safe to bind."""
    from jobweave.web import INSTALL_HINT, missing_dependencies

    missing = missing_dependencies()
    if missing:
        raise CommandError(f"--web needs {', '.join(missing)}: {INSTALL_HINT}")
    from jobweave.store import open_store
    from jobweave.store.access import token_count
    from jobweave.web.config import WebConfig, is_loopback
    from jobweave.web.server import WebServer

    if auth is None and not is_loopback(host):  # beyond loopback, never open by default
        auth = token_count(open_store(store)) > 0
    if auth is False and not is_loopback(host):
        raise CommandError(f"refusing to serve the dashboard on {host} without auth: make a "
                           "token ('jobweave token create --role admin') and pass --auth")
    return WebServer(WebConfig(store=store, auth=auth), host=host, port=port)
