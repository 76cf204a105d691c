"""``barrier``: waits for groups of tokens (job results), judges each group, and sends
it on to port ``0`` (succeeded) or ``1`` (failed). CloverETL's Barrier, plus quorums.

Input ports are ``0``, ``1``, ... ``n`` (any number; ``0`` need not be connected).
Settings:

- ``grouping`` (default ``tuple``, as in CloverETL): ``all`` makes one group of every
  token, closed when no message in flight can still reach a connected input port;
  ``tuple`` makes group k of
  the k-th token of each connected port, closed when each port has sent its k-th token
  or can send nothing more. A branch that faulted or emitted nothing never leaves the
  barrier waiting: its group is judged with the tokens that arrived (see
  :mod:`~jobweave.components.joins`). A group no token reached emits nothing.
- ``evaluate`` (default ``msg.status == 'completed'``): an expression judging one token,
  with ``msg`` (the token), ``port`` (its input port), ``input`` and ``secrets``. A
  truthy value means the token succeeded; a falsy one, or a failure to evaluate (such as
  a token without ``status``), means it failed.
- ``criteria`` (default ``and``): when a group succeeds: ``and`` every token succeeded;
  ``or`` at least one did; ``{at_least: N}`` at least N did; ``{ratio: r}`` at least the
  fraction r (0 < r <= 1) of the group's tokens did.
- ``output`` (default ``single``): ``single`` emits one token per group: the fields of
  the group's tokens merged (mappings, in input port order, then arrival order: a later
  token's field wins; tokens that are not mappings have no fields to give), and for a
  failed group a ``failed`` field listing the tokens that failed, as
  ``{"port": ..., "msg": ..., "error": ...}`` (``error`` only when ``evaluate`` itself
  failed), so a graph can re-run just those. ``all`` emits each token of the group as
  it came, in input port order, then arrival order.

Ports: in ``0`` … ``n``; out ``0`` (successful groups) and ``1`` (failed groups). A
token sent to an output port with no edge is dropped, as in CloverETL.

CloverETL's defaults are kept: ``tuple``, ``and``, ``single``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobweave.components import checks
from jobweave.components.joins import AllTokens, Tuples
from jobweave.components.node import Emitted, Group, Joiner, JoinState, register
from jobweave.errors import ComponentError, DefinitionError

SUCCEEDED, FAILED = "0", "1"
"""The output ports of successful and of failed groups."""
DEFAULT_EVALUATE = "msg.status == 'completed'"

Criteria = Callable[[int, int], bool]
"""(tokens that succeeded, tokens in the group) -> whether the group succeeded."""


def is_port(name: str) -> bool:
    """Whether ``name`` is a barrier input port: a whole number written plainly
    (``0``, ``12``; not ``-1``, ``01`` or ``x``)."""
    return name.isascii() and name.isdigit() and (name == "0" or not name.startswith("0"))


@register("barrier")
class Barrier(Joiner):
    """Judges groups of tokens (module doc)."""

    settings_names = frozenset({"grouping", "evaluate", "criteria", "output"})

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        self.grouping = self._choice("grouping", ("tuple", "all"))
        self.output = self._choice("output", ("single", "all"))
        self.evaluate = checks.expression(self, "evaluate",
                                          self.settings.get("evaluate", DEFAULT_EVALUATE))
        self.criteria = self._criteria(self.settings.get("criteria", "and"))

    def in_ports(self) -> tuple[str, ...] | None:
        return None

    def out_ports(self) -> tuple[str, ...]:
        return (SUCCEEDED, FAILED)

    def connect(self, ports: tuple[str, ...]) -> None:
        where = f"node {self.node!r}: edges"
        for port in ports:
            if not is_port(port):
                raise DefinitionError(f"a barrier's input ports are numbers 0, 1, 2 ...; "
                                      f"not {port!r}", field=where)
        if not ports:
            raise DefinitionError("a barrier needs at least one incoming edge", field=where)
        super().connect(tuple(sorted(set(ports), key=int)))

    def new_state(self) -> JoinState:
        connected = getattr(self, "connected", None)
        if not connected:
            raise ComponentError(f"barrier {self.node!r} was not connected (call connect "
                                 "with its input ports first)")
        return Tuples(connected) if self.grouping == "tuple" else AllTokens(connected)

    def fire_group(self, group: Group, env: Mapping[str, Any]) -> Emitted:
        if not group.tokens:
            return []  # a group no token reached is not judged (never made by joins.py)
        ordered = [token for _, token in sorted(enumerate(group.tokens),
                                                key=lambda t: (int(t[1][0]), t[0]))]
        failed = []
        for port, msg in ordered:
            try:
                ok = bool(checks.evaluate(self.evaluate, msg, env, port=port))
                error = None
            except ComponentError as exc:
                ok, error = False, str(exc)
            if not ok:
                failed.append({"port": port, "msg": msg} |
                              ({} if error is None else {"error": error}))
        succeeded = self.criteria(len(ordered) - len(failed), len(ordered))
        out = SUCCEEDED if succeeded else FAILED
        if self.output == "all":
            return [(out, msg) for _, msg in ordered]
        merged: dict[str, Any] = {}
        for _, msg in ordered:
            if isinstance(msg, Mapping):
                merged.update(msg)
        if not succeeded:
            merged["failed"] = failed
        return [(out, merged)]

    # -- settings ---------------------------------------------------------------------
    def _choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.settings.get(name, choices[0])
        if value not in choices:
            raise self.error(name, f"must be {' or '.join(choices)}, not {value!r}")
        return str(value)

    def _criteria(self, value: Any) -> Criteria:
        if value == "and":
            return lambda ok, total: ok == total
        if value == "or":
            return lambda ok, total: ok > 0
        if isinstance(value, Mapping) and len(value) == 1:
            (key, number), = value.items()
            if key == "at_least":
                if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                    raise self.error("criteria.at_least",
                                     f"must be a whole number >= 1, not {number!r}")
                return lambda ok, total: ok >= number
            if key == "ratio":
                if isinstance(number, bool) or not isinstance(number, int | float) \
                        or not 0 < number <= 1:
                    raise self.error("criteria.ratio",
                                     f"must be a number above 0 and at most 1, not {number!r}")
                return lambda ok, total: ok / total >= number
        raise self.error("criteria", "must be and, or, {at_least: N} or {ratio: R}, "
                                     f"not {value!r}")
