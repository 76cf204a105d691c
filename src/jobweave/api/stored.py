"""Finding and removing stored runs: ``jobweave.runs``, ``get_run``, ``delete``, ``prune``
(re-exported by :mod:`jobweave.api`). Reading never creates a store."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from jobweave.errors import RunNotFoundError
from jobweave.settings import Settings, store_path

if TYPE_CHECKING:
    from jobweave.store import RunRecord, SqlStore


def _existing_store(store: str | None) -> SqlStore | None:
    """The store to read, or None when it is an SQLite file that is not there: reading
    never creates a store."""
    from jobweave.store import store_for_settings

    settings = Settings.from_env().with_(store=store)
    path = store_path(settings.store)
    if path is not None and not os.path.exists(path):
        return None
    return store_for_settings(settings)


def runs(
    *,
    status: str | None = None,
    name: str | None = None,
    limit: int = 20,
    store: str | None = None,
) -> list[RunRecord]:
    """The most recent runs first, as ``jobweave list`` shows them.

    ``status`` keeps the runs in one state (a :class:`RunStatus` or its string),
    ``name`` those whose name matches a glob (``nightly-*``, any case). An empty list
    when the store does not exist yet.
    """
    db = _existing_store(store)
    if db is None:
        return []
    return db.list_runs(limit=limit, status=None if status is None else str(status),
                        name=name)


def get_run(run_id: str, *, store: str | None = None) -> RunRecord:
    """One run, as ``jobweave status`` shows it: its id, a unique prefix of one, or
    ``"last"`` for the newest run (not a graph's child run). Raises
    :class:`RunNotFoundError` when there is none."""
    db = _existing_store(store)
    if db is None:
        raise RunNotFoundError(run_id)
    return db.get_run(_resolve(db, run_id))


def _resolve(db: SqlStore, ref: str) -> str:
    if ref == "last":
        newest = db.list_runs(limit=1, children=False)
        if not newest:
            raise RunNotFoundError(ref)
        return newest[0].run_id
    try:
        return db.get_run(ref, counts=False).run_id
    except RunNotFoundError:
        matches = db.find_runs(ref) if ref else []
        if len(matches) != 1:
            raise
        return matches[0]


def delete(*run_ids: str, store: str | None = None) -> list[str]:
    """Delete runs (full ids) with their jobs and journals, in one transaction.

    Nothing is deleted when one of them does not exist (:class:`RunNotFoundError`) or is
    live (:class:`RunStateError`: a process owns it, or its worker is about to start it).
    """
    from jobweave.store.retention import delete_runs

    db = _existing_store(store)
    if db is None:
        if run_ids:
            raise RunNotFoundError(run_ids[0])
        return []
    return delete_runs(db, run_ids)


def prune(
    older_than: float | str | timedelta,
    *,
    status: Sequence[str] = (),
    dry_run: bool = False,
    store: str | None = None,
) -> list[str]:
    """Delete the runs that stopped longer ago than ``older_than``, in one transaction.

    ``older_than`` is seconds, a ``timedelta``, or a text such as ``"30d"``/``"12h"``. A run's
    age counts from when it finished (else last started, else was created). Only runs in
    ``status`` when given; a live run is never pruned. Returns the ids deleted (with
    ``dry_run``, the ids that would be).
    """
    from jobweave.store.retention import parse_age, prune_runs

    if isinstance(older_than, timedelta):
        seconds = older_than.total_seconds()
    elif isinstance(older_than, str):
        seconds = parse_age(older_than)
    else:
        seconds = float(older_than)
    db = _existing_store(store)
    if db is None:
        return []
    return prune_runs(db, seconds, statuses=[str(s) for s in status], dry_run=dry_run)
