"""examples/pages.yaml: the paging loop runs as docs/graphs.md says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobweave.components.node import kinds
from tests.cli.helpers import Jobweave

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pages.yaml"

needs_router = pytest.mark.skipif("router" not in kinds(),
                                  reason="the router component is not registered")


@needs_router
def test_the_paging_example_fetches_every_page(cli: Jobweave) -> None:
    p = cli("run", str(EXAMPLE), "--input", '{"source": "erp"}', "--json")
    assert p.returncode == 0, p.stderr
    jobs = {j["name"]: j for j in json.loads(p.stdout)["jobs"]}
    assert jobs["fetch"]["attempts"] == 3  # firings
    fetched = json.loads(cli("show", "last", "--node", "fetch", "--json").stdout)
    assert [f["in"]["page"] for f in fetched] == [1, 2, 3]
    assert fetched[0]["in"]["source"] == "erp"
    (logged,) = json.loads(cli("show", "last", "--node", "log", "--json").stdout)
    assert logged["in"]["has_more"] is False
    assert logged["in"]["items"] == ["erp-3-0", "erp-3-1"]


@needs_router
def test_the_paging_example_validates(cli: Jobweave) -> None:
    p = cli("validate", str(EXAMPLE), with_store=False)
    assert (p.returncode, p.stdout) == (0, "ok: 4 nodes (graph 'pages')\n")
