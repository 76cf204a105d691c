"""``modify`` and ``log``: emit the message (the edge's ``data`` already reshaped it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jobweave.components.node import OUT, Component, Emitted, register
from jobweave.secrets import Secrets

log = logging.getLogger("jobweave.graph")


@register("modify")
class Modify(Component):
    """Emits its input on ``out``: the incoming edge's ``data`` did the work."""


@register("log")
class Log(Component):
    """Logs the message on the ``jobweave.graph`` logger and emits it on ``out``."""

    settings_names = frozenset({"level"})

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        level = self.settings.get("level", "info")
        if level not in ("debug", "info", "warning", "error"):
            raise self.error("level", f"must be debug, info, warning or error, got {level!r}")
        self.level = getattr(logging, str(level).upper())

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        if log.isEnabledFor(self.level):
            text = repr(msg)
            secrets = env.get("secrets")
            if isinstance(secrets, Secrets):
                text = secrets.mask(text)
            log.log(self.level, "%s: %s", self.node, text)
        return [(OUT, msg)]
