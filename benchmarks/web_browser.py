"""The dashboard in Debian's Chromium (playwright, no browser download), for
``python -m benchmarks.web``: time to the ``load`` event of pages, and how long a state
committed by another process takes to show in an open run page.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import textwrap
from typing import Any

from jobweave.store import open_store

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
CHAIN = 40
"""Jobs the other process completes one after another while the page watches."""

_OBSERVE = """() => {
  window.__seen = {};
  new MutationObserver(() => {
    document.querySelectorAll('tr[data-job]').forEach((row) => {
      const name = row.dataset.job, st = row.querySelector('.state');
      if (st && st.textContent.trim() === 'completed' && !(name in window.__seen))
        window.__seen[name] = Date.now();
    });
  }).observe(document.querySelector('table.grid tbody'), {subtree: true, childList: true,
                                                           characterData: true});
}"""

_OTHER = textwrap.dedent("""
    import sys
    import jobweave as jw
    jobs, prev = [jw.sleep(float(sys.argv[3]), name="wait")], None
    for i in range(int(sys.argv[2])):
        prev = jw.sleep(0.25, name=f"step-{i:02d}", after=[prev or jobs[0]])
        jobs.append(prev)
    handle = jw.submit(jw.batch(jobs, name="live"), store=sys.argv[1])
    print(handle.run_id, flush=True)
    handle.wait()
""")


def chromium() -> str | None:
    for exe in ("/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if os.access(exe, os.X_OK):
            return exe
    return None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def load_times(browser: Any, base: str, urls: dict[str, str], repeat: int) -> dict[str, Any]:
    """Median and max of the ``load`` event (ms from navigation start) of each page."""
    out: dict[str, Any] = {}
    page = browser.new_page()
    for label, url in urls.items():
        page.goto(base + url, wait_until="load")  # warm-up
        times = []
        for _ in range(repeat):
            page.goto(base + url, wait_until="load")
            times.append(float(page.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd")))
        out[label] = {"median_ms": round(statistics.median(times), 1),
                      "max_ms": round(max(times), 1)}
    page.close()
    return out


def live_latency(browser: Any, base: str, store: str) -> dict[str, Any]:
    """Another process runs ``CHAIN`` jobs one after another on ``store``; an open run
    page notes when each job's row turns ``completed``; each latency is that moment less
    the time of the job's ``completed`` journal record (taken before its commit)."""
    other = subprocess.Popen([sys.executable, "-c", _OTHER, store, str(CHAIN), "3"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None
        run_id = other.stdout.readline().strip()
        page = browser.new_page()
        page.goto(f"{base}/runs/{run_id}", wait_until="load")
        page.evaluate(_OBSERVE)
        other.wait(timeout=120)
        page.wait_for_function(f"Object.keys(window.__seen).length >= {CHAIN}",
                               timeout=10_000)
        seen: dict[str, float] = page.evaluate("window.__seen")
        page.close()
    finally:
        if other.poll() is None:
            other.kill()
        if other.stdout is not None:
            other.stdout.close()
    db = open_store(store)
    with db._read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT node, ts FROM jobweave_journal WHERE run_id = ? AND event = 'completed'",
            (run_id,)).all()
    lat = [seen[node] - ts * 1000 for node, ts in rows if node in seen and node != "wait"]
    return {"samples": len(lat), "p50_ms": round(statistics.median(lat), 1),
            "p90_ms": round(_percentile(lat, 0.9), 1), "max_ms": round(max(lat), 1)}


def measure(base: str, store: str, urls: dict[str, str], repeat: int = 7) -> dict[str, Any]:
    """Both measures, or why they could not be taken."""
    exe = chromium()
    if exe is None:
        return {"skipped": "no Chromium at /usr/lib/chromium or /usr/bin"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        try:
            return {"load": load_times(browser, base, urls, repeat),
                    "live": live_latency(browser, base, store)}
        finally:
            browser.close()
