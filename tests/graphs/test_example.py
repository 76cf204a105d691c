"""examples/pages.yaml: the paging loop runs as docs/graphs.md says."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import Jobweave

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pages.yaml"

CATALOG = EXAMPLE.with_name("catalog.yaml")


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


def test_the_paging_example_validates(cli: Jobweave) -> None:
    p = cli("validate", str(EXAMPLE), with_store=False)
    assert (p.returncode, p.stdout) == (0, "ok: 4 nodes (graph 'pages')\n")


def test_the_catalog_example_joins_the_loop_and_the_shell_branch(cli: Jobweave) -> None:
    p = cli("run", str(CATALOG), "--input", '{"source": "erp"}', "--json")
    assert p.returncode == 0, p.stderr
    (published,) = json.loads(cli("show", "last", "--node", "publish", "--json").stdout)
    assert published["in"] == {"status": "completed", "pages": 3, "prices": "prices of erp"}
    fetched = json.loads(cli("show", "last", "--node", "fetch", "--json").stdout)
    assert [f["in"]["page"] for f in fetched] == [1, 2, 3]
