"""Live-tail files that killed processes left behind, removed by a serving engine."""

from __future__ import annotations

import logging

from jobweave.components import livetail
from jobweave.errors import JobweaveError, RunNotFoundError
from jobweave.store import SqlStore
from jobweave.store.base import LIVE_RUN_STATES

log = logging.getLogger("jobweave.serve")

SWEEP_SECONDS = 3600.0
"""How often a serve process removes the live tails that processes killed left behind."""


def sweep_live_tails(store: SqlStore) -> int:
    """Remove the shell jobs' live-tail files of this store's runs that no live process
    runs (a process killed with SIGKILL leaves them); how many files went."""

    def running(run_id: str) -> bool | None:
        try:
            return store.get_run(run_id, counts=False).status in LIVE_RUN_STATES
        except RunNotFoundError:
            return None  # another store's run on this host: not ours to judge
        except JobweaveError:
            return True  # the store is not answering: keep everything

    removed = livetail.sweep(running)
    if removed:
        log.info("removed %d live-tail file(s) left by stopped processes", removed)
    return removed
