"""``iterator``: splits a list in the message into batches, one message per batch.

Settings:

- ``array_field`` (default ``array``): where the list is, a dotted path like ``items``
  or ``response.data``;
- ``batch_size`` (default 1, at least 1): items per batch (the last one may be shorter);
- ``emit_index`` (default false): add ``index``, the position of the batch's first item;
- ``emit_progress`` (default false): after each batch, emit its progress on ``progress``;
- ``continue_on_error`` (default false): read by the runtime: a fault downstream of one
  batch does not stop the others.

Each batch goes to ``out`` as ``{"batch": [...], "batch_num": k, "total_batches": n}``
(``k`` from 1), with ``"index": i`` under ``emit_index`` and ``"context": ...`` when the
incoming message has a ``context`` (the same value in every batch). Under
``emit_progress``, each batch is followed on ``progress`` by
``{"batch_num": k, "total_batches": n, "progress": percent, "is_last_batch": bool}``
(``percent`` = 100·k/n rounded to 2 places). An empty list emits nothing at all.

A message that is not a mapping, or has no list at ``array_field``, raises
:class:`~jobweave.errors.ComponentError` (to the node's ``error`` port).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobweave.components import checks
from jobweave.components.node import OUT, Component, Emitted, register
from jobweave.components.values import MISSING, lookup, shown, split_path
from jobweave.errors import ComponentError

PROGRESS = "progress"
"""The port progress messages go to."""


@register("iterator")
class Iterator(Component):
    """Emits a list's items in batches (module doc)."""

    settings_names = frozenset({"array_field", "batch_size", "emit_index", "emit_progress",
                                "continue_on_error"})

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        field = checks.text(self, "array_field", self.settings.get("array_field", "array"))
        path = split_path(field)
        if path is None:
            raise self.error("array_field", f"{field!r} is not a dotted path like 'items' "
                                            "or 'response.data'")
        self.array_field, self.path = field, path
        self.batch_size = checks.whole(self, "batch_size", 1, minimum=1)
        self.emit_index = checks.flag(self, "emit_index", False)
        self.emit_progress = checks.flag(self, "emit_progress", False)
        self.continue_on_error = checks.flag(self, "continue_on_error", False)

    def out_ports(self) -> tuple[str, ...]:
        return (OUT, PROGRESS)

    def fire(self, msg: Any, env: Mapping[str, Any]) -> Emitted:
        items = lookup(msg, self.path) if isinstance(msg, Mapping) else MISSING
        if not isinstance(items, list):
            what = "no such field" if items is MISSING else \
                f"{checks.kind_name(items)} {shown(items)}"
            raise ComponentError(f"iterator needs a list at {self.array_field!r} of the "
                                 f"message, found {what}")
        size = self.batch_size
        total = -(-len(items) // size)
        has_context = "context" in msg
        emitted: Emitted = []
        for k in range(total):
            batch: dict[str, Any] = {"batch": items[k * size:(k + 1) * size],
                                     "batch_num": k + 1, "total_batches": total}
            if self.emit_index:
                batch["index"] = k * size
            if has_context:
                batch["context"] = msg["context"]
            emitted.append((OUT, batch))
            if self.emit_progress:
                emitted.append((PROGRESS, {"batch_num": k + 1, "total_batches": total,
                                           "progress": round(100 * (k + 1) / total, 2),
                                           "is_last_batch": k + 1 == total}))
        return emitted
