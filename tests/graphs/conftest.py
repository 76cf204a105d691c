"""Graph definition files and the commands that run them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import cli, db, store  # noqa: F401  (fixtures)


@pytest.fixture
def graph_file(tmp_path: Path) -> Callable[..., str]:
    """Write a YAML graph file into tmp_path (the current folder); return its path."""

    def write(body: str, name: str = "graph.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body).lstrip("\n"))
        return str(path)

    return write
