"""What a graph node does: the component interface and the registry of components.

A graph node is a component instance with settings. Settings are checked when the
component is built (:func:`build`), before anything is stored: a bad setting is a
:class:`~jobweave.errors.DefinitionError` naming the node and the field
(``node 'route': settings.rules[0].operator: ...``).

Messages are JSON values. A firing takes one message on an input port and returns what it
emits as ``[(port, message), ...]`` in order. Components marked ``inline`` are pure and
quick (``modify``, ``router``, ``iterator``, ``barrier``, ``log``): the run loop fires them
on its own thread, and firing one again gives the same result. The others (``python``,
``shell``, ``sleep``, ``run_job``) run on an executor like jobs, with retries and
timeouts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from jobweave.errors import DefinitionError, a_or_an, did_you_mean

Emitted = list[tuple[str, Any]]
"""What one firing sends on: ``(output port, message)`` pairs, in order."""

IN, OUT, ERROR = "in", "out", "error"
"""The default input and output ports, and the port every node sends its faults to."""


class Component:
    """Base of every component: one instance per graph node, built from its settings.

    Subclasses set ``kind`` and override what differs. ``fire`` gets the message (after
    the edge's ``data`` was applied) and ``env``: the run's ``input`` and ``secrets``
    (read only; for expressions).
    """

    kind: ClassVar[str] = ""
    inline: ClassVar[bool] = True
    """Fired on the run loop's thread: pure, quick, and safe to fire again."""
    joins: ClassVar[bool] = False
    """Fires once per group of messages (the barrier) rather than once per message."""
    source: ClassVar[bool] = False
    """Emits on its own schedule (the ticker) rather than when a message arrives."""
    settings_names: ClassVar[frozenset[str]] = frozenset()
    """The settings this component accepts; any other name is a definition error."""

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        self.node = node
        self.settings = dict(settings)
        unknown = sorted(set(self.settings) - self.settings_names)
        if unknown:
            known = ", ".join(sorted(self.settings_names)) or "none"
            hint = did_you_mean(unknown[0], self.settings_names)
            raise self.error(unknown[0],
                             f"unknown setting ({a_or_an(self.kind)} takes: {known}){hint}")

    def error(self, field: str, message: str) -> DefinitionError:
        """A definition error naming this node and ``settings.FIELD``."""
        return DefinitionError(message, field=f"node {self.node!r}: settings.{field}")

    def in_ports(self) -> tuple[str, ...] | None:
        """The input ports, or ``None`` when any name is accepted (the barrier's 0..n)."""
        return (IN,)

    def out_ports(self) -> tuple[str, ...]:
        """The output ports besides ``error`` (which every node has)."""
        return (OUT,)

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        """The messages one firing emits for ``msg``."""
        return [(OUT, msg)]


_REGISTRY: dict[str, Callable[[str, Mapping[str, Any]], Component]] = {}


def register(kind: str) -> Callable[[type[Component]], type[Component]]:
    """Class decorator: make a component available under ``kind``."""
    def add(cls: type[Component]) -> type[Component]:
        cls.kind = kind
        _REGISTRY[kind] = cls
        return cls
    return add


def kinds() -> tuple[str, ...]:
    """Every registered component kind, sorted."""
    _load_builtins()
    return tuple(sorted(_REGISTRY))


def build(kind: str, node: str, settings: Mapping[str, Any]) -> Component:
    """The component ``kind`` for node ``node``, its settings checked."""
    _load_builtins()
    factory = _REGISTRY.get(kind)
    if factory is None:
        raise DefinitionError(f"unknown component {kind!r} (known: {', '.join(kinds())})",
                              field=f"node {node!r}: component")
    return factory(node, settings)


def _load_builtins() -> None:
    # not "if _REGISTRY": importing one component module directly registers it alone
    from jobweave.components import builtin  # noqa: F401  (registers on first import)


class Group:
    """One group a joining component closed: its index (0, 1, ...) and its tokens as
    ``(input port, message)`` pairs in arrival order."""

    __slots__ = ("index", "tokens")

    def __init__(self, index: int, tokens: list[tuple[str, Any]]) -> None:
        self.index = index
        self.tokens = tokens


class JoinState:
    """What a joining node holds during one run: the tokens of its open groups.

    The runtime feeds every message that reaches the node to :meth:`receive`, in the
    journal's order (so a resumed run rebuilds the same groups), and calls :meth:`close`
    when no message in flight can still reach some of its ports.
    """

    def receive(self, port: str, msg: Any) -> list[Group]:
        """Take one token; return the groups it completed (usually none or one)."""
        raise NotImplementedError

    def close(self, live: frozenset[str]) -> list[Group]:
        """Close the groups that can no longer fill: only the ports in ``live`` can
        still receive tokens (empty when nothing more can arrive at all)."""
        raise NotImplementedError


class Joiner(Component):
    """A component that fires once per group of messages."""

    joins = True

    def connect(self, ports: tuple[str, ...]) -> None:
        """Told at compile time which input ports have edges into them."""
        self.connected = ports

    def new_state(self) -> JoinState:
        raise NotImplementedError

    def fire_group(self, group: Group, env: Mapping[str, Any]) -> Emitted:
        """The messages one closed group emits."""
        raise NotImplementedError
