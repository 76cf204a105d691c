"""Loading one table from the source engine into the target engine."""

from __future__ import annotations

import sqlite3

from migration.engines import path


def load(table: str) -> int:
    """Copy every row of ``table``; return how many rows the target now holds."""
    with sqlite3.connect(path("source")) as src, sqlite3.connect(path("target")) as dst:
        rows = src.execute(f"SELECT id, name, amount FROM {table}").fetchall()
        dst.execute(f"DELETE FROM {table}")
        dst.executemany(f"INSERT INTO {table} (id, name, amount) VALUES (?, ?, ?)", rows)
        return int(dst.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
