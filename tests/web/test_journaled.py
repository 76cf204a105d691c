"""Every action asked through the REST API is journaled in the run's own journal with the
name of the token that asked: by the live owner that answers it, or by the writer when
no owner will (a stopped run)."""

from __future__ import annotations

import time
from typing import Any

import httpx

import jobweave as jw
from jobweave.settings import Settings
from jobweave.store.access import create_token
from tests.web import jobs
from tests.web.conftest import Site, wait_until

WHO = "ops-alice"


def _api(secured: Site) -> httpx.Client:
    return secured.client(create_token(secured.db, "operator", WHO))


def _asked(site: Site, run_id: str, event: str) -> list[dict[str, Any]]:
    """The run's journal records of ``event`` that say who asked."""
    return [r for r in site.db.journal(run_id)
            if r["event"] == event and (r["data"] or {}).get("by") is not None]


def _by(site: Site, run_id: str, event: str) -> list[str]:
    return [r["data"]["by"] for r in _asked(site, run_id, event)]


def _slow_chain(n: int = 60) -> jw.Batch:
    """Short jobs one at a time: a pause is answered as soon as the one running ends."""
    return jw.batch([jw.sleep(0.2, name=f"nap-{i}") for i in range(n)], name="naps",
                    concurrency=1)


def _crashed(site: Site) -> str:
    """A run whose owner died long ago: no owner will answer a request."""
    run_id, _ = jw.Engine(Settings(store=site.store)).create(_slow_chain(3))
    site.db.claim(run_id, "elsewhere:1", now=time.time() - 600)
    assert site.db.get_run(run_id).status == "crashed"
    return run_id


def _status(c: httpx.Client, run_id: str) -> str:
    return str(c.get(f"/api/v1/runs/{run_id}").json()["status"])


def test_pause_resume_and_cancel_of_a_live_run_are_journaled_by_its_owner_with_who(
        secured: Site) -> None:
    handle = jw.submit(_slow_chain(), store=secured.store)
    run_id = handle.run_id
    with _api(secured) as c:
        wait_until(lambda: _status(c, run_id) == "running")
        assert c.post(f"/api/v1/runs/{run_id}/pause").status_code == 200
        assert handle.wait(timeout=20).status == "paused"
        assert _by(secured, run_id, "pausing") == [WHO]  # the owner journaled it

        assert c.post(f"/api/v1/runs/{run_id}/resume").json()["status"] == "running"
        (started,) = _asked(secured, run_id, "run_started")
        assert (started["data"]["by"], started["data"]["action"]) == (WHO, "resume")

        wait_until(lambda: _status(c, run_id) == "running")
        assert c.post(f"/api/v1/runs/{run_id}/cancel").status_code == 200
        wait_until(lambda: _status(c, run_id) == "cancelled")
        assert _by(secured, run_id, "cancelling") == [WHO]  # the resumed owner's record

        listed = c.get(f"/api/v1/runs/{run_id}/actions").json()["actions"]
        assert [(a["what"], a["actor"]) for a in listed] == [
            ("cancel", WHO), ("resume", WHO), ("pause", WHO)]
        page = c.get(f"/runs/{run_id}").text
        assert f"cancel · by {WHO}" in page and f"pause · by {WHO}" in page


def test_pause_and_cancel_of_a_stopped_run_are_journaled_by_the_writer_with_who(
        secured: Site) -> None:
    run_id = _crashed(secured)
    with _api(secured) as c:
        assert c.post(f"/api/v1/runs/{run_id}/pause").json()["status"] == "paused"
        assert _by(secured, run_id, "run_paused") == [WHO]
        assert c.post(f"/api/v1/runs/{run_id}/cancel").json()["status"] == "cancelled"
        assert _by(secured, run_id, "cancel_requested") == [WHO]


def test_retry_failed_and_mark_completed_are_journaled_with_who(secured: Site) -> None:
    failed = secured.runs["failed"]
    other = jw.run(jw.batch([jw.job(jobs.needs_file, path=str(secured.folder / "nope"),
                                    name="gate")], name="gated-2"), store=secured.store)
    (secured.folder / "flag").write_text("fixed")
    with _api(secured) as c:
        assert c.post(f"/api/v1/runs/{failed}/retry-failed").status_code == 200
        wait_until(lambda: _status(c, failed) == "completed")
        (started,) = _asked(secured, failed, "run_started")
        assert (started["data"]["by"], started["data"]["action"]) == (WHO, "retry-failed")

        marked = c.post(f"/api/v1/runs/{other.run_id}/jobs/gate/mark-completed")
        assert marked.status_code == 200, marked.text
        (done,) = _asked(secured, other.run_id, "completed")
        assert (done["node"], done["data"]["by"]) == ("gate", WHO)
        listed = c.get(f"/api/v1/runs/{other.run_id}/actions").json()["actions"]
        assert [(a["what"], a["job"], a["actor"]) for a in listed] == [
            ("mark-completed", "gate", WHO)]


def test_a_bulk_action_journals_each_run_with_who(secured: Site) -> None:
    stopped = [_crashed(secured) for _ in range(2)]
    live = jw.submit(_slow_chain(), store=secured.store)
    with _api(secured) as c:
        wait_until(lambda: _status(c, live.run_id) == "running")
        answer = c.post("/api/v1/runs/bulk", json={"action": "cancel",
                                                   "ids": [*stopped, live.run_id]}).json()
        assert all(r["ok"] for r in answer["results"].values()), answer
    assert live.wait(timeout=20).status == "cancelled"
    for run_id in stopped:
        assert _by(secured, run_id, "cancel_requested") == [WHO]
    assert _by(secured, live.run_id, "cancelling") == [WHO]
