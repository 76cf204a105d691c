"""Components that run on an executor, as jobs do: ``python``, ``shell``, ``sleep``.

Each names the callable an executor runs (``ref``, so a worker process can load it), the
keyword arguments a firing passes it for a message, and what the firing emits from its
return value. Jobs of the same kinds (``jw.shell``, ``jw.sleep``) run the same callables,
from :mod:`jobweave.components.runners`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from jobweave import refs
from jobweave.components.node import OUT, Component, Emitted, register
from jobweave.components.runners import RUNNERS
from jobweave.errors import DefinitionError
from jobweave.expr import Template, compile_template


class Executed(Component):
    """A component whose firings run on the executor, with retries and timeouts."""

    inline = False
    needs_run = False
    """Its arguments need the firing's id and the store (``env["firing"]``,
    ``env["store"]``): a component that starts runs of its own."""
    fn: Callable[..., Any]
    ref: str | None
    """How another process loads ``fn``."""

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of one firing's call."""
        raise NotImplementedError

    def emitted(self, value: Any, msg: Any) -> Emitted:
        """What a firing that returned ``value`` sends on."""
        return [(OUT, value)]


def with_context(value: Any, msg: Any) -> Emitted:
    """``value`` on ``out``, with the incoming message's ``context`` field when it has one
    (as the iterator does): the way a sync id or a page number passes an ``http`` or
    ``sql`` node."""
    if isinstance(msg, Mapping) and "context" in msg and isinstance(value, dict):
        value = {**value, "context": msg["context"]}
    return [(OUT, value)]


@register("python")
class Python(Executed):
    """Calls ``target`` with the message (its first parameter); returns the message to
    emit, or ``None`` to emit nothing. A ``context`` parameter gets the firing's context."""

    settings_names = frozenset({"target"})

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        raw = self.settings.get("target")
        if isinstance(raw, str):
            try:
                self.fn = refs.resolve_callable(raw)
            except DefinitionError as exc:
                raise self.error("target", exc.message) from None
            self.ref = raw
        elif callable(raw):
            self.fn, self.ref = raw, refs.describe(raw)
        else:
            raise self.error("target", "a python node needs a target: a callable or a "
                                       "'module:function' reference")
        self.param = self._message_param()
        self.settings["target"] = self.ref

    def _message_param(self) -> str:
        try:
            params = [p for p in inspect.signature(self.fn).parameters.values()
                      if p.name != "context"
                      and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        except (TypeError, ValueError):
            params = []
        if not params:
            raise self.error("target", "the target must take the message as a parameter")
        return params[0].name

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        return {self.param: msg}

    def emitted(self, value: Any, msg: Any) -> Emitted:
        return [] if value is None else [(OUT, value)]


@register("shell")
class Shell(Executed):
    """Runs ``command`` (a template over ``msg``, ``input``, ``secrets``) in ``/bin/sh``;
    emits ``{returncode, stdout, stderr}``. A non-zero exit fails the firing."""

    settings_names = frozenset({"command", "cwd", "env"})
    fn = staticmethod(RUNNERS["shell"][0])
    ref = RUNNERS["shell"][1]

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        command = self.settings.get("command")
        if not isinstance(command, str) or not command.strip():
            raise self.error("command", "a shell node needs a command")
        self.template: Template = compile_template(self.settings,
                                                   field=f"node {node!r}: settings")

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = self.template.render({**env, "msg": msg})
        return kwargs


@register("sleep")
class Sleep(Executed):
    """Waits ``seconds`` (cancellable), then emits its input."""

    settings_names = frozenset({"seconds"})
    fn = staticmethod(RUNNERS["sleep"][0])
    ref = RUNNERS["sleep"][1]

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        seconds = self.settings.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise self.error("seconds", f"must be a number >= 0, got {seconds!r}")

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        return {"seconds": self.settings["seconds"]}

    def emitted(self, value: Any, msg: Any) -> Emitted:
        return [(OUT, msg)]
