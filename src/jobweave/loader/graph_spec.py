"""The ``kind: graph`` file format, as pydantic models (validation and the JSON Schema).

A graph file names its nodes in a mapping (name → component, settings and node options)
and lists its edges as ``{from: "node[:port]", to: "node[:port]", data: ...}``::

    kind: graph
    name: pages
    input: {source: crm}
    nodes:
      start: {component: modify}
      fetch: {component: python, settings: {target: pages.py:fetch}, retries: 2}
    edges:
      - {from: start, to: fetch, data: {page: 1}}

These models check the shape only. The components check their own settings, and
:mod:`jobweave.loader.graph_build` resolves names, ports and targets, with the line of
every problem.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from jobweave.loader.file_triggers import TriggerData
from jobweave.loader.spec import _CONCURRENCY, _SCHEMA, _TRIGGERS
from jobweave.loader.spec_items import (
    _BACKOFF,
    _RETRIES,
    _RETRY_DELAY,
    _TAGS,
    _TIMEOUT,
    Labels,
    Name,
    Seconds,
)
from jobweave.loader.spec_items import SpecModel as _Spec

ENDPOINT = r"^[^:\s]+(:[^:\s]+)?$"
"""``node`` or ``node:port``."""

_MAX_FIRINGS = ("Firings one node may make in one run before it faults (a guard against "
                "loops that never end).")
_CONTINUE = ("A failed firing is recorded and the run goes on (when no edge leaves the "
             "node's `error` port).")


class GraphNodeSpec(_Spec):
    """One node: a component, its settings, and how the runtime treats its firings."""

    component: str = Field(min_length=1, description=(
        "The component: modify, log, python, shell, sleep, router, iterator, barrier, "
        "ticker, ... (see docs/components.md)."))
    settings: dict[str, Any] = Field(default_factory=dict, description=(
        "The component's settings. A python node's `target` is 'package.module:function' "
        "or 'path/file.py:function' (relative to the folder of this file)."))
    retries: int = Field(0, ge=0, description=_RETRIES)
    retry_delay: Seconds = Field(0.0, description=_RETRY_DELAY)
    backoff: float = Field(1.0, ge=1, description=_BACKOFF)
    timeout: float | None = Field(None, gt=0, description=_TIMEOUT)
    max_firings: int | None = Field(None, ge=1, description=_MAX_FIRINGS + " Default: the "
                                    "graph's.")
    continue_on_error: bool = Field(False, description=_CONTINUE)
    execute_when_recovering: bool = Field(False, description=(
        "Fire again on `recover` even where the journal holds this node's outputs."))
    tags: Labels = Field(default_factory=list, description=_TAGS)
    queue: str | None = Field(None, min_length=1, max_length=200, pattern=r"\S", description=(
        "executor celery: the queue of the workers this node's firings run on (python, "
        "shell, sleep, http, sql nodes)."))


class EdgeSpec(_Spec):
    """From one node's output port to another node's input port."""

    model_config = ConfigDict(populate_by_name=False)

    source: str = Field(alias="from", pattern=ENDPOINT, description=(
        "`node` or `node:port` (default port `out`; every node also has `error`)."))
    target: str = Field(alias="to", pattern=ENDPOINT, description=(
        "`node` or `node:port` (default port `in`; a barrier's ports are 0, 1, ...)."))
    data: Any = Field(None, description=(
        "The message the target receives: a template over `msg`, `input` and `secrets` "
        "(`{{ msg.page + 1 }}`), any JSON shape; without it the message passes unchanged."))


class GraphFile(_Spec):
    """A file of ``kind: graph``: nodes (components with settings) and edges between ports."""

    model_config = ConfigDict(title="Graph file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["graph"] = Field(description="What the file defines.")
    name: Name = Field(description="The graph's name: the run's name in listings.")
    max_firings: int | None = Field(None, ge=1, description=_MAX_FIRINGS + " Default: "
                                    "1,000,000.")
    continue_on_error: bool = Field(False, description="Every node: " + _CONTINUE)
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    input: Any = Field(None, description=(
        "The run's input when none is given (`jobweave run --input`): what the nodes "
        "without incoming edges receive, and `input` in templates."))
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)
    nodes: dict[str, GraphNodeSpec] = Field(min_length=1, description=(
        "The nodes by name. A node without incoming edges fires once when the run starts, "
        "with the run's input."))
    edges: list[EdgeSpec] = Field(default_factory=list, description=(
        "The edges; loops are allowed (bounded by `max_firings`)."))


GraphFile.model_rebuild()
