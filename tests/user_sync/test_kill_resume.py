"""SIGKILL ``jobweave run examples/user_sync/sync.yaml`` at random points (seeded) and
``jobweave resume`` it: no user lost or written twice, one sync_logs row, and no page
fetched again once its fetch was committed (only the page in flight at a kill may be)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from examples.user_sync.migrate import migrate

from tests.crash.harness import Children, crash_seed
from tests.user_sync.conftest import (
    EXAMPLE,
    TOKEN,
    expected_rows,
    start_api,
    sync_logs,
    written_rows,
)

USERS = 600
PAGE = 20
KILLS = 3


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    kids = Children(tmp_path, tmp_path / "results")
    yield kids
    kids.close()


def test_a_sync_killed_and_resumed_writes_every_user_once(
        tmp_path: Path, children: Children, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(f"{crash_seed()}:user_sync")
    migrate(pg_url)
    api = start_api(USERS)
    monkeypatch.setenv("JOBWEAVE_SECRET_DB_URL", pg_url)
    monkeypatch.setenv("JOBWEAVE_SECRET_API_TOKEN", TOKEN)
    store = str(tmp_path / "s.db")
    data = json.dumps({"api": api.base, "page_size": PAGE, "incremental": False})
    child = children.start(["run", str(EXAMPLE / "sync.yaml"), "--store", store, "--input",
                            data], module="jobweave")
    in_flight: set[int] = set()
    kills = 0
    for _ in range(KILLS):
        target = len(api.served_pages()) + rng.randint(1, 8)
        deadline = time.monotonic() + 60
        while len(api.served_pages()) < target and child.proc.poll() is None:
            assert time.monotonic() < deadline, child.describe()
            time.sleep(0.002)
        if child.proc.poll() is not None:
            break
        child.kill()
        kills += 1
        with api.state.lock:
            in_flight.add(api.state.requests[-1]["page"])
        child = children.start(["resume", "last", "--store", store], module="jobweave")
    assert child.finish() == 0, child.describe()
    assert kills >= 2, "the kills landed while the sync ran"

    assert written_rows(pg_url) == expected_rows(api)
    (log,) = sync_logs(pg_url)
    assert (log["records"], log["pages"], log["status"]) == (USERS, USERS // PAGE, "completed")
    served = Counter(api.served_pages())
    assert sorted(served) == list(range(1, USERS // PAGE + 1))
    again = {page for page, n in served.items() if n > 1}
    assert again <= in_flight, f"pages fetched again after their fetch was committed: {again}"
    assert sum(served.values()) - len(served) <= kills
