"""`jobweave serve --web` as a real process: SIGTERM with event streams open, and a
trigger fired from its dashboard started by its own serving loop at once."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import jobweave as jw
from tests.cli.helpers import wait_for
from tests.web import jobs

LISTENING = re.compile(r"dashboard on (http://127\.0\.0\.1:\d+)/")


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    store = str(tmp_path / "s.db")
    run_id = jw.run(jw.batch(jw.job(jobs.double, x=1, name="one"), name="seeded"),
                    store=store).run_id
    (tmp_path / "hourly.py").write_text(textwrap.dedent("""
        import jobweave as jw

        def hello():
            return "hi"

        hourly = jw.batch(jw.job(hello, name="hello"), name="hourly",
                          triggers=[jw.every("1h")])
    """))
    proc = subprocess.Popen([sys.executable, "-m", "jobweave", "serve", "hourly.py:hourly",
                             "--web", "--port", "0", "--store", store], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        assert proc.stdout is not None
        for line in proc.stdout:  # the dashboard logs its address once it listens
            found = LISTENING.search(line)
            if found:
                url = found.group(1)
                break
        assert url, proc.stderr.read() if proc.stderr else ""
        yield proc, url, run_id
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _listen(url: str, path: str, opened: threading.Event, ended: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=60)) as client, \
            client.stream("GET", path) as stream:
        for line in stream.iter_lines():
            if line.startswith("retry:"):
                opened.set()
    ended.append(path)


def test_serve_web_exits_within_5_s_of_sigterm_with_three_streams_open(
        serving: tuple[subprocess.Popen[str], str, str]) -> None:
    proc, url, run_id = serving
    paths = [f"/api/v1/runs/{run_id}/events", f"/api/v1/runs/{run_id}/events",
             "/api/v1/events"]
    opened = [threading.Event() for _ in paths]
    ended: list[str] = []
    threads = [threading.Thread(target=_listen, args=(url, p, o, ended), daemon=True)
               for p, o in zip(paths, opened, strict=True)]
    for thread in threads:
        thread.start()
    assert all(o.wait(15) for o in opened)  # three streams open, as three browser tabs
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=20)
    took = time.monotonic() - began
    assert code == 0 and took < 5.0, took
    for thread in threads:
        thread.join(5)
    assert sorted(ended) == sorted(paths)  # each stream was ended by the server
    err = proc.stderr.read() if proc.stderr else ""
    assert "Traceback" not in err, err


def test_fire_now_from_its_own_dashboard_starts_at_once(
        serving: tuple[subprocess.Popen[str], str, str]) -> None:
    proc, url, _ = serving
    with httpx.Client(base_url=url, timeout=15) as api:
        (trigger,) = api.get("/api/v1/triggers").json()["triggers"]
        began = time.monotonic()
        assert api.post(f"/api/v1/triggers/{trigger['id']}/fire-now").status_code == 200
        with contextlib.suppress(httpx.HTTPError):
            while time.monotonic() - began < 10:
                runs = api.get("/api/v1/runs", params={"name": "hourly"}).json()["runs"]
                if runs:
                    break
                time.sleep(0.05)
        took = time.monotonic() - began
        (run,) = runs
        # the run is stored, then claimed: who asked is journaled with the claim, a moment
        # after the run shows in the list
        (asked,) = wait_for(
            lambda: api.get(f"/api/v1/runs/{run['run_id']}/actions").json()["actions"],
            timeout=10, what="the run's fire-now in its actions")
    assert took < 2.0, took  # not the 5 s lease renewal: the dashboard nudged the loop
    assert asked["what"] == "fire-now"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
