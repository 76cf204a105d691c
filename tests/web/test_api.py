"""The REST API over a real server and store: reads, pages, problems, actions."""

from __future__ import annotations

import json

import jobweave as jw
from tests.web import jobs
from tests.web.conftest import Site, wait_until

PROBLEM = "application/problem+json"


def test_runs_list_counts_filters_and_keyset_pages(site: Site) -> None:
    for i in range(4):
        jw.run(jw.batch([jw.job(jobs.double, x=i, name="one")], name=f"extra-{i}"),
               store=site.store)
    with site.client() as c:
        body = c.get("/api/v1/runs").json()
        assert body["counts"] == {"completed": 6, "failed": 1}
        assert [r["name"] for r in body["runs"]][:2] == ["extra-3", "extra-2"]
        seen, after = [], None
        while True:
            page = c.get("/api/v1/runs", params={"limit": 2, **({"after": after} if after
                                                                  else {})}).json()
            seen += [r["run_id"] for r in page["runs"]]
            after = page["next"]
            if after is None:
                break
        assert len(seen) == 7 and len(set(seen)) == 7
        failed = c.get("/api/v1/runs", params={"state": "failed"}).json()
        assert [r["run_id"] for r in failed["runs"]] == [site.runs["failed"]]
        named = c.get("/api/v1/runs", params={"name": "extra-*"}).json()
        assert len(named["runs"]) == 4 and named["counts"] == {"completed": 4}
        assert c.get("/api/v1/runs", params={"kind": "graph"}).json()["runs"] == []


def test_run_detail_and_paginated_jobs(site: Site) -> None:
    with site.client() as c:
        run = c.get(f"/api/v1/runs/{site.runs['failed']}").json()
        assert run["status"] == "failed"
        assert run["counts"] == {"faulted": 1, "skipped": 1, "completed": 1}
        first = c.get(f"/api/v1/runs/{site.runs['ok']}/jobs", params={"limit": 2}).json()
        assert [j["name"] for j in first["jobs"]] == ["part-0", "part-1"]
        rest = c.get(f"/api/v1/runs/{site.runs['ok']}/jobs",
                     params={"after": first["next"]}).json()
        assert [j["name"] for j in rest["jobs"]] == ["part-2"] and rest["next"] is None
        faulted = c.get(f"/api/v1/runs/{site.runs['failed']}/jobs",
                        params={"state": "faulted"}).json()["jobs"]
        assert [j["name"] for j in faulted] == ["gate"]
        assert "flag is missing" in faulted[0]["error"]


def test_job_detail_masks_secrets_and_shows_the_shell_output(site: Site) -> None:
    with site.client() as c:
        job = c.get(f"/api/v1/runs/{site.runs['ok']}/jobs/part-1").json()
        assert job["params"] == {"x": 1, "password": "***"}
        assert job["output"] == 2 and job["history"][0]["status"] == "completed"
        page = c.get(f"/runs/{site.runs['ok']}/jobs/part-1").text
        assert "hunter2-secret" not in page and "***" in page
        log = c.get(f"/api/v1/runs/{site.runs['shell']}/jobs/sh/log")
        assert log.text == "line-1\nline-2\nline-3\n"
        err = c.get(f"/api/v1/runs/{site.runs['shell']}/jobs/sh/log",
                    params={"stream": "stderr"})
        assert err.text == "oops\n"


