"""Serving the web app in a thread of ``jobweave serve`` (uvicorn), and stopping it."""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time

import uvicorn

from jobweave.errors import ConfigError
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
        self._thread: threading.Thread | None = None
        self.host, self.port = host, port

    def start(self, timeout: float = 10.0) -> None:
        """Listen, then serve from a thread; an address that cannot be taken (in use, not
        this host's) is a :class:`ConfigError` naming it, before anything is served."""
        sock = _listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                        name="jobweave-web", daemon=True)
        self._thread.start()
        ready = threading.Event()
        deadline = time.monotonic() + timeout
        while not self.server.started and self._thread.is_alive() \
                and time.monotonic() < deadline:
            ready.wait(0.02)
        if not self.server.started:
            self.server.should_exit = True
            sock.close()
            raise ConfigError(f"the dashboard could not start on {self.host}:{self.port} "
                              f"within {timeout:g} s")
        log.info("dashboard on http://%s:%d/", self.host, self.port)

    def stop(self, grace: float = 5.0) -> None:
        """End the event streams, stop listening, pause the runs resumed here."""
        self.stopping.set()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_SECONDS + 2)
        self.app.state.actions.close(grace)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (IPv4 or IPv6, as the host resolves)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        # the bare reason: create_server's own message repeats the address
        why = exc.strerror if isinstance(exc, socket.gaierror) or not exc.errno \
            else os.strerror(exc.errno)
        hint = "; choose another port with --port" if exc.errno == errno.EADDRINUSE else ""
        raise ConfigError(f"the dashboard cannot listen on {host}:{port}: "
                          f"{why or exc}{hint}") from None
