"""Setting up the source and target engines: two SQLite files in ./demo-data."""

from __future__ import annotations

import os
import random
import sqlite3

DATA = os.environ.get("MIGRATION_DATA", "demo-data")
TABLES = ("customers", "orders", "products", "invoices")


def path(engine: str) -> str:
    return os.path.join(DATA, f"{engine}.sqlite")


def setup(engine: str) -> dict[str, int]:
    """Create the engine's database; the source gets rows, the target gets empty tables."""
    os.makedirs(DATA, exist_ok=True)
    with sqlite3.connect(path(engine)) as db:
        rows = {}
        for table in TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
            db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, amount REAL)")
            if engine == "source":
                rng = random.Random(table)
                n = rng.randint(2_000, 8_000)
                db.executemany(f"INSERT INTO {table} (name, amount) VALUES (?, ?)",
                               [(f"{table}-{i}", rng.random() * 100) for i in range(n)])
                rows[table] = n
        db.execute("DROP TABLE IF EXISTS valuesets")
        db.execute("CREATE TABLE valuesets (name TEXT PRIMARY KEY, size INTEGER)")
    return rows
