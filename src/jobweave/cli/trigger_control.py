"""``jobweave triggers list|pause|resume|fire``: the served triggers of a store, and what
the dashboard's trigger buttons do, from the command line (the same service functions)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from jobweave.cli.app import EXIT_FAILED, EXIT_OK, CommandError, cli_actor, store_for
from jobweave.cli.render import moment
from jobweave.store import SqlStore
from jobweave.store.triggers import TriggerTable
from jobweave.web.triggers_view import trigger_action, trigger_rows

CONTROLS = {"list": None, "pause": "pause", "resume": "resume", "fire": "fire-now"}
"""The words that make ``jobweave triggers`` act on a store's triggers, and the action."""


def control(words: list[str], store: str | None, *, json_out: bool) -> int:
    """``list``, or ``pause|resume|fire KEY``: KEY is a trigger's id (as ``list`` and the
    dashboard show it) or its whole key."""
    verb, rest = words[0], words[1:]
    db = store_for(store)
    if verb == "list":
        if rest:
            raise CommandError(f"'jobweave triggers list' takes no argument, not {rest[0]!r}")
        return _list(trigger_rows(db), json_out=json_out)
    if len(rest) != 1:
        raise CommandError(f"'jobweave triggers {verb}' takes one trigger: its id (see "
                           "'jobweave triggers list') or key")
    done = trigger_action(db, rest[0], str(CONTROLS[verb]), cli_actor())
    if json_out:
        sys.stdout.write(json.dumps(done) + "\n")
    elif verb == "fire":
        sys.stdout.write(_fire_line(db, done) + "\n")
    else:
        sys.stdout.write(f"trigger {done['id']} {'paused' if done['paused'] else 'resumed'}"
                         f" ({done['definition']})\n")
    # a fire asked while another still waits did not do what was asked
    return EXIT_FAILED if verb == "fire" and done["note"] else EXIT_OK


def _fire_line(db: SqlStore, done: dict[str, Any]) -> str:
    """What became of a fire asked, and who will start it."""
    row = TriggerTable(db).read([done["key"]]).get(done["key"])
    served = row is not None and row.held(time.time())
    if done["note"]:
        return f"trigger {done['id']}: not asked again: {done['note']}" + (
            "" if served else " (no 'jobweave serve' process serves it now)")
    if served:
        return (f"trigger {done['id']}: fire asked; the 'jobweave serve' serving it starts "
                "the run at its next round")
    return (f"trigger {done['id']}: fire asked; no 'jobweave serve' process serves it now: "
            "the fire waits for one, which starts the run at its first round")


def _when(ts: float) -> str:
    """A local time as the other commands print it, with its zone: the trigger's own may
    differ."""
    return f"{moment(ts)} {time.strftime('%Z', time.localtime(ts))}"


def _list(rows: list[dict[str, Any]], *, json_out: bool) -> int:
    if json_out:
        sys.stdout.write(json.dumps({"triggers": rows}) + "\n")
        return EXIT_OK
    if not rows:
        sys.stderr.write("no triggers served on this store yet ('jobweave serve' registers "
                         "them)\n")
        return EXIT_OK
    now = time.time()
    for r in rows:
        state = "paused" if r["paused"] else (
            f"next {_when(r['next'][0])}" if r["next"] else "fires no more")
        asked = f", fire asked by {r['fire_asked_by']}" if r["fire_asked"] else ""
        # a trigger's stored last fire is also where its fire times count from: set when
        # it is first served, before any fire; only its fire count says whether it fired
        if not r["fires"]:
            last = ", never fired"
        elif r["last_fire"] and r["last_fire"] <= now:
            last = f", last fire {_when(r['last_fire'])}"
        else:
            last = ""
        sys.stdout.write(f"{r['id']}  {r['definition']}  {state}{last}{asked}\n")
    return EXIT_OK
