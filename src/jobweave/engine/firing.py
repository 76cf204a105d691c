"""A graph node's firing: its deterministic identity, and its journal record.

A firing's id is derived from its node and the message it consumed, and a message's
identity from the firing that emitted it, the port and its position among that firing's
messages. Replaying a journal therefore finds every finished firing again, whatever the
timing of the run that wrote it, loops and fan-outs included.

Journal records (event ``fired``, node = the graph node, attempt) carry as data::

    {"id": FID, "in": MESSAGE, "out": [[PORT, MESSAGE], ...]}     a finished firing
    {"id": FID, "in": MESSAGE, "error": TEXT}                     a faulted firing
    {"id": FID, ..., "started": TS}                               a firing run as a job
                                                                  (python, shell, sleep,
                                                                  run_job): when it began
    {"id": FID, ..., "live": [PORT, ...]}                         a group a join closed
                                                                  early (ports still live)
    {"replayed_from": RUN, "id": FID, ...}                        a finished firing a
                                                                  recovery took over from RUN
"""

from __future__ import annotations

import json
from hashlib import blake2b
from typing import Any

FIRED = "fired"
"""The journal event of a graph node's firing."""


def start_id(node: str) -> str:
    """The firing of a source node when the run starts."""
    return _hash(f"start\x1f{node}")


def child_id(parent: str, port: str, index: int, node: str) -> str:
    """The firing that consumes message ``index`` of ``parent`` on ``port``."""
    return _hash(f"{parent}\x1f{port}\x1f{index}\x1f{node}")


def tick_id(node: str, n: int) -> str:
    """A ticker's ``n``-th emission (0-based)."""
    return _hash(f"tick\x1f{node}\x1f{n}")


def group_id(node: str, group: int) -> str:
    """A joining node's firing for group ``group``."""
    return _hash(f"group\x1f{node}\x1f{group}")


def _hash(text: str) -> str:
    return blake2b(text.encode(), digest_size=10).hexdigest()


class Firing:
    """One firing, queued, running, or waiting for its retry."""

    __slots__ = ("attempt", "emitted", "error", "fid", "group", "live", "msg", "node",
                 "started")

    def __init__(self, node: int, fid: str, msg: Any, group: int = -1) -> None:
        self.node = node
        self.fid = fid
        self.msg = msg
        self.attempt = 0
        self.group = group
        """The joined group's index, for a joining node's firing."""
        self.emitted: list[tuple[str, Any]] | None = None
        self.error: str | None = None
        self.started = 0.0
        self.live: list[str] | None = None
        """For a group a join closed early: the input ports that were still live."""


_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def passed_on(fid: str, msg: Any, port: str) -> str:
    """The record of a firing that emitted its input unchanged on ``port``: the message
    is encoded once (``modify``, ``log``)."""
    text = _encode(msg)
    return f'{{"id":"{fid}","in":{text},"out":[["{port}",{text}]]}}'


def encoded(fid: str, msg: Any, emitted: list[tuple[str, Any]]) -> str:
    """The record of a finished firing (the common case of :func:`record`)."""
    return f'{{"id":"{fid}","in":{_encode(msg)},"out":{_encode(emitted)}}}'


def taken_over(data: dict[str, Any], source: str) -> str:
    """The record of a finished firing a recovery takes over from run ``source``: its
    record there, marked first (see :data:`~jobweave.store.history.TAKEN_OVER`)."""
    rest = {k: v for k, v in data.items() if k != "replayed_from"}
    return json.dumps({"replayed_from": source, **rest}, separators=(",", ":"),
                      allow_nan=False)


def record(fid: str, msg: Any, emitted: list[tuple[str, Any]] | None,
           error: str | None = None, live: list[str] | None = None,
           started: float = 0.0) -> str:
    """The JSON text of a firing's journal record (``started``: when a firing run as a job
    began; the record's own time is its end)."""
    d: dict[str, Any] = {"id": fid, "in": msg}
    if emitted is not None:
        d["out"] = emitted
    if error is not None:
        d["error"] = error
    if live is not None:
        d["live"] = live
    if started:
        d["started"] = started
    return json.dumps(d, separators=(",", ":"), allow_nan=False)
