"""A real dashboard on 127.0.0.1 (uvicorn in a thread) over a store with real runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import jobweave as jw
from jobweave.store import SqlStore, close_all, open_store
from jobweave.store.access import create_token
from jobweave.web.config import WebConfig
from jobweave.web.server import WebServer
from tests.cli.helpers import wait_for
from tests.web import jobs


@dataclass
class Site:
    url: str
    store: str
    db: SqlStore
    runs: dict[str, str]
    tokens: dict[str, str]
    folder: Path

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15, **kw)


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """:func:`tests.cli.helpers.wait_for` with the web tests' shorter default timeout."""
    return wait_for(predicate, timeout)


def seed(store: str, folder: Path) -> dict[str, str]:
    """A completed batch, a failed one (a job faulted, its dependent skipped), a shell."""
    ok = jw.batch([jw.job(jobs.double, x=i, password="hunter2-secret", name=f"part-{i}")
                   for i in range(3)], name="nightly")
    gate = jw.job(jobs.needs_file, path=str(folder / "flag"), name="gate")
    failed = jw.batch([gate, jw.job(jobs.double, x=5, name="after-gate", after=[gate]),
                       jw.job(jobs.double, x=1, name="other")], name="gated")
    shell = jw.shell("for i in 1 2 3; do echo line-$i; done; echo oops >&2", name="sh")
    return {"ok": jw.run(ok, store=store).run_id,
            "failed": jw.run(failed, store=store).run_id,
            "shell": jw.run(jw.batch([shell], name="shelly"), store=store).run_id}


def _serve(folder: Path, auth: bool) -> Iterator[Site]:
    store = str(folder / "store.db")
    runs = seed(store, folder)
    db = open_store(store)
    tokens = {role: create_token(db, role, f"{role}-bot") for role in
              ("viewer", "operator", "admin")} if auth else {}
    server = WebServer(WebConfig(store=store, auth=auth), port=0)
    server.start()
    try:
        yield Site(f"http://127.0.0.1:{server.port}", store, db, runs, tokens, folder)
    finally:
        server.stop(grace=5)
        close_all()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A dashboard without auth (loopback, everyone is the local admin)."""
    yield from _serve(tmp_path, auth=False)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Site]:
    """A dashboard with auth on and a token per role."""
    yield from _serve(tmp_path, auth=True)


def has_chromium() -> bool:
    return os.access("/usr/bin/chromium", os.X_OK)
