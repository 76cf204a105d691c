"""``jobweave db``: the store's schema, upgraded or shown."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from jobweave.cli.app import EXIT_OK, CommandError, JsonOption, NoStore, StoreOption, app
from jobweave.settings import Settings, store_path


@app.command("db")
def db_command(
    action: Annotated[str, typer.Argument(metavar="ACTION", help="upgrade or current")],
    store: StoreOption = None,
    json_out: JsonOption = False,
) -> int:
    """Upgrade the store's schema (jobweave db upgrade) or show where it stands (current).

    ``upgrade`` creates the tables in an empty database; engines do the same on first
    use unless JOBWEAVE_AUTO_MIGRATE=0."""
    from jobweave.store import build_store

    settings = Settings.from_env().with_(store=store)
    if action not in ("upgrade", "current"):
        raise CommandError(f"unknown action {action!r}: use upgrade or current")
    path = store_path(settings.store)
    if action == "current" and path is not None and not os.path.exists(path):
        raise NoStore(f"no store at {path}")
    db = build_store(settings.store, durability=settings.durability, pool=settings.pool,
                     upgrade=None)
    try:
        before = db.schema_state()
        change = db.upgrade_schema() if action == "upgrade" else None
        after = db.schema_state()
    finally:
        db.close()
    if json_out:
        sys.stdout.write(json.dumps({"store": db.url, "version": after.version,
                                     "revision": after.revision, "head": after.head,
                                     "current": after.current}) + "\n")
    elif change == "created":
        sys.stdout.write(f"store {db.url}: created at schema {after.version}\n")
    elif change is not None:
        sys.stdout.write(f"store {db.url}: upgraded from {before.version} to "
                         f"{after.version}\n")
    elif action == "upgrade":
        sys.stdout.write(f"store {db.url}: already at schema {after.version}\n")
    elif after.version is None:
        sys.stdout.write(f"store {db.url}: empty (no jobweave tables): run `jobweave db "
                         "upgrade`\n")
    else:
        where = ("current" if after.current
                 else "behind: run `jobweave db upgrade`")
        sys.stdout.write(f"store {db.url}: schema {after.version} of {after.head} "
                         f"(revision {after.revision or 'none recorded'}; {where})\n")
    return EXIT_OK
