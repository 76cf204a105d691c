"""A job that printed 50 MB: the store keeps a bounded tail, and its page opens fast."""

from __future__ import annotations

import time

import jobweave as jw
from jobweave.store import open_store
from tests.web import jobs
from tests.web.conftest import Site

MB50 = 50 * 1024 * 1024


def test_a_shell_job_that_printed_50_mb_opens_fast_with_its_tail(site: Site) -> None:
    chatty = jw.shell(f"yes 'a line of output' | head -c {MB50}; echo the-last-line",
                      name="chatty")
    run_id = jw.run(jw.batch([chatty], name="chatty"), store=site.store).run_id
    db = open_store(site.store)
    with db._read() as conn:  # what the store holds for it: the tails, not 50 MB
        stored = conn.exec_driver_sql(
            "SELECT sum(length(data)) FROM jobweave_journal WHERE run_id = ?",
            (run_id,)).scalar()
    assert stored < 300 * 1024, stored
    with site.client() as browser:
        browser.get(f"/runs/{run_id}/jobs/chatty")  # warm
        times, page = [], None
        for _ in range(5):
            began = time.perf_counter()
            page = browser.get(f"/runs/{run_id}/jobs/chatty")
            times.append(time.perf_counter() - began)
        assert page is not None and page.status_code == 200
        assert sorted(times)[2] < 1.0, times
        assert len(page.content) < 400 * 1024, len(page.content)
        assert "the-last-line" in page.text and "bytes dropped]" in page.text
        tail = browser.get(f"/api/v1/runs/{run_id}/jobs/chatty/log", params={"limit": 100})
        assert tail.text.endswith("the-last-line\n") and len(tail.text) == 100


def test_a_python_job_that_printed_50_mb_keeps_a_bounded_tail(site: Site) -> None:
    run_id = jw.run(jw.job(jobs.chatty, megabytes=50, name="printer"), store=site.store).run_id
    with site.client() as browser:
        began = time.perf_counter()
        page = browser.get(f"/runs/{run_id}/jobs/printer")
        took = time.perf_counter() - began
        log = browser.get(f"/api/v1/runs/{run_id}/jobs/printer/log").text
    assert page.status_code == 200 and took < 1.0, took
    assert len(page.content) < 400 * 1024 and "printed-it-all" in page.text
    assert 60 * 1024 < len(log) <= 64 * 1024 + 100 and log.rstrip().endswith("printed-it-all")
