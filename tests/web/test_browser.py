"""The dashboard in Debian's Chromium, driven by playwright (no browser is downloaded).

Screenshots go to tests/web/screens/ (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jobweave as jw
from tests.conftest import require_service
from tests.web.conftest import Site, has_chromium, wait_until

SCREENS = Path(__file__).parent / "screens"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not has_chromium():
        require_service("Chromium", "/usr/bin/chromium is not installed (apt-get install "
                                    "chromium)")
    sync = pytest.importorskip("playwright.sync_api")
    exe = "/usr/lib/chromium/chromium" if os.access("/usr/lib/chromium/chromium", os.X_OK) \
        else "/usr/bin/chromium"
    with sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        yield b
        b.close()


def shot(page: Any, name: str) -> None:
    SCREENS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_list_run_action_and_live_update(site: Site, browser: Any) -> None:
    handle = jw.submit(jw.batch([jw.shell("sleep 30", name="slow"),
                                 jw.shell("echo quick", name="quick")], name="live-demo"),
                       store=site.store)
    wait_until(lambda: site.db.get_run(handle.run_id).status == "running")
    page = browser.new_page()
    page.goto(f"{site.url}/runs")
    page.get_by_role("link", name=handle.run_id).click()
    page.wait_for_selector("#run-status .st-running")
    shot(page, "run-running")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_selector("#run-status .st-cancelled", timeout=10000)
    assert "cancel: run is" in page.text_content(".note")
    handle.wait(timeout=10)
    # a state committed by another process reaches the open page without a reload
    other = jw.submit(jw.shell("sleep 0.5", name="nap"), store=site.store)
    page.goto(f"{site.url}/runs/{other.run_id}")
    page.wait_for_selector('tr[data-job="nap"] .st-completed', timeout=10000)
    # the run's own status is committed after its last job's, and may reach the page a
    # refresh later
    page.wait_for_selector("#run-status .st-completed", timeout=10000)
    assert page.text_content("#run-status") == "completed"
    shot(page, "run-live")
    page.close()


def test_login(secured: Site, browser: Any) -> None:
    page = browser.new_page()
    page.goto(f"{secured.url}/runs/{secured.runs['ok']}")
    assert page.url.startswith(f"{secured.url}/login")
    page.fill("input[name=token]", "jw_wrong")
    page.click("button[type=submit]")
    assert "not valid" in page.text_content(".error")
    page.fill("input[name=token]", secured.tokens["viewer"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(f".*/runs/{secured.runs['ok']}$"))
    assert "viewer-bot" in page.text_content(".who")
    shot(page, "login-done")
    page.close()


def test_graph_page(site: Site, browser: Any) -> None:
    from tests.web import jobs

    fetch = [jw.job(jobs.double, x=i, name=f"fetch-{i}") for i in range(250)]
    merge = jw.job(jobs.double, x=0, name="merge", after=fetch)
    run_id = jw.run(jw.batch([*fetch, merge], name="fan"), store=site.store).run_id
    page = browser.new_page()
    page.goto(f"{site.url}/runs/{run_id}/graph")
    boxes = page.locator("svg.graph g.node")
    assert boxes.count() == 2
    assert "fetch-* ×250" in page.text_content("svg.graph")
    shot(page, "graph")
    page.close()


def test_timeline_without_javascript(site: Site, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site.url}/runs/{site.runs['ok']}/timeline")
    assert page.locator("svg.timeline rect.bar").count() == 3
    assert "part-0" in page.text_content("svg.timeline")
    shot(page, "timeline")
    context.close()


def test_log_tail(site: Site, browser: Any) -> None:
    handle = jw.submit(jw.shell("sleep 1; echo tail-line-1; echo tail-line-2", name="talk"),
                       store=site.store)
    page = browser.new_page()
    page.goto(f"{site.url}/runs/{handle.run_id}/jobs/talk")
    page.locator("#log-tail", has_text="tail-line-2").wait_for(timeout=15000)
    assert "completed" in page.text_content("#job-status")
    shot(page, "log-tail")
    handle.wait(timeout=10)
    page.close()


def test_live_tail_of_a_running_shell_job(site: Site, browser: Any) -> None:
    ticker = "echo tick-0; sleep 1; for i in $(seq 1 20); do echo tick-$i; sleep 0.1; done"
    # the last line comes 3 s after tick-8: a page that shows tick-8 shows a running job
    handle = jw.submit(jw.shell(ticker + "; sleep 3; echo all-ticked", name="ticker"),
                       store=site.store)
    page = browser.new_page()
    wait_until(lambda: "running" in jw.get_run(handle.run_id, store=site.store).status)
    page.goto(f"{site.url}/runs/{handle.run_id}/jobs/ticker")
    page.locator("#log-tail", has_text="tick-8\n").wait_for(timeout=15000)
    tail = page.text_content("#log-tail") or ""
    assert "all-ticked" not in tail  # seen while the job still runs
    shot(page, "live-tail")
    page.locator("#log-tail", has_text="all-ticked").wait_for(timeout=15000)
    page.locator("#job-status", has_text="completed").wait_for(timeout=15000)
    assert page.is_hidden("#log-live")
    handle.wait(timeout=10)
    page.close()


def test_a_job_that_printed_50_mb_loads_in_under_a_second(site: Site, browser: Any) -> None:
    chatty = jw.shell(f"yes 'a line of output' | head -c {50 * 1024 * 1024}; echo the-end",
                      name="chatty")
    run_id = jw.run(jw.batch([chatty], name="chatty"), store=site.store).run_id
    page = browser.new_page()
    page.goto(f"{site.url}/runs/{run_id}/jobs/chatty", wait_until="load")  # warm
    loads = []
    for _ in range(3):
        page.goto(f"{site.url}/runs/{run_id}/jobs/chatty", wait_until="load")
        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0]"
                                   ".loadEventEnd"))
    assert sorted(loads)[1] < 1000, loads
    assert "the-end" in page.text_content("#log-tail")
    shot(page, "job-50mb")
    page.close()


def test_trigger_pause_and_flow_history_without_javascript(site: Site, browser: Any) -> None:
    from tests.web.test_triggers import _server

    _server(site)  # a served trigger on the store
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site.url}/triggers")
    page.get_by_role("button", name="Pause").click()
    page.wait_for_selector("#triggers .trigger-state .st-paused")
    assert "pause" in page.text_content(".note") and page.get_by_role(
        "button", name="Resume").count() == 1
    shot(page, "triggers")
    page.goto(f"{site.url}/runs")
    page.get_by_role("link", name="nightly").first.click()
    page.wait_for_selector("#history")
    assert page.locator("#history tr[data-step]").count() == 3
    assert page.locator("#history td.st-completed").count() == 3
    shot(page, "flow-history")
    context.close()
