"""The command line's own cancel, pause and resume are journaled with the OS user
(``cli:<user>``), and ``show`` lists who asked what of a run."""

from __future__ import annotations

import json
import time

import jobweave as jw
from jobweave.cli.app import cli_actor
from jobweave.settings import Settings
from jobweave.store import SqlStore
from tests.cli.helpers import Jobweave, wait_for


def _chain(n: int) -> jw.Batch:
    return jw.batch([jw.sleep(0.2, name=f"nap-{i}") for i in range(n)], name="naps",
                    concurrency=1)


def _by(db: SqlStore, run_id: str, event: str) -> list[str]:
    return [r["data"]["by"] for r in db.journal(run_id)
            if r["event"] == event and (r["data"] or {}).get("by")]


def test_cli_requests_say_which_user_asked(cli: Jobweave, store: str, db: SqlStore) -> None:
    me = cli_actor()
    assert me.startswith("cli:") and len(me) > 4
    stopped, _ = jw.Engine(Settings(store=store)).create(_chain(2))
    db.claim(stopped, "elsewhere:1", now=time.time() - 600)  # its owner died long ago

    assert cli("pause", stopped).returncode == 0
    assert _by(db, stopped, "run_paused") == [me]
    p = cli("resume", stopped, "--quiet")
    assert p.returncode == 0, p.stderr
    (started,) = [r["data"] for r in db.journal(stopped)
                  if r["event"] == "run_started" and r["data"].get("by")]
    assert (started["by"], started["action"]) == (me, "resume")

    live = jw.submit(_chain(50), store=store)
    wait_for(lambda: db.get_run(live.run_id).status == "running")
    assert cli("cancel", live.run_id).returncode == 0
    assert live.wait(timeout=20).status == "cancelled"
    assert _by(db, live.run_id, "cancelling") == [me]  # journaled by its owner

    shown = cli("show", stopped).stdout
    assert f"pause  by {me}" in shown and f"resume  by {me}" in shown
    data = json.loads(cli("show", live.run_id, "--json").stdout)
    assert [(r["what"], r["by"]) for r in data["requests"]] == [("cancel", me)]
    lines = [json.loads(line) for line in cli("journal", live.run_id).stdout.splitlines()]
    assert [x["data"]["by"] for x in lines if x["event"] == "cancelling"] == [me]
