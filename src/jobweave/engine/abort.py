"""What becomes of a run whose loop stopped on an error rather than at its end."""

from __future__ import annotations

import logging

from jobweave.errors import RunOwnedError, StoreError, StoreUnavailable
from jobweave.store.sql import SqlStore

log = logging.getLogger("jobweave.engine")


def abort(store: SqlStore, run_id: str, epoch: int, exc: Exception) -> Exception:
    """Leave the store as truthful as it can be after ``exc`` stopped a run's loop, and
    return the error its caller should raise.

    * another process took the run over: nothing is written, ``exc`` is returned;
    * the store is unreachable or its file is gone: nothing can be written; the run's
      lease runs out and it reads ``crashed``, resumable;
    * anything else (a commit the database refused, a fault of the engine): the run is
      recorded ``failed`` and its lease released, on a new connection, so ``resume``
      can take it at once.
    """
    if isinstance(exc, RunOwnedError):
        return exc
    if isinstance(exc, StoreUnavailable):
        if not exc.resumable:
            return exc
        return StoreUnavailable(f"{exc}; run {run_id} was left as it was: resume it once "
                                "the store is back")
    reason = _first_line(exc)
    try:
        recorded = store.fail_run(run_id, epoch, reason)
    except Exception as again:
        if store.transient(again) or isinstance(again, StoreUnavailable):
            return StoreUnavailable(f"store {store.url}: run {run_id} stopped ({reason}) and "
                                    "the store is unreachable; resume it once it is back")
        log.exception("run %s: recording its failure failed too", run_id)
        return exc
    if not recorded:  # another process claimed the run meanwhile: it is theirs
        return store.lost(run_id) if isinstance(exc, StoreError) else exc
    if isinstance(exc, StoreError):
        return StoreUnavailable(f"{reason}; run {run_id} is recorded failed (resume runs "
                                "its unfinished jobs)")
    log.error("run %s recorded failed: %s", run_id, reason, exc_info=exc)
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else "") or type(exc).__name__
