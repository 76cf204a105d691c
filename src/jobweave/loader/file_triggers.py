"""The ``triggers:`` of a definition file → trigger objects, errors naming the line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import WithJsonSchema

from jobweave.errors import DefinitionError
from jobweave.loader.source import Document, Loc, read_document
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
    return tuple(_trigger(doc, entry, ("triggers", k), f"triggers[{k}]")
                 for k, entry in enumerate(entries))


def triggers_in_file(path: str) -> list[tuple[str, Trigger]]:
    """The named triggers of a YAML/JSON file (``jobweave triggers FILE``).

    The file holds ``triggers:`` (a list, or a mapping of name → trigger), as a definition
    file does, or is itself such a list. An entry's name is its ``name``, else its key, else
    ``NAME[K]`` (the definition's name; ``triggers[K]`` in a file without one). A bad entry
    is reported at its line.
    """
    doc = read_document(path)
    top: Loc = ("triggers",) if isinstance(doc.data, Mapping) else ()
    found = doc.data.get("triggers") if top else doc.data
    if isinstance(found, Mapping):
        entries = [(str(k), (*top, k), f"triggers.{k}") for k in found]
    elif isinstance(found, list):
        # a definition's triggers go by its name, as `jobweave serve` logs them
        name = doc.data.get("name") if top else None
        base = name if isinstance(name, str) and name else "triggers"
        entries = [(f"{base}[{k}]", (*top, k), f"triggers[{k}]") for k in range(len(found))]
    else:
        raise DefinitionError("the file needs 'triggers': a list or a mapping of triggers",
                              path=path, line=doc.line(top))
    if not entries:
        raise DefinitionError("the file's 'triggers' is empty", path=path, line=doc.line(top))
    out: list[tuple[str, Trigger]] = []
    for label, loc, field in entries:
        trigger = _trigger(doc, found[loc[-1]], loc, field)
        out.append((trigger.name or label, trigger))
    return out


def _trigger(doc: Document, entry: Any, loc: Loc, field: str) -> Trigger:
    """One entry at ``loc``; a bad one is reported at the line of the key at fault."""
    try:
        return trigger_from_data(entry, field=field)
    except DefinitionError as exc:
        key = (exc.field or "").rpartition(".")[2]
        at = (*loc, key) if isinstance(entry, Mapping) and key in entry else loc
        raise DefinitionError(exc.message, path=doc.path, line=doc.line(at),
                              field=exc.field or field) from None
