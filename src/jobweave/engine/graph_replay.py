"""Resume of a graph run: replay its journal to rebuild what was in flight.

The sources fire again in memory; every message is routed as the run routed it, and a
firing whose record the journal holds is not fired but *applied*: its recorded messages
are routed on, in the order of the records, so joins receive their tokens in the order
the run gave them and rebuild the same groups. Firings the journal does not hold (they
were queued, running, or their record was lost with the process) are handed back as
``later``, to fire once the replay is over: the journal is a prefix of what the run did,
so all of them come after everything it holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from jobweave.engine.firing import Firing, group_id

if TYPE_CHECKING:
    from jobweave.engine.graph import GraphRuntime


class Replay:
    """One pass over a graph run's ``fired`` records (seq order)."""

    def __init__(self, rt: GraphRuntime, fired: Iterable[tuple[Any, ...]]) -> None:
        self.rt = rt
        self.records = [(ts, node, json.loads(data)) for ts, node, data in fired]
        self.done = {d["id"] for _, _, d in self.records if "out" in d}
        self.waiting: dict[str, Firing] = {}
        self.later: list[Firing] = []
        self.tick_base: float | None = None

    def take(self, f: Firing) -> bool:
        """Hold a firing that arrived during the replay; always True (it is handled)."""
        if f.fid in self.done:
            self.waiting[f.fid] = f
        else:
            self.later.append(f)
        return True

    def run(self) -> None:
        rt = self.rt
        index = {name: i for i, name in enumerate(rt.names)}
        for ts, node, d in self.records:
            i = index.get(node)
            if i is None:
                continue
            if "out" not in d:  # a firing that faulted: it fires again
                rt.errors[i] = d.get("error")
                continue
            fid = d["id"]
            f = self.waiting.pop(fid, None)
            if f is None:
                f = self._unrouted(i, fid, d, ts)
            rt.count[i] += 1
            seen = rt.seen[i]
            if seen is not None and f.group < 0:
                seen.add(json.dumps(f.msg, sort_keys=True, default=str))
            emitted = d["out"]
            rt._fired_once(i, ts, emitted)
            if d.get("error") is not None:
                rt.errors[i] = d["error"]
            rt._route(f, emitted)
        self.later.extend(f for f in self.waiting.values())
        self.waiting.clear()

    def _unrouted(self, i: int, fid: str, d: dict[str, Any], ts: float) -> Firing:
        """A record no routed message led to: a ticker's emission, a group a join closed
        because its ports went quiet, or a firing of an earlier definition."""
        rt = self.rt
        if i in rt.ticks:
            rt.ticks[i] += 1
            if self.tick_base is None:
                self.tick_base = ts
        live = d.get("live")
        if live is not None and i in rt.joins:
            ports = frozenset(live)
            rt.live[i] = ports
            found = None
            for g in rt.joins[i].close(ports):
                gf = Firing(i, group_id(rt.names[i], g.index), g.tokens, g.index)
                gf.live = sorted(ports)
                if gf.fid == fid:
                    found = gf
                else:
                    self.take(gf)
            if found is not None:
                return found
        return Firing(i, fid, d.get("in"))
