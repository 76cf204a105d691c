"""Build a :class:`~jobweave.model.Flow` from a validated ``kind: flow`` file.

Steps become jobs (as in batch files, plus ``when`` and ``continue_on_failure``) and
child flows, inline or read from another flow file relative to this one. Expressions
(``filter``, ``order_by``, ``when``) are compiled here, so a syntax error is reported at
its line before anything runs; ``filter`` and ``order_by`` become small callables that
evaluate the compiled expression against ``{"element": element}``. A flow file that
refers back to itself, directly or through others, is refused at the reference.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobweave import expr
from jobweave.errors import DefinitionError
from jobweave.loader.file_triggers import file_triggers
from jobweave.loader.limits import MAX_FLOW_STEPS
from jobweave.loader.problems import first_of
from jobweave.loader.source import Document, Loc, read_document, render_loc
from jobweave.loader.spec import FlowFile
from jobweave.loader.spec_flow import ChildFlow, FlowPythonJob, FlowShellJob, InlineFlow
from jobweave.model import Flow, Job, flow, job, shell, sleep
from jobweave.model.flow import Locate
from jobweave.model.params import params_problem

Validate = Callable[[Document], Any]
"""Checks a parsed document against the file format (passed in: no import cycle)."""


@dataclass(slots=True)
class _Load:
    """What one load of a flow file shares across the files it reads."""

    files: dict[str, Flow] = field(default_factory=dict)
    """Flow files built so far, by absolute path: each file is read once."""
    sizes: dict[int, int] = field(default_factory=dict)
    """id of a built flow → its job steps with every child flow expanded."""


def build_flow(spec: FlowFile, doc: Document, validate: Validate,
               stack: tuple[str, ...] = (), load: _Load | None = None) -> Flow:
    """The flow a validated file describes; ``stack`` holds the files that refer to it."""
    here = (*stack, os.path.abspath(doc.path))
    if not stack and spec.elements is None:
        raise doc.error("a flow file run on its own needs elements", ())
    builder = _FlowBuilder(doc, validate, here, _Load() if load is None else load)
    return builder.flow(spec, (), spec.concurrency, file_triggers(spec.triggers, doc))


class _Gathered(Exception):
    """An inline child flow's steps had problems: they wait in the builder's list."""


class _FlowBuilder:
    def __init__(self, doc: Document, validate: Validate, stack: tuple[str, ...],
                 load: _Load) -> None:
        self.doc = doc
        self.load = load
        self.sizes = load.sizes
        self.validate = validate
        self.stack = stack
        self.base_dir = os.path.dirname(os.path.abspath(doc.path))
        self.problems: list[DefinitionError] = []
        """The steps' problems found so far, over the whole file and its inline flows."""

    def flow(self, spec: FlowFile | InlineFlow, loc: Loc, concurrency: int | None = None,
             triggers: tuple[Any, ...] = ()) -> Flow:
        steps = []
        for k, step in enumerate(spec.steps):  # every step's problems, before any is raised
            try:
                steps.append(self._step(step, (*loc, "steps", k)))
            except _Gathered:
                pass
            except DefinitionError as exc:
                if exc.path != self.doc.path:
                    raise  # another file's problem: that file was read once, and failed
                self.problems.append(exc)
        if self.problems:
            if loc:
                raise _Gathered  # an inline child flow: the file's top flow raises them
            raise first_of(self.problems)
        # checked before the flow is made: a file reused many times over must not cost
        # time or memory exponential in its size (shared child flows are counted each use)
        size = sum(self.sizes.get(id(s), 1) for s in steps)
        if size > MAX_FLOW_STEPS:
            raise self.doc.error(f"the flow has more than {MAX_FLOW_STEPS} steps once its "
                                 "child flows are expanded", (*loc, "steps"))
        elements: Any = spec.elements
        if isinstance(elements, str):
            elements = self._path(elements)
        elif elements is not None:
            elements = [e if isinstance(e, str) else e.model_dump() for e in elements]
        try:
            made = flow(steps, elements=elements, mode=spec.mode, name=spec.name,
                        filter=self._predicate(spec.filter, (*loc, "filter")),
                        order_by=self._predicate(spec.order_by, (*loc, "order_by")),
                        reverse=spec.reverse, concurrency=concurrency,
                        continue_on_failure=spec.continue_on_failure, triggers=triggers,
                        locate=self._locator(loc))
        except DefinitionError as exc:
            if exc.path is not None:
                raise
            raise self._at(exc, loc, spec) from None
        self.sizes[id(made)] = size
        return made

    def _locator(self, loc: Loc) -> Locate:
        """Points an error found in a step's field when the run is created (a template
        that fails for an element) at that field's line in this file."""
        doc = self.doc

        def locate(exc: DefinitionError, k: int, part: tuple[str, ...]) -> DefinitionError:
            return doc.error(exc.message, (*loc, "steps", k, *part))

        return locate

    def _at(self, exc: DefinitionError, loc: Loc, spec: Any) -> DefinitionError:
        """``exc`` located in this file: at the field it names, if the spec has one."""
        head = (exc.field or "").split(".")[1] if "." in (exc.field or "") else ""
        key = head.split("[")[0]
        index = head[len(key) + 1:-1] if "[" in head else ""
        where: Loc = loc
        if key in type(spec).model_fields:
            where = (*loc, key, *([int(index)] if index.isdigit() else []))
        return self.doc.error(exc.message, where)

    # -- steps ------------------------------------------------------------------------------

    def _step(self, step: Any, loc: Loc) -> Job | Flow:
        if isinstance(step, ChildFlow):
            if isinstance(step.flow, InlineFlow):
                return self.flow(step.flow, (*loc, "flow"))
            return self._file(step.flow, (*loc, "flow"))
        if step.when is not None:
            self._compile(step.when, (*loc, "when"))
        options: dict[str, Any] = {"name": step.name, "tags": step.tags, "after": [],
                                   "when": step.when,
                                   "continue_on_failure": step.continue_on_failure,
                                   "queue": step.queue}
        try:
            if step.after:
                raise DefinitionError("a flow orders its steps itself: after is not used in "
                                      "flows", field="step.after")
            if isinstance(step, (FlowPythonJob, FlowShellJob)):
                options.update(retries=step.retries, retry_delay=step.retry_delay,
                               backoff=step.backoff, timeout=step.timeout,
                               run_anyway=step.run_anyway)
            if isinstance(step, FlowPythonJob):
                return job(self._target(step, loc), params=step.params,
                           execute_when_recovering=step.execute_when_recovering, **options)
            if isinstance(step, FlowShellJob):
                return shell(step.shell, cwd=self._path(step.cwd), env=step.env, **options)
            del options["continue_on_failure"]
            return sleep(step.sleep, **options)
        except DefinitionError as exc:
            if exc.path is not None:
                raise
            raise self._at(exc, loc, step) from None

    def _target(self, step: FlowPythonJob, loc: Loc) -> str:
        from jobweave import refs

        module, _, attr = step.target.rpartition(":")
        ref = f"{self._path(module)}:{attr}" if refs.is_file(module) else step.target
        try:
            fn = refs.resolve_callable(ref)
        except DefinitionError as exc:
            raise self.doc.error(exc.message, (*loc, "target")) from None
        problem = params_problem(fn, step.params)
        if problem is not None:
            message, unknown = problem
            raise self.doc.error(message, (*loc, "params", *([unknown] if unknown else [])))
        return ref

    def _file(self, path: str, loc: Loc) -> Flow:
        full = os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(path)))
        if full in self.stack:
            chain = " -> ".join(os.path.basename(p) for p in (*self.stack, full))
            raise self.doc.error(f"the flow file refers back to itself ({chain})", loc)
        done = self.load.files.get(full)
        if done is not None:
            return done
        try:
            doc = read_document(full)
        except DefinitionError as exc:
            raise self.doc.error(f"{path}: {exc.message}", loc) from None
        spec = self.validate(doc)
        if not isinstance(spec, FlowFile):
            raise self.doc.error(f"{path} is not a flow file (it needs 'kind: flow')", loc)
        made = build_flow(spec, doc, self.validate, self.stack, self.load)
        self.load.files[full] = made
        return made

    # -- expressions ------------------------------------------------------------------------

    def _compile(self, text: str, loc: Loc) -> Any:
        field = render_loc(loc)
        try:
            if expr.is_template(text):
                return expr.compile_template(text, field=field)
            return expr.compile_expression(text, field=field)
        except DefinitionError as exc:
            raise self.doc.error(exc.message, loc) from None

    def _predicate(self, text: str | None, loc: Loc) -> Callable[[Any], Any] | None:
        if text is None:
            return None
        compiled = self._compile(text, loc)
        doc, line, field = self.doc.path, self.doc.line(loc), render_loc(loc)
        templated = isinstance(compiled, expr.Template)

        def predicate(element: dict[str, Any]) -> Any:
            variables = {"element": element}
            try:
                if templated:
                    return compiled.render(variables)
                return compiled.evaluate(variables)
            except DefinitionError as exc:
                raise DefinitionError(f"{exc.message} on element {element.get('name')!r}",
                                      path=doc, line=line, field=field) from None

        predicate.__qualname__ = f"{field}={text!r}"
        return predicate

    def _path(self, path: str | None) -> str | None:
        if path is None:
            return None
        return os.path.normpath(os.path.join(self.base_dir, os.path.expanduser(path)))