def test_errors_are_problem_json_with_the_cli_line(site: Site) -> None:
    with site.client() as c:
        missing = c.get("/api/v1/runs/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == PROBLEM
        assert missing.json() == {"type": "about:blank", "title": "Not found", "status": 404,
                                  "detail": "no run 'nope' in this store"}
        job = c.get(f"/api/v1/runs/{site.runs['ok']}/jobs/nope").json()
        assert job["status"] == 404 and "has no job 'nope'" in job["detail"]
        done = c.post(f"/api/v1/runs/{site.runs['ok']}/resume")
        assert done.status_code == 409
        assert done.json()["detail"] == f"run {site.runs['ok']} already completed; nothing " \
                                         "to resume"
        bad = c.get("/api/v1/runs", params={"state": "weird"})
        assert bad.status_code == 400 and "unknown run state 'weird'" in bad.json()["detail"]
        assert c.get("/api/v1/runs", params={"limit": 0}).status_code == 422


def test_retry_failed_runs_only_the_failed_jobs_and_logs_who(site: Site) -> None:
    run_id = site.runs["failed"]
    (site.folder / "flag").write_text("fixed")
    with site.client() as c:
        answer = c.post(f"/api/v1/runs/{run_id}/retry-failed")
        assert answer.status_code == 200, answer.text
        wait_until(lambda: c.get(f"/api/v1/runs/{run_id}").json()["status"] == "completed")
        jobs = {j["name"]: j for j in c.get(f"/api/v1/runs/{run_id}/jobs").json()["jobs"]}
        assert jobs["other"]["attempts"] == 1, "a completed job is not run again"
        assert jobs["gate"]["status"] == "completed"
        assert jobs["after-gate"]["status"] == "completed"
        actions = c.get(f"/api/v1/runs/{run_id}/actions").json()["actions"]
        assert actions[0]["what"] == "retry-failed" and actions[0]["actor"]


def test_mark_completed_releases_the_jobs_waiting(site: Site) -> None:
    run_id = site.runs["failed"]
    with site.client() as c:
        answer = c.post(f"/api/v1/runs/{run_id}/jobs/gate/mark-completed")
        assert answer.status_code == 200, answer.text
        wait_until(lambda: c.get(f"/api/v1/runs/{run_id}").json()["status"] == "completed")
        gate = c.get(f"/api/v1/runs/{run_id}/jobs/gate").json()
        assert gate["status"] == "completed" and gate["output"] is None
    marked = [r for r in site.db.journal(run_id) if r["event"] == "completed"
              and r["node"] == "gate"]
    assert marked and marked[0]["data"]["by"]
    with site.client() as c:
        again = c.post(f"/api/v1/runs/{run_id}/jobs/gate/mark-completed")
    assert again.status_code == 409


def test_cancel_and_bulk(site: Site) -> None:
    handles = [jw.submit(jw.shell("sleep 30", name="wait"), store=site.store)
               for _ in range(2)]
    with site.client() as c:
        one = c.post(f"/api/v1/runs/{handles[0].run_id}/cancel")
        assert one.status_code == 200, one.text
        bulk = c.post("/api/v1/runs/bulk", json={"action": "cancel",
                                                 "ids": [handles[1].run_id, "nope"]}).json()
        assert bulk["results"][handles[1].run_id]["ok"] is True
        assert bulk["results"]["nope"] == {"ok": False, "error": "no run 'nope' in this store"}
        for h in handles:
            assert h.wait(timeout=10).status == "cancelled"
        assert c.post(f"/api/v1/runs/{handles[0].run_id}/explode").status_code == 400


def test_nodes_and_graph_page_fold_numbered_jobs(site: Site) -> None:
    big = jw.batch([jw.job(jobs.double, x=i, name=f"fetch-{i}") for i in range(300)],
                   name="big")
    run_id = jw.run(big, store=site.store).run_id
    with site.client() as c:
        nodes = c.get(f"/api/v1/runs/{run_id}/nodes").json()
        assert nodes["folded"] is True
        assert [(n["key"], n["members"], n["counts"]) for n in nodes["nodes"]] == [
            ("fetch-*", 300, {"completed": 300})]
        svg = c.get(f"/runs/{run_id}/graph").text
        assert svg.count("<rect") == 1 and "fetch-* ×300" in svg
        timeline = c.get(f"/runs/{run_id}/timeline").text
        assert "fetch-* ×300" in timeline and "median" in timeline


def test_events_stream_a_commit_of_another_process(site: Site) -> None:
    handle = jw.submit(jw.shell("sleep 30", name="wait"), store=site.store)
    wait_until(lambda: site.db.get_run(handle.run_id).status == "running")
    with site.client() as c, c.stream("GET", f"/api/v1/runs/{handle.run_id}/events") as s:
        jw.cancel(handle.run_id, store=site.store)
        for line in s.iter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if data["status"] == "cancelled":
                    break
        assert data["counts"] == {"cancelled": 1}
    handle.wait(timeout=10)


def test_security_headers_and_openapi(site: Site) -> None:
    with site.client() as c:
        page = c.get("/runs")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        spec = c.get("/api/v1/openapi.json").json()
        assert "/api/v1/runs/{run}/jobs/{job}" in spec["paths"]
