"""Serving the web app in a thread of ``jobweave serve`` (uvicorn), and stopping it."""

from __future__ import annotations

import logging
import threading

import uvicorn

from jobweave.web.app import create_app
from jobweave.web.config import WebConfig

log = logging.getLogger("jobweave.web")
SHUTDOWN_SECONDS = 3
"""How long stopping waits for open requests (event streams end at once)."""


class WebServer:
    """The dashboard and REST API on ``host:port``, run by a background thread."""

    def __init__(self, config: WebConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.stopping = threading.Event()
        self.app = create_app(config, stopping=self.stopping)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host=host, port=port, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=SHUTDOWN_SECONDS, access_log=False))
        self._thread = threading.Thread(target=self.server.run, name="jobweave-web",
                                        daemon=True)
        self.host, self.port = host, port

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        ready = threading.Event()
        while not self.server.started and self._thread.is_alive():
            ready.wait(0.02)
        if not self.server.started:
            raise OSError(f"the dashboard could not listen on {self.host}:{self.port}")
        if self.port == 0:
            sockets = self.server.servers[0].sockets if self.server.servers else []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        log.info("dashboard on http://%s:%d/", self.host, self.port)

    def stop(self, grace: float = 5.0) -> None:
        """End the event streams, stop listening, pause the runs resumed here."""
        self.stopping.set()
        self.server.should_exit = True
        self._thread.join(SHUTDOWN_SECONDS + 2)
        self.app.state.actions.close(grace)
