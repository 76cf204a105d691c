"""A run's definition as a picture: one box per definition node, laid out in layers.

Jobs that differ only by a number (``fetch-1`` … ``fetch-9999``, ``step[3]``) share one box
when a definition has more than :data:`MAX_BOXES` nodes, so a 10,000-job run draws a few
boxes with per-state counts, never one per job. The layout is the classic layered one:
ranks by longest path from the sources, then a few barycentre sweeps to order each rank.
Layouts are cached by definition digest.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BOXES = 200
"""Above this many definition nodes, numbered siblings fold into one box."""
BOX_W, BOX_H, GAP_X, GAP_Y = 180, 58, 40, 50
SWEEPS = 4
_NUMBER = re.compile(r"(\[[^\]]*\]|[-_.#]?\d+)$")


@dataclass(slots=True)
class Box:
    """One box: a definition node, or numbered siblings folded together."""

    key: str
    kind: str
    members: int = 0
    x: int = 0
    y: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Layout:
    boxes: tuple[Box, ...]
    edges: tuple[tuple[str, str], ...]
    width: int
    height: int
    folded: bool


def group_key(name: str) -> str:
    """``fetch-17`` → ``fetch-*``; ``step[a]`` → ``step[*]``; anything else itself."""
    match = _NUMBER.search(name)
    if match is None or match.start() == 0:
        return name
    tail = match.group(1)
    if tail.startswith("["):
        return name[:match.start()] + "[*]"
    sep = tail[0] if not tail[0].isdigit() else ""
    return name[:match.start()] + sep + "*"


def nodes_and_edges(definition: dict[str, Any]) -> tuple[list[tuple[str, str]],
                                                         list[tuple[str, str]]]:
    """(name, kind) of each node and (from, to) of each edge of a stored definition."""
    nodes = [(str(n["name"]), str(n.get("kind", ""))) for n in definition.get("nodes", ())]
    if definition.get("kind") == "graph":
        edges = [(str(e["from"]), str(e["to"])) for e in definition.get("edges", ())]
    else:
        edges = [(str(a), str(n["name"])) for n in definition.get("nodes", ())
                 for a in n.get("after", ())]
    return nodes, edges


def layout(definition: dict[str, Any], digest: str) -> Layout:
    """The (cached) layout of a definition; boxes come without counts."""
    return _cached(digest, definition)


_CACHE: dict[str, Layout] = {}


def _cached(digest: str, definition: dict[str, Any]) -> Layout:
    found = _CACHE.get(digest)
    if found is None:
        found = _layout(definition)
        if len(_CACHE) >= 64:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[digest] = found
    return found


def _layout(definition: dict[str, Any]) -> Layout:
    nodes, edges = nodes_and_edges(definition)
    fold = len(nodes) > MAX_BOXES
    key_of = {n: (group_key(n) if fold else n) for n, _ in nodes}
    boxes: dict[str, Box] = {}
    for name, kind in nodes:
        box = boxes.setdefault(key_of[name], Box(key_of[name], kind))
        box.members += 1
    links = sorted({(key_of[a], key_of[b]) for a, b in edges
                    if a in key_of and b in key_of and key_of[a] != key_of[b]})
    ranks = _ranks(list(boxes), links)
    order = _order(ranks, links)
    width = height = 0
    for r, row in enumerate(order):
        for i, key in enumerate(row):
            box = boxes[key]
            box.x, box.y = GAP_X // 2 + i * (BOX_W + GAP_X), GAP_Y // 2 + r * (BOX_H + GAP_Y)
            width, height = max(width, box.x + BOX_W), max(height, box.y + BOX_H)
    return Layout(tuple(boxes.values()), tuple(links), width + GAP_X // 2,
                  height + GAP_Y // 2, fold)


def _ranks(keys: list[str], links: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a source; a node on a cycle keeps the rank it had first."""
    incoming: dict[str, list[str]] = defaultdict(list)
    outgoing: dict[str, list[str]] = defaultdict(list)
    for a, b in links:
        incoming[b].append(a)
        outgoing[a].append(b)
    indegree = {k: len(incoming[k]) for k in keys}
    rank = dict.fromkeys(keys, 0)
    ready = [k for k in keys if indegree[k] == 0]
    seen: set[str] = set()
    while True:
        while ready:
            k = ready.pop()
            seen.add(k)
            for b in outgoing[k]:
                rank[b] = max(rank[b], rank[k] + 1)
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
        rest = [k for k in keys if k not in seen]
        if not rest:
            return rank
        ready = [rest[0]]  # break a cycle: carry on from one of its nodes
        indegree[rest[0]] = 0


def _order(rank: dict[str, int], links: list[tuple[str, str]]) -> list[list[str]]:
    """Each rank's nodes, ordered by the barycentre of their neighbours, a few sweeps."""
    rows: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for key, r in rank.items():
        rows[r].append(key)
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for a, b in links:
        up[b].append(a)
        down[a].append(b)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        seq = range(1, len(rows)) if forward else range(len(rows) - 2, -1, -1)
        for r in seq:
            near = rows[r - 1] if forward else rows[r + 1]
            pos = {k: i for i, k in enumerate(near)}
            side = up if forward else down

            def centre(key: str, pos: dict[str, int] = pos,
                       side: dict[str, list[str]] = side) -> float:
                ps = [pos[n] for n in side[key] if n in pos]
                return sum(ps) / len(ps) if ps else float("inf")

            rows[r].sort(key=centre)
    return rows


def with_counts(lay: Layout, states: list[tuple[str, str, int]]) -> list[Box]:
    """The layout's boxes with the run's jobs counted per state into them."""
    boxes = {b.key: Box(b.key, b.kind, b.members, b.x, b.y) for b in lay.boxes}
    for name, status, _ in states:
        key = group_key(name) if lay.folded else name
        box = boxes.get(key)
        if box is not None:
            box.counts[status] = box.counts.get(status, 0) + 1
    return list(boxes.values())


def dominant(box: Box) -> str:
    """The state a box is coloured by: the worst one any of its jobs is in."""
    return worst(box.counts)


def worst(counts: Mapping[str, int]) -> str:
    """The worst state any of a group of jobs counted by state is in."""
    for state in ("faulted", "running", "interrupted", "cancelled", "pending", "skipped"):
        if counts.get(state):
            return state
    return "completed" if counts else "pending"
