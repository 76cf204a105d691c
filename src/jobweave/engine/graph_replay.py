"""Resume of a graph run: replay its journal to rebuild what was in flight.

The sources fire again in memory; every message is routed as the run routed it, and a
firing whose record the journal holds is not fired but *applied*: its recorded messages
are routed on, in the order of the records, so joins receive their tokens in the order
the run gave them and rebuild the same groups. Firings the journal does not hold (they
were queued, running, or their record was lost with the process) are handed back as
``later``, to fire once the replay is over: the journal is a prefix of what the run did,
so all of them come after everything it holds.

Applied records count as the node's firings. A node's times (started, finished) are those
of its firings in the last execution it fired in: those of its records in their latest
execution, until it fires in this one. A faulted record counts, but its error does not
stand: that firing fires again.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from jobweave.engine.firing import Firing, group_id, taken_over

if TYPE_CHECKING:
    from jobweave.engine.graph import GraphRuntime


class Recovered(NamedTuple):
    """What a graph's recovery replays: the recovered run's firings, the nodes whose
    firings run again, that run's id and when each of its executions started."""

    fired: list[tuple[float, str, dict[str, Any]]]
    rerun: frozenset[str]
    source: str
    starts: Sequence[float] = ()


class Replay:
    """One pass over a graph run's ``fired`` records (seq order)."""

    def __init__(self, rt: GraphRuntime, fired: Iterable[tuple[Any, ...]],
                 rerun: frozenset[str] = frozenset(), copy: str | None = None,
                 starts: Sequence[float] = ()) -> None:
        self.rt = rt
        self.records = [(ts, node, json.loads(data) if isinstance(data, str) else data)
                        for ts, node, data in fired]
        self.rerun = rerun
        """Nodes whose firings run again (recover: changed, or execute_when_recovering)."""
        self.copy = copy
        """Recover: the recovered run. Each applied record is journaled again, marked as
        taken over from it (the new run's journal stands alone)."""
        self.starts = sorted(starts)
        """When each execution of the records' run started: a node's times are those of
        its records in their latest execution."""
        self._epoch: dict[int, int] = {}
        self.done = {d["id"] for _, node, d in self.records
                     if "out" in d and node not in rerun}
        self.previous: dict[str, Any] = {d["id"]: d["out"] for _, node, d in self.records
                                         if "out" in d and node in rerun}
        """Outputs of the firings that run again, for ``context.previous_outputs``."""
        self.waiting: dict[str, Firing] = {}
        self.later: list[Firing] = []
        self.tick_base: float | None = None
        self._tainted = self._downstream_joins()

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
            if i is None or node in self.rerun:
                continue
            if "out" not in d:  # a firing that faulted: it fires again (its error is old)
                if self.copy is None:  # this run's own record: a firing it made
                    self._times(i, ts, d.get("started"))
                    rt._counted(i, None)
                continue
            fid = d["id"]
            f = self.waiting.pop(fid, None)
            if f is None:
                f = self._unrouted(i, fid, d, ts)
                if f is None:  # its message comes from a firing that runs again
                    continue
            if self.copy is not None:
                rt._row(ts, "fired", node, 1, taken_over(d, self.copy))
            rt.count[i] += 1
            seen = rt.seen[i]
            if seen is not None and f.group < 0:
                seen.add(json.dumps(f.msg, sort_keys=True, default=str))
            emitted = d["out"]
            self._times(i, ts, d.get("started"))
            rt._counted(i, emitted)
            if d.get("error") is not None:
                rt.errors[i] = d["error"]
            rt._route(f, emitted)
        self.later.extend(f for f in self.waiting.values())
        self.waiting.clear()

    def _times(self, i: int, ts: float, began: float | None) -> None:
        """Node ``i``'s times with a record of ``ts`` (a firing run as a job ``began``
        earlier): they span its firings of one execution, the latest (never the time the
        run was stopped)."""
        rt = self.rt
        epoch = bisect_right(self.starts, ts)
        if self._epoch.get(i) != epoch:
            self._epoch[i] = epoch
            rt.started[i] = began or ts
        rt.finished[i] = ts

    def _unrouted(self, i: int, fid: str, d: dict[str, Any], ts: float) -> Firing | None:
        """A record no routed message led to: a ticker's emission, or a group a join closed
        because its ports went quiet. Any other (downstream of a firing that runs again,
        or of an earlier definition) is not applied: ``None``."""
        rt = self.rt
        if i in rt.ticks:
            rt.ticks[i] += 1
            if self.tick_base is None:
                self.tick_base = ts
            return Firing(i, fid, d.get("in"))
        live = d.get("live")
        if live is not None and i in rt.joins and i not in self._tainted:
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
            return found
        return None

    def _downstream_joins(self) -> set[int]:
        """Joins a firing that runs again can reach: a group they closed early may
        have lacked its tokens, so it is not taken from the journal."""
        if not self.rerun:
            return set()
        rt = self.rt
        again = {i for i, name in enumerate(rt.names) if name in self.rerun}
        return {j for j in rt.joins
                if any(again & feeders for feeders in rt.w.feeders[j].values())}
