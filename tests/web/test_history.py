"""The flow history page and API: a definition's last runs by its steps."""

from __future__ import annotations

from pathlib import Path

import jobweave as jw
from jobweave.store import open_store
from tests.web import jobs
from tests.web.conftest import Site


def _flow(folder: Path) -> jw.Flow:
    gate = jw.job(jobs.needs_file, path=str(folder / "flag-{{ element.name }}"), name="gate")
    return jw.flow([jw.job(jobs.double, x=1, name="prep"), gate,
                    jw.job(jobs.double, x=2, name="report")],
                   elements=["db1", "db2", "db3"], mode="parallel", name="upgrade")


def test_history_shows_the_last_runs_by_step(site: Site) -> None:
    folder = site.folder
    failed = jw.run(_flow(folder), store=site.store).run_id  # every gate faults
    (folder / "flag-db1").touch()
    (folder / "flag-db2").touch()
    (folder / "flag-db3").touch()
    ok = jw.run(_flow(folder), store=site.store).run_id
    with site.client() as api:
        body = api.get("/api/v1/flows/upgrade").json()
        assert [r["run_id"] for r in body["runs"]] == [ok, failed]
        assert body["steps"] == ["prep", "gate", "report"] and body["next"] is None
        assert body["cells"][ok]["gate"] == {"state": "completed", "counts": {"completed": 3}}
        assert body["cells"][failed]["gate"] == {"state": "faulted", "counts": {"faulted": 3}}
        assert body["cells"][failed]["report"]["state"] == "skipped"
        first = api.get("/api/v1/flows/upgrade", params={"limit": 1}).json()
        assert [r["run_id"] for r in first["runs"]] == [ok] and first["next"]
        older = api.get("/api/v1/flows/upgrade",
                        params={"limit": 1, "after": first["next"]}).json()
        assert [r["run_id"] for r in older["runs"]] == [failed] and older["next"] is None
        missing = api.get("/api/v1/flows/no-such-flow")
        assert missing.status_code == 400 and "no run of 'no-such-flow'" in missing.text
        page = api.get("/flows/upgrade").text
        assert page.count('<tr data-step="') == 3
        assert f'href="/runs/{failed}?state=faulted"' in page and f'href="/runs/{ok}"' in page
        # a plain batch's jobs are its steps; runs of other names are not mixed in
        nightly = api.get("/api/v1/flows/nightly").json()
        assert nightly["steps"] == ["part-0", "part-1", "part-2"]
        assert [r["run_id"] for r in nightly["runs"]] == [site.runs["ok"]]
        assert 'href="/flows/upgrade"' in api.get(f"/runs/{ok}").text


def test_history_of_a_run_whose_owner_died_reads_interrupted(site: Site) -> None:
    run_id = jw.run(_flow(site.folder), store=site.store).run_id
    db = open_store(site.store)
    with db._tx() as conn:  # a run left "running" by an owner that is gone
        conn.exec_driver_sql("UPDATE jobweave_runs SET status='running', owner='gone:1', "
                             "heartbeat_at=1 WHERE run_id=?", (run_id,))
        conn.exec_driver_sql("UPDATE jobweave_jobs SET status='running' WHERE run_id=? "
                             "AND name LIKE 'gate%'", (run_id,))
    with site.client() as api:
        body = api.get("/api/v1/flows/upgrade").json()
    assert body["runs"][0]["status"] == "crashed"
    assert body["cells"][run_id]["gate"] == {"state": "interrupted",
                                             "counts": {"interrupted": 3}}


GRAPH = """
kind: graph
name: pages
nodes:
  start: {component: modify}
  log: {component: log}
edges:
  - {from: start, to: log, data: {page: 1}}
"""


def test_history_of_a_graph_has_a_row_per_node(site: Site) -> None:
    from jobweave.loader import load_target

    path = site.folder / "pages.yaml"
    path.write_text(GRAPH)
    graph, _ = load_target(str(path))
    runs = [jw.run(graph, store=site.store, input={}).run_id for _ in range(2)]
    with site.client() as api:
        body = api.get("/api/v1/flows/pages").json()
    assert [r["run_id"] for r in body["runs"]] == runs[::-1]
    assert sorted(body["steps"]) == ["log", "start"]
    assert all(body["cells"][r][node]["state"] == "completed"
               for r in runs for node in ("start", "log"))
