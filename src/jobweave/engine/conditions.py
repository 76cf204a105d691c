"""``when=``: whether a job runs, decided from its context when it would start."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jobweave import refs
from jobweave.context import Context
from jobweave.errors import DefinitionError
from jobweave.plan.nodes import PlanNode


def condition_of(node: PlanNode) -> Callable[[Context], Any]:
    """The node's condition as a callable on a context.

    Raises :class:`DefinitionError` when it cannot be had in this process (a lambda
    from another process's definition, a reference that no longer imports).
    """
    if node.when_fn is not None:
        fn = node.when_fn
        return lambda ctx: fn(ctx)
    when = node.when or ""
    if when.startswith("="):
        text = when[1:]
        return lambda ctx: evaluate_expression(text, ctx)
    if when.startswith("?"):
        raise DefinitionError(f"the condition of {node.name!r} ({when[1:]}) is not importable "
                              "from another process; give when= a module-level function")
    fn = refs.resolve_callable(when)
    return lambda ctx: fn(ctx)


def variables(ctx: Context) -> dict[str, Any]:
    """What an expression sees of a job's context."""
    return {"element": ctx.element, "elements": list(ctx.elements), "current": ctx.current,
            "first": ctx.first, "last": ctx.last, "run_id": ctx.run_id, "job": ctx.job,
            "attempt": ctx.attempt, "tags": list(ctx.tags)}


def evaluate_expression(text: str, ctx: Context) -> Any:
    """Evaluate ``text`` (``"{{ current == last }}"`` or a bare ``current == last``) in
    the expression sandbox against the context's variables."""
    from jobweave import expr

    if expr.is_template(text):
        return expr.render(text, variables(ctx), field=f"{ctx.job}.when")
    return _compiled(text).evaluate(variables(ctx))


@lru_cache(maxsize=256)
def _compiled(text: str) -> Any:
    from jobweave import expr

    return expr.compile_expression(text, field="when")
