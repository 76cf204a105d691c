"""The definition file format, as pydantic models: validation and the JSON Schema.

A file holds one top-level mapping whose ``kind`` says what it defines:

* ``batch`` (the default): a run name, a concurrency limit and a list of ``jobs``;
* ``schedule``: a run name, a concurrency limit and an ordered list of ``batches``, each
  with its own ``jobs`` (and an optional label and ``continue_on_failure``);
* ``flow``: ``steps`` (jobs and child flows) applied to ``elements`` in a ``mode``.

The items of ``jobs`` lists are in :mod:`jobweave.loader.spec_items`, a flow's steps and
elements in :mod:`jobweave.loader.spec_flow`. These models only describe and check the
*shape* of a file. Names, references between jobs and ``module:function`` targets are
checked by :mod:`jobweave.loader.build`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, Union

from pydantic import ConfigDict, Discriminator, Field, Tag, WithJsonSchema

from jobweave.loader.spec_flow import FlowShape
from jobweave.loader.spec_items import Item, Name, SpecModel

KINDS = {"batch": "batch-file", "schedule": "schedule-file", "flow": "flow-file"}
"""The ``kind`` of a file → the tag pydantic reports it under."""

KIND_TAGS: frozenset[str] = frozenset(KINDS.values())
"""Tags of the top-level union of file kinds; the loader strips them from error locations."""

FILE_KIND_ERROR = "file_kind"
"""The error type of a ``kind`` that is none of :data:`KINDS`."""

_FILE_NAME = "The run's name (shown in listings)."
_CONCURRENCY = ("How many jobs run at once, unless the caller says otherwise "
                "(e.g. `jobweave run --concurrency`).")
_SCHEMA = "The JSON Schema this file follows (for editors); ignored by jobweave."
_TRIGGERS = ("When `jobweave serve` starts a run of this file: each entry has one of `cron`, "
             "`every`, `at` (see docs/triggers.md). Not part of the run's definition.")
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


class BatchFile(SpecModel):
    """A file of ``kind: batch``: jobs (and nested lists and groups) run concurrently."""

    model_config = ConfigDict(title="Batch file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["batch"] = Field("batch", description="What the file defines (the default).")
    name: Name | None = Field(None, description=_FILE_NAME)
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    jobs: list[Item] = Field(min_length=1, description=(
        "The jobs; items may be nested lists and groups, which are flattened."))
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)


class ScheduleBatch(SpecModel):
    """One batch of a schedule: its jobs run concurrently once the batch before completed."""

    name: Name | None = Field(None, description=(
        "A label for the batch; also a name that stands for every job of the batch in "
        "`after` and `output`."))
    continue_on_failure: bool = Field(False, description=(
        "Start the next batch even if a job of this one did not complete."))
    jobs: list[Item] = Field(min_length=1, description=(
        "The batch's jobs; `after` and `output` may name jobs of this or earlier batches."))


class ScheduleFile(SpecModel):
    """A file of ``kind: schedule``: batches that run one after another."""

    model_config = ConfigDict(title="Schedule file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["schedule"] = Field(description="What the file defines.")
    name: Name | None = Field(None, description=_FILE_NAME)
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    batches: list[ScheduleBatch] = Field(min_length=1, description=(
        "The batches, in the order they run; job names are unique across all of them."))
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)

class FlowFile(FlowShape):
    """A file of ``kind: flow``: steps applied to elements, serially or in parallel."""

    model_config = ConfigDict(title="Flow file")

    schema_: str | None = Field(None, alias="$schema", description=_SCHEMA)
    kind: Literal["flow"] = Field(description="What the file defines.")
    concurrency: int | None = Field(None, ge=1, description=_CONCURRENCY)
    triggers: list[TriggerData] = Field(default_factory=list, description=_TRIGGERS)


def file_kind(value: Any) -> str | None:
    """The tag of the file kind ``value`` holds (None for an unknown ``kind``).

    Anything but a mapping is taken for a batch file, whose model reports what is wrong.
    """
    if not isinstance(value, dict):
        return KINDS["batch"]
    kind = value.get("kind", "batch")
    return KINDS.get(kind) if isinstance(kind, str) else None


if TYPE_CHECKING:
    DefinitionFile: TypeAlias = Union[BatchFile, ScheduleFile, FlowFile]  # noqa: UP007
else:
    DefinitionFile = Annotated[
        Union[  # noqa: UP007
            Annotated[BatchFile, Tag(KINDS["batch"])],
            Annotated[ScheduleFile, Tag(KINDS["schedule"])],
            Annotated[FlowFile, Tag(KINDS["flow"])],
        ],
        Discriminator(file_kind, custom_error_type=FILE_KIND_ERROR,
                      custom_error_message="unknown kind of definition file"),
    ]
"""Every kind of definition file."""

KIND_MODELS: dict[str, type[SpecModel]] = {
    KINDS["batch"]: BatchFile, KINDS["schedule"]: ScheduleFile, KINDS["flow"]: FlowFile,
}
"""Kind tag → model, to name the allowed top-level fields when an unknown one shows up."""

BatchFile.model_rebuild()
ScheduleBatch.model_rebuild()
ScheduleFile.model_rebuild()
FlowFile.model_rebuild()
