"""Tokens, sessions, CSRF and roles on a dashboard with auth on; the serve command's guards."""

from __future__ import annotations

import re
import socket
import subprocess

import pytest

from jobweave.store.access import list_tokens
from tests.cli.helpers import run_in_process
from tests.web.conftest import Site

PROBLEM = "application/problem+json"


def test_without_credentials_nothing_is_served(secured: Site) -> None:
    with secured.client() as c:
        api = c.get("/api/v1/runs")
        assert api.status_code == 401 and api.headers["content-type"] == PROBLEM
        page = c.get("/runs", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/runs"
        assert c.get("/api/v1/runs", headers={"authorization": "Bearer jw_nope"}
                     ).status_code == 401


def test_roles(secured: Site) -> None:
    run_id = secured.runs["failed"]
    with secured.client(secured.tokens["viewer"]) as viewer:
        assert viewer.get("/api/v1/runs").status_code == 200
        refused = viewer.post(f"/api/v1/runs/{run_id}/pause")
        assert refused.status_code == 403
        assert refused.json()["detail"] == ("viewer-bot (viewer) may not do this: it needs "
                                            "the operator role")
    with secured.client(secured.tokens["operator"]) as operator:
        marked = operator.post(f"/api/v1/runs/{run_id}/jobs/gate/mark-completed",
                               params={"release": "false"})
        assert marked.status_code == 200, marked.text
        assert operator.get("/api/v1/tokens").status_code == 403
    with secured.client(secured.tokens["admin"]) as admin:
        names = {t["name"] for t in admin.get("/api/v1/tokens").json()["tokens"]}
        assert names == {"viewer-bot", "operator-bot", "admin-bot"}
        made = admin.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}).json()
        assert made["token"].startswith("jw_")
    stored = {t.name: t.digest for t in list_tokens(secured.db)}
    assert made["token"] not in stored.values(), "only the token's hash is kept"
    assert secured.db.find_jobs(run_id, name="gate")[0].status == "completed"


def test_form_login_cookie_and_csrf(secured: Site) -> None:
    run_id = secured.runs["failed"]
    with secured.client(follow_redirects=False) as c:
        form = c.get("/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        wrong = c.post("/login", data={"token": "jw_wrong", "csrf": csrf, "next": "/runs"})
        assert wrong.status_code == 401
        no_csrf = c.post("/login", data={"token": secured.tokens["operator"]})
        assert no_csrf.status_code == 403
        ok = c.post("/login", data={"token": secured.tokens["operator"], "csrf": csrf,
                                    "next": f"/runs/{run_id}"})
        assert ok.status_code == 303 and ok.headers["location"] == f"/runs/{run_id}"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        page = c.get(f"/runs/{run_id}")
        assert page.status_code == 200 and "operator-bot" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        forged = c.post(f"/runs/{run_id}/action", data={"action": "pause"})
        assert forged.status_code == 403
        assert "CSRF" in forged.json()["detail"]
        done = c.post(f"/runs/{run_id}/action", data={"action": "pause", "csrf": csrf})
        assert done.status_code == 303
        assert f"pause+refused%3A+run+{run_id}+is+already+failed" in \
            done.headers["location"].replace("%20", "+")
        api = c.post(f"/api/v1/runs/{run_id}/resume", headers={"x-csrf-token": "bad"})
        assert api.status_code == 403


def test_no_auth_refuses_cross_origin_posts(site: Site) -> None:
    with site.client() as c:
        evil = c.post(f"/api/v1/runs/{site.runs['failed']}/pause",
                      headers={"origin": "http://evil.example"})
        assert evil.status_code == 403
        assert c.get("/api/v1/whoami").json()["role"] == "admin"


def test_serving_beyond_loopback_without_auth_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    p = run_in_process(["serve", "--web", "--host", "0.0.0.0", "--store", "s.db"], capsys)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "jobweave: error: refusing to serve the dashboard on 0.0.0.0 without auth: make a "
        "token ('jobweave token create --role admin') and pass --auth"]


def test_a_dashboard_port_in_use_is_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        p = run_in_process(["serve", "--web", "--port", str(port), "--store", "s.db"], capsys)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"jobweave: error: the dashboard cannot listen on 127.0.0.1:{port}: Address "
        "already in use; choose another port with --port"]


def test_token_create_prints_it_once_and_keeps_its_hash(
        capsys: pytest.CaptureFixture[str]) -> None:
    def _jobweave(*args: str) -> subprocess.CompletedProcess[str]:
        return run_in_process(list(args), capsys)

    made = _jobweave("token", "create", "--role", "operator", "--name", "ops", "--store",
                     "s.db")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("jw_") and "shown once" in made.stderr
    listed = _jobweave("token", "list", "--store", "s.db")
    assert "operator  ops" in listed.stdout and token not in listed.stdout
    with open("s.db", "rb") as f:
        assert token.encode() not in f.read()
    assert _jobweave("token", "create", "--role", "root", "--store", "s.db").returncode == 2
    assert _jobweave("token", "revoke", "ops", "--store", "s.db").returncode == 0
