"""Messages of a graph run arriving at nodes: the firings they queue (inline, or for the
executor), routing along edges with their ``data`` templates, joins fed and closed, and
the guards on loops (``max_firings``, the same message twice); mixed into
:class:`~jobweave.engine.graph.GraphRuntime`."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobweave.components.node import Component, Joiner, JoinState
from jobweave.engine.firing import Firing, child_id, group_id
from jobweave.engine.runtime import Runtime
from jobweave.errors import JobweaveError
from jobweave.plan.graph import Wiring

if TYPE_CHECKING:
    from jobweave.engine.graph_replay import Replay


class Messages(Runtime):
    """Where a graph's messages go (the graph runtime sets these attributes)."""

    w: Wiring
    env: dict[str, Any]
    names: list[str]
    comps: tuple[Component, ...]
    _routes: list[dict[str, tuple[tuple[int, str, Any, str, bool], ...]]]
    acts: dict[int, Firing]
    _next_key: int
    active: list[int]
    count: list[int]
    inline: deque[Firing]
    seen: list[set[str] | None]
    joins: dict[int, JoinState]
    live: dict[int, frozenset[str] | None]
    ticking: set[int]
    failing: bool
    _replay: Replay | None
    _fault: Callable[..., None]

    def _arrive(self, f: Firing) -> None:
        """A message reached node ``f.node``: queue its firing (or, replaying, note it)."""
        if self._replay is not None and self._replay.take(f):
            return
        i = f.node
        self.count[i] += 1
        if self.count[i] > self.w.max_firings[i] and f.error is None:
            f.error = (f"fired more than {self.w.max_firings[i]:,} times in this run "
                       "(max_firings)")
            self._fault(f, f.error, final=True)
            return
        seen = self.seen[i]
        if seen is not None and f.group < 0:
            text = json.dumps(f.msg, sort_keys=True, default=str)
            if text in seen:
                self._fault(f, "received the same message twice: a loop that does not "
                               "advance", final=True)
                return
            seen.add(text)
        if self.failing or self.cancelling:
            return
        if self.comps[i].inline:
            self.inline.append(f)
        else:
            key = self._next_key
            self._next_key = key + 1
            self.acts[key] = f
            self.active[i] += 1
            self.ready.append(key)

    def _route(self, f: Firing, emitted: list[tuple[str, Any]]) -> None:
        """Send a firing's messages along the edges leaving their ports."""
        routes = self._routes[f.node]
        if not routes:
            return
        env, fid = self.env, f.fid
        for k, (port, msg) in enumerate(emitted):
            for target, to_port, data, label, joins in routes.get(port, ()):
                m, error = msg, None
                if data is not None:
                    try:
                        m = data.render({**env, "msg": msg})
                    except JobweaveError as exc:
                        error = str(exc)
                if joins:
                    self._join(target, to_port, m)
                    continue
                c = Firing(target, child_id(fid, port, k, label), m)
                if error is not None:
                    c.error = error
                self._arrive(c)

    def _join(self, i: int, port: str, msg: Any) -> None:
        comp = self.comps[i]
        for g in self.joins[i].receive(port, msg):
            assert isinstance(comp, Joiner)
            self._arrive(Firing(i, group_id(self.names[i], g.index), g.tokens, g.index))

    def _close_joins(self) -> bool:
        """Close the groups of joins whose ports no message in flight can reach; True
        when that queued firings."""
        if not self.joins:
            return False
        queued = False
        for i, state in self.joins.items():
            live = frozenset(p for p, feeders in self.w.feeders[i].items()
                             if any(self._busy(f) for f in feeders))
            if live == self.live[i]:
                continue
            self.live[i] = live
            for g in state.close(live):
                f = Firing(i, group_id(self.names[i], g.index), g.tokens, g.index)
                f.live = sorted(live)
                self._arrive(f)
                queued = True
        return queued

    def _busy(self, i: int) -> bool:
        if self.active[i] or i in self.ticking:
            return True
        if i in self.joins:
            return self.live[i] is None or bool(self.live[i])
        return any(f.node == i for f in self.inline)
