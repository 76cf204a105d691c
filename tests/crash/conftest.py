"""Fixtures of the crash tests: the seed, an uninterrupted reference run, child processes."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobweave.store import SqlStore, close_all, open_store
from tests.crash import jobs
from tests.crash.harness import Children, crash_seed, invocations, result_values


@pytest.fixture
def seed() -> int:
    return crash_seed()


@pytest.fixture
def rng(seed: int, request: pytest.FixtureRequest) -> random.Random:
    """A generator per test, from the session seed and the test's name (reproducible)."""
    return random.Random(f"{seed}:{request.node.name}")


@dataclass(frozen=True)
class Reference:
    """An uninterrupted run of the full schedule: its store, results file and values."""

    store: Path
    results: Path
    run_id: str
    values: dict[str, int]

    def copy_to(self, store: Path, results: Path) -> None:
        """Copy its store and results files (with any WAL side files) to these paths."""
        for src, dst in ((self.store, store), (self.results, results)):
            for side in ("", "-wal"):
                f = Path(str(src) + side)
                if f.exists():
                    shutil.copyfile(f, str(dst) + side)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    folder = tmp_path_factory.mktemp("reference")
    store, results = folder / "ref-store.db", folder / "ref-results.db"
    children = Children(folder, results)
    try:
        child = children.start(["submit", str(store)])
        assert child.finish() == 0, child.describe()
        started = child.line("started")
        assert started is not None, child.describe()
    finally:
        children.close()
    values = result_values(results)
    assert values == jobs.expected(), "the uninterrupted run computed unexpected values"
    calls = invocations(results)
    assert len(calls) == len(values) and all(len(c) == 1 for c in calls.values()), \
        "an uninterrupted run invoked some job more than once"
    return Reference(store, results, started.split()[1], values)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def results_path(tmp_path: Path) -> Path:
    return tmp_path / "results.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[SqlStore]:
    """The test's store as this process sees it (closed afterwards)."""
    yield open_store(str(store_path))
    close_all()


@pytest.fixture
def children(tmp_path: Path, results_path: Path) -> Iterator[Children]:
    started = Children(tmp_path, results_path)
    yield started
    started.close()


@pytest.fixture
def copied(reference: Reference, store_path: Path, results_path: Path) -> Iterator[SqlStore]:
    """The reference run's store and results, copied for this test to change."""
    reference.copy_to(store_path, results_path)
    yield open_store(str(store_path))
    close_all()
