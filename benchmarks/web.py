"""``python -m benchmarks.web``: the dashboard's first pages on a big store.

Seeds a store with a 10,000-job run and 10,000 small runs, serves it on 127.0.0.1, and
prints the median and p95 of each page and API list (20 requests each, after one
warm-up): the whole round trip on loopback, an upper bound of the server's time. Then, in
Debian's Chromium (when installed), the time to the ``load`` event of the run list, the
run page and the page of a job that printed 50 MB (median of 7), and the live-update
latency: another process completes 40 jobs one after another while the run page is open;
each is timed from its journal record to its row turning ``completed`` in the page (see
``benchmarks/web_browser.py``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

import jobweave as jw
from jobweave.store import open_store
from jobweave.web.config import WebConfig
from jobweave.web.server import WebServer

from . import web_browser

RUNS = 10_000
JOBS = 10_000
REPEAT = 20


def _noop(i: int) -> int:
    return i


def seed(path: str) -> tuple[str, str]:
    """The big run's id and that of a run whose one job printed 50 MB."""
    chatty = jw.shell(f"yes 'a line of output' | head -c {50 * 1024 * 1024}", name="chatty")
    chatty_id = jw.run(jw.batch([chatty], name="chatty"), store=path).run_id
    big = jw.batch([jw.job(_noop, i=i, name=f"fetch-{i}") for i in range(JOBS)], name="big")
    run_id = jw.run(big, store=path, concurrency=8).run_id
    store = open_store(path)
    now = time.time()
    for k in range(RUNS - 1):
        store.create_run(run_id=f"seed-{k:05d}", name=f"nightly-{k % 50}", kind="batch",
                         source=None, definition={"format": 1, "name": "n", "kind": "batch",
                                                  "nodes": []},
                         digest="0" * 64, options={}, jobs=[(0, "only", "python", ())],
                         now=now - k)
    return run_id, chatty_id


def measure(client: httpx.Client, url: str) -> tuple[float, float]:
    client.get(url).raise_for_status()
    times = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        client.get(url).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="jobweave-web-bench-"))
    path = str(folder / "store.db")
    began = time.perf_counter()
    run_id, chatty_id = seed(path)
    sys.stderr.write(f"seeded in {time.perf_counter() - began:.1f}s\n")
    server = WebServer(WebConfig(store=path), port=0)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    rows = {}
    try:
        with httpx.Client(base_url=base, timeout=30) as c:
            deep_run = c.get("/api/v1/runs", params={"limit": 100}).json()
            cursor = deep_run["next"]
            for _ in range(49):
                cursor = c.get("/api/v1/runs", params={"after": cursor}).json()["next"]
            pages = {
                "run list, page 1 (HTML)": "/runs",
                "run list, page 50 (HTML)": f"/runs?after={cursor}",
                "run list (API)": "/api/v1/runs",
                "run detail, page 1 (HTML)": f"/runs/{run_id}",
                "run detail, page 50 (HTML)": f"/runs/{run_id}?after=4999",
                "run jobs (API)": f"/api/v1/runs/{run_id}/jobs",
                "graph (HTML)": f"/runs/{run_id}/graph",
                "timeline, 500 jobs (HTML)": f"/runs/{run_id}/timeline",
                "flow history, 25 runs (HTML)": "/flows/nightly-0",
                "job that printed 50 MB (HTML)": f"/runs/{chatty_id}/jobs/chatty",
            }
            for label, url in pages.items():
                rows[label] = measure(c, url)
        browser = web_browser.measure(base, path, {
            "run list, page 1": "/runs", "run detail, page 1": f"/runs/{run_id}",
            "run detail, page 50": f"/runs/{run_id}?after=4999",
            "job that printed 50 MB": f"/runs/{chatty_id}/jobs/chatty"})
    finally:
        server.stop()
    for label, (median, p95) in rows.items():
        print(f"{label:<30} median {median:7.1f} ms   p95 {p95:7.1f} ms")
    for label, load in browser.get("load", {}).items():
        print(f"Chromium load: {label:<20} median {load['median_ms']:7.1f} ms   "
              f"max {load['max_ms']:7.1f} ms")
    live = browser.get("live")
    if live:
        print(f"live update, commit to DOM ({live['samples']} jobs): p50 {live['p50_ms']} ms   "
              f"p90 {live['p90_ms']} ms   max {live['max_ms']} ms")
    if "skipped" in browser:
        print(f"Chromium: skipped ({browser['skipped']})")
    print(json.dumps({"server": {k: {"median_ms": round(m, 1), "p95_ms": round(p, 1)}
                                 for k, (m, p) in rows.items()}, "browser": browser}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
