"""Graphs the runtime tests share, and the test-only components they use.

``t_router`` routes on one field's equality and ``t_spread`` emits ``msg["n"]`` messages:
enough to build loops and fan-outs without depending on the built-in components' own
tests. Callables live at module level so a resume in another process can load them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jobweave as jw
from jobweave.components.node import Component, Emitted, register

COUNTS_ENV = "JOBWEAVE_TEST_COUNTS"
"""A folder where python nodes leave one file per invocation (what ran, how often)."""


@register("t_router")
class Router(Component):
    """Sends a message to ``port`` when ``msg[field]`` is true, else to ``default``."""

    settings_names = frozenset({"field", "port", "default"})

    def out_ports(self) -> tuple[str, ...]:
        return (self.settings["port"], self.settings["default"])

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        if msg.get(self.settings["field"]):
            return [(self.settings["port"], msg)]
        return [(self.settings["default"], msg)]


@register("t_spread")
class Spread(Component):
    """Emits ``{"i": k}`` for k in range(msg["n"])."""

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        return [("out", {"i": k}) for k in range(msg["n"])]


def _note(kind: str, key: Any) -> None:
    folder = os.environ.get(COUNTS_ENV)
    if folder:
        path = Path(folder) / f"{kind}-{key}"
        with open(path, "a") as f:
            f.write("x")


def fetch_page(msg: dict[str, Any]) -> dict[str, Any]:
    """A page of a fake API: 3 items, more pages until ``last``."""
    page = msg["page"]
    _note("page", page)
    delay = float(os.environ.get("JOBWEAVE_TEST_DELAY", "0"))
    if delay:
        time.sleep(delay)
    return {"page": page, "items": [page * 10 + k for k in range(3)],
            "has_more": page < msg.get("last", 5), "last": msg.get("last", 5)}


def pages(last: int = 5) -> jw.Graph:
    """start → fetch ⇄ more (a paging loop) → done."""
    g = jw.graph("pages")
    start = g.node("start", "modify")
    fetch = g.node("fetch", "python", target=fetch_page)
    more = g.node("more", "t_router", field="has_more", port="next", default="done")
    g.edge(start, fetch, data={"page": 1, "last": last})
    g.edge(fetch, more)
    g.edge(more, fetch, from_port="next",
           data={"page": "{{ msg.page + 1 }}", "last": "{{ msg.last }}"})
    g.edge(more, g.node("done", "modify"), from_port="done")
    return g


def boom(msg: dict[str, Any]) -> dict[str, Any]:
    """Fails on odd numbers."""
    _note("boom", msg["i"])
    if msg["i"] % 2:
        raise ValueError(f"odd {msg['i']}")
    return msg


def square(msg: dict[str, Any]) -> dict[str, Any]:
    _note("square", f"{msg['i']}-{msg['k']}" if "k" in msg else msg["i"])
    return {"i": msg["i"], "sq": msg["i"] ** 2}


def square_slowly(msg: dict[str, Any]) -> dict[str, Any]:
    """:func:`square` taking 10 ms: a run of a few hundred lasts long enough for the kill
    tests to land their kills on any machine (at full speed it can end between two looks)."""
    time.sleep(0.01)
    return square(msg)


def fan(n: int, *, error_edge: bool = False, continue_on_error: bool = False) -> jw.Graph:
    """spread(n) → boom → sink (and boom's error port → errors, if asked)."""
    g = jw.graph("fan", continue_on_error=continue_on_error)
    src = g.node("src", "t_spread")
    b = g.node("boom", "python", target=boom)
    g.edge(src, b)
    g.edge(b, g.node("sink", "modify"))
    if error_edge:
        g.edge(b, g.node("errors", "modify"), from_port="error")
    return g


def add(a: int, b: int) -> int:
    return a + b


child_batch = jw.batch([jw.job(add, name="sum", a=1, b=2), jw.job(add, name="more", a=3, b=4)],
                       name="child")
"""What a run_job node runs in the tests: a small batch."""


def child_graph_fn() -> jw.Graph:
    g = jw.graph("child-graph")
    g.edge(g.node("a", "modify"), g.node("b", "modify"), data={"got": "{{ msg.n * 2 }}"})
    return g


child_graph = child_graph_fn()


def leak(msg: dict[str, Any]) -> dict[str, Any]:
    """Does everything a careless job could do with a secret: prints it, returns it,
    and fails with it in the message."""
    print("token is", msg["token"])
    if msg.get("fail"):
        raise RuntimeError(f"login failed for token {msg['token']}")
    return {"echo": msg["token"], "len": len(msg["token"])}
