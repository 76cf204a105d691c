"""The demo: `jobweave run nightly.py:nightly` from this folder.

Set up both engines, then load every table and the value sets, with a shell check
and a short pause, all in one batch that runs concurrently.
"""

from __future__ import annotations

from migration.engines import TABLES

import jobweave as jw

setup = [
    jw.job("migration.engines:setup", engine="source"),
    jw.job("migration.engines:setup", engine="target"),
]
load = [jw.job("migration.tables:load", table=t, after=setup, retries=2) for t in TABLES]
valuesets = jw.job("migration.valuesets:load", engine="source", after=setup)

nightly = jw.batch(
    setup,
    load,
    valuesets,
    jw.shell("sqlite3 --version || python3 -c 'import sqlite3; print(sqlite3.sqlite_version)'"),
    jw.sleep(0.2),
    name="nightly-migration",
)
