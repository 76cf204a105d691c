"""Triggers in Python, as docs/triggers.md uses them: a trigger on its own, a dict of
triggers, and a flow that carries its trigger.

    jobweave triggers flows.py:nightly flows.py:all_triggers --count 3
    jobweave triggers flows.py:poll --count 3
    jobweave serve flows.py:refresh
"""

from __future__ import annotations

from typing import Any

import jobweave as jw

nightly = jw.at("02:30", tz="Europe/Warsaw", name="nightly")
"""A trigger alone: 02:30 every day, Warsaw time (DST as docs/triggers.md describes)."""

all_triggers = {
    "weekdays": jw.cron("0 2 * * 1-5", tz="Europe/Warsaw"),
    "saturday": jw.at(days=["sat"], time="06:00", tz="Europe/Warsaw"),
    "hourly": jw.every("1h"),
}
"""Several triggers by name: `jobweave triggers` lists each under its key."""


def fetch(shop: str, context: jw.Context) -> dict[str, Any]:
    """Fetch a shop's prices (here: say which shop, and when)."""
    return {"shop": shop, "at": context.execution}


def store(shop: str) -> str:
    """Store what was fetched (here: a line naming the shop)."""
    return f"stored {shop}"


refresh = jw.flow([jw.job(fetch, shop="{{ element.name }}"),
                   jw.job(store, shop="{{ element.name }}")],
                  elements="shops.yaml", name="refresh",
                  triggers=[jw.every("1h", overlap="queue")])
"""Each shop fetched then stored, every hour; a refresh still running at the next fire
starts again once it ends (``overlap="queue"``)."""

poll = jw.flow([jw.job(fetch, shop="{{ element.name }}")], elements="shops.yaml",
               name="poll", triggers=[jw.every("2s", max_fires=2)])
"""Twice, two seconds apart, then never again (``max_fires``)."""
