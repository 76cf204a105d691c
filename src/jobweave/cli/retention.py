"""Commands that remove runs from the store: delete and prune."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Annotated

import typer

from jobweave.cli.app import (
    EXIT_OK,
    CommandError,
    JsonOption,
    StoreOption,
    app,
    resolve_run,
    store_for,
)


def _forget_logs(store_url: str, run_ids: list[str]) -> None:
    """Remove the worker logs of deleted runs (``logs/RUN.log`` beside an SQLite store)."""
    from jobweave.settings import store_path

    path = store_path(store_url)
    if path is None:
        return
    folder = os.path.join(os.path.dirname(os.path.abspath(path)), "logs")
    for run_id in run_ids:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(folder, f"{run_id}.log"))


@app.command()
def delete(
    run_refs: Annotated[list[str], typer.Argument(
        metavar="RUN...", help="Run ids, unique prefixes of them, or 'last'.")],
    store: StoreOption = None,
    json_out: JsonOption = False,
) -> int:
    """Delete runs from the store with their jobs and journals, in one transaction."""
    from jobweave.store.retention import delete_runs

    db = store_for(store)
    run_ids = [resolve_run(db, ref) for ref in run_refs]
    deleted = delete_runs(db, run_ids)
    _forget_logs(db.url, deleted)
    if json_out:
        sys.stdout.write(json.dumps({"deleted": deleted}) + "\n")
    else:
        for run_id in deleted:
            sys.stdout.write(f"deleted run {run_id}\n")
    return EXIT_OK


@app.command()
def prune(
    older_than: Annotated[str, typer.Option(
        "--older-than", metavar="AGE",
        help="Delete runs that stopped longer ago than this: 30d, 12h, 90m, 45s, 2w.")],
    status: Annotated[list[str] | None, typer.Option(
        "--status", metavar="STATE",
        help="Only runs in this state: completed, failed, cancelled, crashed, paused or "
             "pending (repeatable; default: any, but never a live run).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List the runs that would be deleted; delete nothing.")] = False,
    store: StoreOption = None,
    json_out: JsonOption = False,
) -> int:
    """Delete the runs that finished longer ago than --older-than."""
    from jobweave.errors import JobweaveError
    from jobweave.store.retention import parse_age, prune_runs

    try:
        age = parse_age(older_than)
    except JobweaveError as exc:
        raise CommandError(f"--older-than: {exc}") from exc
    db = store_for(store)
    deleted = prune_runs(db, age, statuses=list(status or ()), dry_run=dry_run)
    if not dry_run:
        _forget_logs(db.url, deleted)
    if json_out:
        sys.stdout.write(json.dumps({"deleted": [] if dry_run else deleted,
                                     "would_delete": deleted if dry_run else []}) + "\n")
        return EXIT_OK
    verb = "would delete" if dry_run else "deleted"
    for run_id in deleted:
        sys.stdout.write(f"{verb} run {run_id}\n")
    n = len(deleted)
    sys.stderr.write(f"{verb} {n} run{'' if n == 1 else 's'} older than {older_than}\n")
    return EXIT_OK
