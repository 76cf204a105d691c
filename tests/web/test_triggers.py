"""The triggers page and API: pause, resume and fire now, by role, logged with who asked,
and honoured by a real serving loop on the same store."""

from __future__ import annotations

import re

import jobweave as jw
from jobweave.engine.serve import Server
from tests.web import jobs
from tests.web.conftest import Site


def _server(site: Site) -> Server:
    batch = jw.batch(jw.job(jobs.double, x=2, name="hourly-part"), name="hourly",
                     triggers=[jw.every("1h")])
    server = Server([(batch, "tests:hourly")], engine=jw.Engine(jw.Settings(store=site.store)),
                    owner="serve-1")
    server.tick()  # registers and claims the trigger's row
    return server


def test_pause_fire_now_and_resume_by_api_with_who_asked(secured: Site) -> None:
    server = _server(secured)
    op = secured.client(secured.tokens["operator"])
    (listed,) = op.get("/api/v1/triggers").json()["triggers"]
    tid = listed["id"]
    assert (listed["paused"], listed["served_by"], len(listed["next"])) == (False, "serve-1", 3)
    viewer = secured.client(secured.tokens["viewer"])
    assert viewer.post(f"/api/v1/triggers/{tid}/pause").status_code == 403
    assert op.post("/api/v1/triggers/nope/pause").status_code == 404
    assert op.post(f"/api/v1/triggers/{tid}/explode").status_code == 400
    paused = op.post(f"/api/v1/triggers/{tid}/pause").json()
    assert (paused["paused"], paused["next"]) == (True, [])
    asked = op.post(f"/api/v1/triggers/{tid}/fire-now").json()
    assert (asked["fire_asked_by"], asked["note"]) == ("operator-bot", None)
    again = op.post(f"/api/v1/triggers/{tid}/fire-now").json()
    assert again["note"] == "a fire asked before is still waiting"
    page = viewer.get("/triggers").text
    assert "paused" in page and "fire asked by operator-bot" in page and "Resume" in page
    assert "never fired" in page  # its stored last fire is where its times count from
    assert server.tick() == []  # not due: the loop looks at asked fires when it renews
    server.nudge()  # (at most --renew seconds later; at once from its own dashboard)
    (fire,) = server.tick()
    assert fire.action == "started" and fire.run_id
    for handle in server.handles.values():
        handle.wait(timeout=20)
    run = op.get(f"/api/v1/runs/{fire.run_id}").json()
    assert (run["status"], run["name"]) == ("completed", "hourly")
    (who,) = op.get(f"/api/v1/runs/{fire.run_id}/actions").json()["actions"]
    assert (who["actor"], who["what"]) == ("operator-bot", "fire-now")
    assert server.tick() == []  # asked once, fired once
    resumed = op.post(f"/api/v1/triggers/{tid}/resume").json()
    assert (resumed["paused"], resumed["fire_asked"], resumed["fires"]) == (False, None, 1)
    assert "never fired" not in viewer.get("/triggers").text
    log = viewer.get(f"/api/v1/triggers/{tid}").json()["actions"]
    op.close()
    viewer.close()
    assert [(a["actor"], a["what"]) for a in log] == [
        ("operator-bot", "resume"), ("operator-bot", "fire-now"),
        ("operator-bot", "fire-now"), ("operator-bot", "pause")]


def test_trigger_buttons_work_without_javascript(site: Site) -> None:
    _server(site)
    with site.client(follow_redirects=True) as browser:
        page = browser.get("/triggers").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        form = re.search(r'action="(/triggers/[0-9a-f]{12}/action)"', page)
        assert csrf and form and "Pause" in page
        done = browser.post(form.group(1), data={"csrf": csrf.group(1), "action": "pause"})
        assert done.status_code == 200 and "paused" in done.text and "Resume" in done.text
        refused = browser.post(form.group(1), data={"action": "resume"})
        assert refused.status_code == 403
