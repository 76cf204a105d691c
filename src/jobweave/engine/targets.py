"""What a job calls: each node's callable, resolved when it first starts and kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobweave import refs
from jobweave.components.python import wants_context
from jobweave.components.runners import runner
from jobweave.errors import DefinitionError
from jobweave.plan.nodes import PlanNode

Target = tuple[Callable[..., Any], str | None, bool]
"""What a job calls, the reference another process loads it by, and whether it wants a
``context`` argument."""


class Targets:
    """Callables by node index, and whether each wants a ``context`` argument.

    References are resolved late, when a job first starts, so a stored reference that no
    longer imports faults that job rather than the whole run.
    """

    __slots__ = ("_by_fn", "_fns", "_wants", "ready")

    def __init__(self, size: int) -> None:
        self._fns: list[Callable[..., Any] | None] = [None] * size
        self._wants: dict[int, bool] = {}
        self.ready: list[Target | None] = [None] * size
        """By node index, once a job of it started: (callable, reference, wants context),
        what :meth:`task_target` returns, so a job's next attempt looks nothing up."""
        self._by_fn: dict[tuple[int, str | None], Target] = {}
        """The same, by the live callable a definition gave and its reference: the jobs
        of a batch usually share a few callables."""

    def task_target(self, node: PlanNode) -> Target:
        """The node's callable, its reference and whether it wants a context, kept.

        Raises :class:`~jobweave.errors.JobweaveError` when the reference does not load.
        """
        hit = self.ready[node.index]
        if hit is None:
            fn = node.fn
            if fn is not None and node.kind == "python":
                key = (id(fn), node.target)
                hit = self._by_fn.get(key)
                if hit is None:
                    hit = self._by_fn[key] = (fn, node.target, self.wants_context(fn))
            else:
                fn, ref = self.resolve(node)
                hit = (fn, ref, self.wants_context(fn))
            self.ready[node.index] = hit
        return hit

    def resolve(self, node: PlanNode) -> tuple[Callable[..., Any], str | None]:
        """The node's callable and the reference another process would load it by.

        Raises :class:`~jobweave.errors.JobweaveError` when the reference does not load.
        """
        if node.kind != "python":
            fixed = runner(node.kind)
            if fixed is not None:
                return fixed
        fn = self._fns[node.index]
        if fn is None:
            fn = node.fn
            if fn is None:
                if node.target is None:
                    raise DefinitionError(f"job {node.name!r} has no importable target")
                fn = refs.resolve_callable(node.target)
            self._fns[node.index] = fn
        return fn, node.target

    def wants_context(self, fn: Callable[..., Any]) -> bool:
        """Whether ``fn`` declares a ``context`` parameter (looked at once per callable)."""
        want = self._wants.get(id(fn))
        if want is None:
            want = self._wants[id(fn)] = wants_context(fn)
        return want
