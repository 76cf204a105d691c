"""Close every store a test opened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    from jobweave.store import close_all

    close_all()
