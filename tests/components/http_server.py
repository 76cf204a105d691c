"""A real HTTP server on 127.0.0.1 for the ``http`` component's tests, in a thread.

Endpoints (GET unless said):

- ``/users?page=&limit=``: ``{"data": [...], "total": 25, "page": p, "auth": header}`` as JSON;
- ``/text``: plain text; ``/echo`` (POST, PUT): what was sent (body, content type);
- ``/flaky?key=&fails=N``: 500 N times for ``key``, then 200;
- ``/limited?key=&after=S``: 429 with ``Retry-After: S`` once for ``key``, then 200;
- ``/slow?seconds=S``: answers after S seconds;
- ``/moved``: 302 to ``/users``; ``/missing``: 404 with a text body.

``hits[path]`` counts the requests each path got.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOTAL = 25


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, kind: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = (json.dumps(body) if kind == "application/json" else str(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.hits[url.path] += 1
        key = url.path + q.get("key", "")
        self.server.counts[key] += 1
        seen = self.server.counts[key]
        if url.path == "/users":
            page, limit = int(q.get("page", 1)), int(q.get("limit", 10))
            start = (page - 1) * limit
            data = [{"id": i, "email": f"User{i}@Example.org", "active": i % 3 != 0}
                    for i in range(start, min(start + limit, TOTAL))]
            self._send(200, {"data": data, "total": TOTAL, "page": page,
                             "auth": self.headers.get("Authorization"),
                             "accept": self.headers.get("Accept")})
        elif url.path == "/text":
            self._send(200, "plain words", "text/plain; charset=utf-8")
        elif url.path == "/flaky":
            if seen <= int(q["fails"]):
                self._send(500, {"error": "flaky"})
            else:
                self._send(200, {"ok": True, "tries": seen})
        elif url.path == "/limited":
            if seen == 1:
                self._send(429, "slow down", "text/plain", {"Retry-After": q["after"]})
            else:
                self._send(200, {"ok": True, "at": time.monotonic()})
        elif url.path == "/slow":
            time.sleep(float(q["seconds"]))
            self._send(200, {"ok": True})
        elif url.path == "/moved":
            self._send(302, "", "text/plain", {"Location": "/users?page=2&limit=5"})
        else:
            self._send(404, "no such thing here", "text/plain")

    def _body(self) -> None:
        self.server.hits[self.path] += 1
        n = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(n).decode()
        self._send(200, {"method": self.command, "body": raw,
                         "type": self.headers.get("Content-Type")})

    do_POST = do_PUT = _body


class Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    counts: Counter[str]


@contextmanager
def serving() -> Iterator[tuple[str, Server]]:
    """The base URL of a fresh server, and the server (for its ``hits``)."""
    server = Server(("127.0.0.1", 0), Handler)
    server.hits, server.counts = Counter(), Counter()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
