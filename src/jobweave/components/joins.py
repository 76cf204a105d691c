"""How the barrier groups its tokens during a run: ``all`` and ``tuple`` grouping.

Both are pure functions of the sequence of :meth:`receive` and :meth:`close` calls, so a
resumed run that feeds the journal's messages again rebuilds the same groups.

A port that leaves ``live`` in a call to ``close`` is closed for good: no token can
reach it any more. A token that arrives on it all the same (or on a port that is not
connected) is a runtime fault and raises :class:`~jobweave.errors.ComponentError`.
"""

from __future__ import annotations

from typing import Any

from jobweave.components.node import Group, JoinState
from jobweave.errors import ComponentError


class _Ports(JoinState):
    """The connected ports and those closed so far."""

    def __init__(self, connected: tuple[str, ...]) -> None:
        self.connected = connected
        self.dead: set[str] = set()

    def _check(self, port: str) -> None:
        if port not in self.connected:
            raise ComponentError(f"barrier got a token on input port {port!r}, which has no "
                                 f"edge into it (connected: {', '.join(self.connected)})")
        if port in self.dead:
            raise ComponentError(f"barrier got a token on input port {port!r} after the "
                                 "runtime said nothing more could reach it")

    def _closing(self, live: frozenset[str]) -> None:
        self.dead.update(p for p in self.connected if p not in live)


class AllTokens(_Ports):
    """``grouping: all``: one group of every token, closed when no connected port can
    still receive one. With no token at all it never closes."""

    def __init__(self, connected: tuple[str, ...]) -> None:
        super().__init__(connected)
        self.tokens: list[tuple[str, Any]] = []
        self.closed = False

    def receive(self, port: str, msg: Any) -> list[Group]:
        self._check(port)  # once the group closed, every port is closed
        self.tokens.append((port, msg))
        return []

    def close(self, live: frozenset[str]) -> list[Group]:
        self._closing(live)
        if self.closed or not self.tokens or len(self.dead) < len(self.connected):
            return []
        self.closed = True
        tokens, self.tokens = self.tokens, []
        return [Group(0, tokens)]


class Tuples(_Ports):
    """``grouping: tuple``: group k holds the k-th token of each connected port.

    Group k closes when every connected port has either sent its k-th token or been
    closed (left ``live``) without it: a port that can still send its k-th token is
    waited for, a closed one is not. Groups close in index order; a group no token
    reached does not exist, so it never closes.
    """

    def __init__(self, connected: tuple[str, ...]) -> None:
        super().__init__(connected)
        self.counts = dict.fromkeys(connected, 0)
        self.open: dict[int, list[tuple[str, Any]]] = {}

    def receive(self, port: str, msg: Any) -> list[Group]:
        self._check(port)
        index = self.counts[port]
        self.counts[port] = index + 1
        self.open.setdefault(index, []).append((port, msg))
        return self._closable()

    def close(self, live: frozenset[str]) -> list[Group]:
        self._closing(live)
        return self._closable()

    def _closable(self) -> list[Group]:
        done = []
        while self.open:
            index = next(iter(self.open))  # created in index order
            if not all(self.counts[p] > index or p in self.dead for p in self.connected):
                break
            done.append(Group(index, self.open.pop(index)))
        return done
