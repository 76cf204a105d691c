"""A shared check for the components' settings tests."""

from __future__ import annotations

from typing import Any

import pytest

from jobweave.components.node import build
from jobweave.errors import DefinitionError


def refused(kind: str, settings: dict[str, Any], field: str, says: str) -> None:
    """Building ``kind`` (node ``n``) with ``settings`` is a definition error naming
    ``settings.FIELD`` and saying ``says``."""
    with pytest.raises(DefinitionError) as caught:
        build(kind, "n", settings)
    assert f"node 'n': settings.{field}" in str(caught.value)
    assert says in str(caught.value)
