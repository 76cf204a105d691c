"""``run_job`` / ``run_flow``: run a job, batch, schedule, flow or graph as a child run.

The child is a run of its own in the same store, with its own journal, named after the
graph run and the firing (``RUN.FIRING``): a firing that runs again (a retry, a resume
after a crash) finds its child and resumes it rather than starting another, so the
child's finished jobs are never run twice. The firing emits the child's result token::

    {"name": ..., "run": CHILD_RUN_ID, "status": "completed" | "failed" | ...,
     "outputs": {job: output, ...}, "error": the first job error or null}

which is what a ``barrier`` judges (its default ``evaluate`` is
``msg.status == 'completed'``). A child that fails does not fail the firing: the token
says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobweave import refs
from jobweave.components.executed import Executed
from jobweave.components.node import register
from jobweave.expr import Template, compile_template


@register("run_job")
class RunJob(Executed):
    """Runs ``target`` (a ``module:name`` or ``file.py:name`` reference, or a definition
    file) as a child run; a graph child gets ``input`` (a template over ``msg``)."""

    settings_names = frozenset({"target", "input"})
    ref = "jobweave.api:run_child"
    needs_run = True

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        target = self.settings.get("target")
        if not isinstance(target, str) or not target.strip():
            raise self.error("target", "name what to run: a 'module:name' reference or a "
                                       "definition file")
        self.input: Template = compile_template(self.settings.get("input"),
                                                field=f"node {node!r}: settings.input")

    @property
    def fn(self) -> Any:  # type: ignore[override]
        # resolved on first use: the api layer sits above the components
        return refs.resolve_callable(self.ref)

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        return {"target": self.settings["target"],
                "input": self.input.render({**env, "msg": msg}),
                "child": env["firing"], "store": env["store"]}


register("run_flow")(type("RunFlow", (RunJob,), {"__doc__": RunJob.__doc__}))
