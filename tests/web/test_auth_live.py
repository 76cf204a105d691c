"""Auth by default follows the store while the server runs: a real `jobweave serve --web`
started on a store without tokens is open, is closed from the first request after
`jobweave token create` (another process), and stays closed when that token is revoked."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import jobweave as jw
from jobweave.store.access import create_token
from tests.web import jobs
from tests.web.conftest import Site
from tests.web.test_shutdown import LISTENING

STREAM_ENDS = 2.0
"""docs/dashboard.md: an event stream opened without auth ends within 2 s of auth going on."""


def _jobweave(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "jobweave", *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real `jobweave serve --web` (default auth) on a store holding a run, no token."""
    store = str(tmp_path / "s.db")
    jw.run(jw.batch(jw.job(jobs.double, x=1, name="one"), name="seeded"), store=store)
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "serve", "--web", "--port",
                             "0", "--store", store], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = next((m.group(1) for m in map(LISTENING.search, proc.stdout) if m), None)
        assert url, proc.stderr.read() if proc.stderr else ""
        yield url, store
    finally:
        proc.kill()
        proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _stream(url: str, opened: threading.Event, ended: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=60)) as client, \
            client.stream("GET", "/api/v1/events") as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("retry:"):
                opened.set()
    ended.append(time.monotonic())


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_a_token_made_by_another_process_turns_auth_on_at_once(
        served: tuple[str, str]) -> None:
    url, store = served
    opened, ended = threading.Event(), []
    with httpx.Client(base_url=url, timeout=15) as anon, \
            httpx.Client(base_url=url, timeout=15, follow_redirects=False) as browser:
        assert anon.get("/api/v1/runs").status_code == 200
        assert anon.get("/api/v1/whoami").json()["via"] == "local"
        page = browser.get("/runs", headers={"accept": "text/html"})
        assert page.status_code == 200 and "Sign out" not in page.text
        listener = threading.Thread(target=_stream, args=(url, opened, ended), daemon=True)
        listener.start()
        assert opened.wait(15), "the anonymous event stream did not open"

        token = _jobweave("token", "create", "--role", "operator", "--name", "late",
                          "--store", store)
        made = time.monotonic()
        refused = anon.get("/api/v1/runs")  # the very next request: no delay
        assert refused.status_code == 401, refused.text
        assert anon.get("/api/v1/runs", headers={"authorization": "Bearer jw_nope"}
                        ).status_code == 401
        bearer = anon.get("/api/v1/whoami", headers={"authorization": f"Bearer {token}"})
        assert bearer.status_code == 200 and bearer.json() == {
            "name": "late", "role": "operator", "via": "token"}
        again = browser.get("/runs", headers={"accept": "text/html"})
        assert again.status_code == 303 and again.headers["location"] == "/login?next=/runs"
        form = browser.get("/login").text
        signed = browser.post("/login", data={"token": token, "csrf": _csrf(form),
                                               "next": "/runs"})
        assert signed.status_code == 303, signed.text
        page = browser.get("/runs")
        assert page.status_code == 200 and "Sign out" in page.text

        listener.join(STREAM_ENDS + 3)  # slack for a busy machine
        assert ended, "the stream opened without auth was not ended"
        assert ended[0] - made < STREAM_ENDS + 1, ended[0] - made


def test_revoking_the_last_token_does_not_open_the_dashboard(
        served: tuple[str, str]) -> None:
    url, store = served
    token = _jobweave("token", "create", "--role", "viewer", "--name", "only", "--store",
                      store)
    with httpx.Client(base_url=url, timeout=15, follow_redirects=False) as c:
        assert c.get("/api/v1/runs").status_code == 401
        form = c.get("/login").text
        assert c.post("/login", data={"token": token, "csrf": _csrf(form)}
                      ).status_code == 303
        assert c.get("/api/v1/runs").status_code == 200  # by the session

        assert _jobweave("token", "revoke", "only", "--store", store) == \
            "revoked 1 token(s)"
        assert c.get("/api/v1/runs").status_code == 401  # the session ended with its token
        c.cookies.clear()
        assert c.get("/api/v1/runs").status_code == 401  # and nobody else gets in
        assert c.get("/api/v1/runs", headers={"authorization": f"Bearer {token}"}
                     ).status_code == 401
        fresh = _jobweave("token", "create", "--role", "viewer", "--name", "next",
                          "--store", store)
        assert c.get("/api/v1/runs", headers={"authorization": f"Bearer {fresh}"}
                     ).status_code == 200


def test_no_auth_stays_off_when_a_token_is_made(site: Site) -> None:
    create_token(site.db, "admin", "made-while-serving")
    with site.client() as c:  # --no-auth: the caller asked for it
        assert c.get("/api/v1/whoami").json()["via"] == "local"


def test_auth_stays_on_when_every_token_is_revoked(secured: Site) -> None:
    for name in ("viewer-bot", "operator-bot", "admin-bot"):
        _jobweave("token", "revoke", name, "--store", secured.store)
    with secured.client() as c:  # --auth: on whatever the store holds
        assert c.get("/api/v1/runs").status_code == 401
