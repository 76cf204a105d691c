"""A small users API for the sync example: paging, a total, ``updated_since``, a bearer
token, and a flaky mode that fails the way real APIs do.

    python examples/user_sync/api.py --port 8765 --users 1000 --token demo-token
    python examples/user_sync/api.py --flaky 0.2 --seed 7     # 500s, 429s, slow answers

``GET /users?page=1&limit=100&updated_since=ISO`` answers
``{"data": [user, ...], "page": 1, "limit": 100, "total": 1000}``, users ordered by id.
A user is ``{"id", "email", "first_name", "last_name", "active", "updated_at"}``.
``POST /admin/touch?count=50`` changes 50 users (their name and ``updated_at``), as an
upstream edit would; ``GET /admin/stats`` counts the requests served and failed, and
``GET /admin/requests`` lists every ``/users`` request: ``{page, limit, since, outcome}``
with ``outcome`` one of ``served``, ``500``, ``429``, ``slow`` (served late).

In flaky mode each ``/users`` request fails with probability ``--flaky``: a third of the
failures are 500s, a third 429s with ``Retry-After: 1``, a third answers slower than
``--slow`` seconds (past a client's timeout). The failures are drawn from ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
MAX_LIMIT = 1000


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_users(count: int) -> list[dict[str, Any]]:
    """``count`` users, the same ones for the same count."""
    rng = random.Random(count)
    firsts = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
    lasts = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
    users = []
    for i in range(1, count + 1):
        first, last = rng.choice(firsts), rng.choice(lasts)
        users.append({"id": f"u{i:06d}", "email": f"{first}.{last}{i}@Example.COM",
                      "first_name": first, "last_name": last, "active": rng.random() < 0.8,
                      "updated_at": iso(EPOCH + timedelta(minutes=i))})
    return users


class UsersApi:
    """The API's state: its users, its token, its flakiness and its counters."""

    def __init__(self, users: int, token: str | None, flaky: float = 0.0, seed: int = 0,
                 slow: float = 2.0) -> None:
        self.users = make_users(users)
        self.token = token
        self.flaky = flaky
        self.slow = slow
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stats = {"served": 0, "failed_500": 0, "failed_429": 0, "slow": 0,
                      "unauthorized": 0}
        self.requests: list[dict[str, Any]] = []
        """Every authorized ``/users`` request, oldest first."""

    def logged(self, page: int, limit: int, since: str | None, outcome: str) -> None:
        with self.lock:
            self.requests.append({"page": page, "limit": limit, "since": since,
                                  "outcome": outcome})

    def touch(self, count: int) -> list[str]:
        """Change ``count`` users (every 7th from the first), as an upstream edit would."""
        now = datetime.now(UTC)
        with self.lock:
            changed = []
            for k, user in enumerate(self.users[::7][:count]):
                user["last_name"] = user["last_name"] + "-Jr"
                user["updated_at"] = iso(now + timedelta(microseconds=k))
                changed.append(user["id"])
            return changed

    def page(self, page: int, limit: int, since: str | None) -> dict[str, Any]:
        with self.lock:
            chosen = [u for u in self.users if since is None or u["updated_at"] > since]
            start = (page - 1) * limit
            return {"data": [dict(u) for u in chosen[start:start + limit]], "page": page,
                    "limit": limit, "total": len(chosen)}

    def failure(self) -> str | None:
        """What this request suffers in flaky mode: ``500``, ``429``, ``slow`` or None."""
        with self.lock:
            if self.flaky <= 0 or self.rng.random() >= self.flaky:
                return None
            return self.rng.choice(["500", "429", "slow"])


def handler_for(api: UsersApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet by default
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                self.close_connection = True

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/admin/stats":
                with api.lock:
                    self._send(200, dict(api.stats))
                return
            if url.path == "/admin/requests":
                with api.lock:
                    self._send(200, list(api.requests))
                return
            if url.path != "/users":
                self._send(404, {"error": "not found"})
                return
            if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
                with api.lock:
                    api.stats["unauthorized"] += 1
                self._send(401, {"error": "missing or wrong bearer token"})
                return
            try:
                page = max(1, int(query.get("page", "1")))
                limit = min(MAX_LIMIT, max(1, int(query.get("limit", "100"))))
            except ValueError:
                self._send(400, {"error": "page and limit are numbers"})
                return
            trouble = api.failure()
            since = query.get("updated_since") or None
            api.logged(page, limit, since, trouble or "served")
            if trouble == "500":
                with api.lock:
                    api.stats["failed_500"] += 1
                self._send(500, {"error": "internal error (flaky mode)"})
                return
            if trouble == "429":
                with api.lock:
                    api.stats["failed_429"] += 1
                self._send(429, {"error": "slow down"}, {"Retry-After": "1"})
                return
            if trouble == "slow":
                with api.lock:
                    api.stats["slow"] += 1
                time.sleep(api.slow)
            body = api.page(page, limit, since)
            with api.lock:
                api.stats["served"] += 1
            self._send(200, body)

        def do_POST(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/admin/touch":
                self._send(200, {"changed": api.touch(int(query.get("count", "50")))})
            else:
                self._send(404, {"error": "not found"})

    return Handler


def serve(api: UsersApi, port: int = 0) -> ThreadingHTTPServer:
    """Start the API on 127.0.0.1 (port 0: any free port) in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(api))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--flaky", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=2.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(
        UsersApi(args.users, args.token, args.flaky, args.seed, args.slow)))
    print(f"users API on http://127.0.0.1:{args.port} ({args.users} users)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
