"""A schedule that fails on its first run, for the README tour of resume and recover.

    jobweave run orders.py:nightly          # batch 2 faults: "orders is locked"
    touch demo-data/unlocked
    jobweave resume last                    # picks up where it stopped
"""

from __future__ import annotations

import os

import jobweave as jw

DATA = "demo-data"


def extract(table: str) -> int:
    """Pretend to read a table; return its row count."""
    os.makedirs(DATA, exist_ok=True)
    return {"customers": 1200, "orders": 5400}[table]


def load(table: str, rows: int) -> int:
    """Load a table; orders stays locked until demo-data/unlocked exists."""
    if table == "orders" and not os.path.exists(os.path.join(DATA, "unlocked")):
        raise jw.JobFailure("orders is locked")
    return rows


def report(counts: list[int]) -> str:
    return f"{sum(counts)} rows loaded"


customers = jw.job(extract, table="customers", tags=["extract"])
orders = jw.job(extract, table="orders", tags=["extract"])
loads = [jw.job(load, table="customers", rows=jw.output(customers), tags=["load"]),
         jw.job(load, table="orders", rows=jw.output(orders), tags=["load"], retries=1)]
summary = jw.job(report, counts=jw.output(loads), name="report")

nightly = jw.schedule([[customers, orders], loads, [summary]], name="orders-nightly")
