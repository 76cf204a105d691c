"""The ``triggers:`` list of a definition file → trigger objects, errors naming the line."""

from __future__ import annotations

from typing import Any

from jobweave.errors import DefinitionError
from jobweave.loader.source import Document
from jobweave.triggers import Trigger, trigger_from_data


def file_triggers(entries: list[dict[str, Any]], doc: Document) -> tuple[Trigger, ...]:
    """Each entry read with :func:`trigger_from_data`; a bad one is reported at its line."""
    out: list[Trigger] = []
    for k, entry in enumerate(entries):
        try:
            out.append(trigger_from_data(entry, field=f"triggers[{k}]"))
        except DefinitionError as exc:
            key = (exc.field or "").rpartition(".")[2]
            at: tuple[str | int, ...] = ("triggers", k)
            if isinstance(entry, dict) and key in entry:
                at = (*at, key)
            raise DefinitionError(exc.message, path=doc.path, line=doc.line(at),
                                  field=exc.field or f"triggers[{k}]") from None
    return tuple(out)
