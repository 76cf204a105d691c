"""The ``triggers:`` list of a definition file → trigger objects, errors naming the line."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import WithJsonSchema

from jobweave.errors import DefinitionError
from jobweave.loader.source import Document
from jobweave.triggers import Trigger, trigger_from_data

TRIGGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Trigger",
    "description": "A time trigger: exactly one of cron, every, at, with its options.",
    "properties": {
        "cron": {"type": "string"}, "every": {"type": ["string", "number"]},
        "at": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "tz": {"type": "string"}, "days": {"anyOf": [{"type": "string"}, {
            "type": "array", "items": {"type": "string"}}]},
        "emit_on_start": {"type": "boolean"}, "anchor": {"type": "string"},
        "missed": {"enum": ["skip", "once", "all"]},
        "overlap": {"enum": ["skip", "queue", "allow"]},
        "max_fires": {"type": "integer", "minimum": 0}, "name": {"type": "string"},
    },
    "additionalProperties": False,
}
TriggerData = Annotated[dict[str, Any], WithJsonSchema(TRIGGER_SCHEMA)]
"""One trigger as data; :func:`jobweave.triggers.trigger_from_data` checks it."""


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
