"""A bad graph file is refused with one line: FILE:LINE: field: message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jobweave.components.node import kinds
from jobweave.errors import DefinitionError
from jobweave.loader import load_file

HEAD = """\
kind: graph
name: g
nodes:
  start: {component: modify}
"""

CASES = [
    ("unknown component", HEAD + "  fetch: {component: fetcher}\n",
     5, "nodes.fetch.component", "unknown component 'fetcher'"),
    ("unknown setting", HEAD + "  out:\n    component: log\n    settings: {lvl: info}\n",
     7, "nodes.out.settings.lvl", "unknown setting"),
    ("misspelt setting", HEAD + "  out:\n    component: log\n    settings: {levle: info}\n",
     7, "nodes.out.settings.levle",
     "unknown setting (a log takes: level); did you mean 'level'?"),
    ("unknown node option", HEAD + "  out:\n    component: log\n    retriez: 2\n",
     7, "nodes.out.retriez", "did you mean 'retries'?"),
    ("bad setting value", HEAD + "  out:\n    component: log\n    settings:\n"
     "      level: loud\n", 8, "nodes.out.settings.level", "must be debug, info"),
    ("edge to unknown node", HEAD + "  out: {component: log}\nedges:\n"
     "  - from: start\n    to: outt\n", 8, "edges[0].to", "no node named 'outt'"),
    ("bad endpoint syntax", HEAD + "  out: {component: log}\nedges:\n"
     "  - {from: 'start:a:b', to: out}\n", 7, "edges[0].from",
     "an edge's end is 'node' or 'node:port'"),
    ("unknown port", HEAD + "  out: {component: log}\nedges:\n"
     "  - from: start\n    to: out:side\n", 8, "edges[0].to",
     "'out' has no input port 'side'"),
    ("bad port name", HEAD + "  out: {component: log}\nedges:\n"
     "  - from: start:ou!t\n    to: out\n", 7, "edges[0].from", "a port is a name"),
    ("bad data template", HEAD + "  out: {component: log}\nedges:\n"
     "  - from: start\n    to: out\n    data:\n      page: '{{ msg.page + }}'\n",
     10, "edges[0].data.page", ""),
    ("duplicate node", HEAD + "  start: {component: log}\n",
     5, "nodes.start", "duplicate key 'start' (first on line 4)"),
    ("python target not found", HEAD + "  fetch:\n    component: python\n"
     "    settings:\n      target: nowhere.py:fetch\n", 8, "nodes.fetch.settings.target",
     "nowhere.py"),
    ("python target missing", HEAD + "  fetch:\n    component: python\n",
     5, "nodes.fetch.settings.target", "a python node needs a target"),
    ("max_firings below 1", HEAD + "  out:\n    component: log\n    max_firings: 0\n",
     7, "nodes.out.max_firings", "must be >= 1"),
    ("no nodes", "kind: graph\nname: g\nnodes: {}\n", 3, "nodes", "at least 1"),
    ("no name", "kind: graph\nnodes:\n  a: {component: modify}\n", 1, "name",
     "this field is required"),
    ("control character in a node name", HEAD + '  "a\\tb": {component: log}\n', 5,
     'nodes["a\\tb"]', "control characters"),
    ("colon in a node name", HEAD + "  'a:b': {component: log}\n", 5, None,
     "may not hold ':'"),
    ("unknown edge key", HEAD + "  out: {component: log}\nedges:\n"
     "  - {from: start, to: out, date: 1}\n", 7, "edges[0].date", "did you mean 'data'?"),
    ("no node starts it", HEAD + "  out: {component: log}\nedges:\n"
     "  - {from: start, to: out}\n  - {from: out, to: start}\n", 6, "edges",
     "no node starts the graph"),
    ("a loop with no way in", HEAD + "  out: {component: log}\n  a: {component: modify}\n"
     "  b: {component: modify}\nedges:\n  - {from: start, to: out}\n  - {from: a, to: b}\n"
     "  - {from: b, to: a}\n", 6, "nodes.a", "no message can reach 'a', 'b'"),
]


@pytest.mark.parametrize(("body", "line", "field", "text"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_errors_name_file_line_and_field(graph_file: Callable[..., str], body: str,
                                         line: int, field: str | None, text: str) -> None:
    path = graph_file(body)
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    err = caught.value
    assert (err.path, err.line) == (path, line), str(err)
    if field is not None:
        assert err.field == field, str(err)
    assert text in err.message, str(err)
    assert "\n" not in str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def _refused(path: str, component: str) -> DefinitionError:
    """The error loading ``path`` raises (skipped when ``component`` is not registered)."""
    if component not in kinds():
        pytest.skip(f"the {component} component is not registered")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    return caught.value


def test_router_rule_error_points_at_the_rule(graph_file: Callable[..., str]) -> None:
    path = graph_file(HEAD + """\
  route:
    component: router
    settings:
      rules:
        - field: has_more
          operator: equalz
          value: true
          port: next
      default: done
""")
    err = _refused(path, "router")
    assert err.line == 10, str(err)
    assert err.field == "nodes.route.settings.rules[0].operator"


def test_ticker_with_an_incoming_edge(graph_file: Callable[..., str]) -> None:
    path = graph_file(HEAD + """\
  tick:
    component: ticker
    settings: {interval: 1, max_emissions: 1}
edges:
  - {from: start, to: tick}
""")
    err = _refused(path, "ticker")
    assert (err.line, err.field) == (9, "edges[0].to"), str(err)
    assert "'tick' has no input port 'in'" in err.message


def test_hostile_input_limits_apply(graph_file: Callable[..., str]) -> None:
    deep = "[" * 70 + "]" * 70
    path = graph_file(HEAD + f"input: {deep}\n")
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert "nested deeper than 64 levels" in str(caught.value)
    assert caught.value.line == 5
