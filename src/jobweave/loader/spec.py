"""The definition file format, as pydantic models: validation and the JSON Schema.

A file holds one top-level mapping whose ``kind`` says what it defines:

* ``batch`` (the default): a run name, a concurrency limit and a list of ``jobs``;
* ``schedule``: a run name, a concurrency limit and an ordered list of ``batches``, each
  with its own ``jobs`` (and an optional label and ``continue_on_failure``);
* ``flow``: ``steps`` (jobs and child flows) applied to ``elements`` in a ``mode``;
* ``graph``: nodes and edges (:mod:`jobweave.loader.graph_spec`).

The union of every kind is in :mod:`jobweave.loader.kinds`.
The items of ``jobs`` lists are in :mod:`jobweave.loader.spec_items`, a flow's steps and
elements in :mod:`jobweave.loader.spec_flow`. These models only describe and check the
*shape* of a file. Names, references between jobs and ``module:function`` targets are
checked by :mod:`jobweave.loader.build`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from jobweave.loader.file_triggers import TriggerData
from jobweave.loader.spec_flow import FlowShape
from jobweave.loader.spec_items import Item, Name, SpecModel

_FILE_NAME = "The run's name (shown in listings)."
_CONCURRENCY = ("How many jobs run at once, unless the caller says otherwise "
                "(e.g. `jobweave run --concurrency`).")
_SCHEMA = "The JSON Schema this file follows (for editors); ignored by jobweave."
_TRIGGERS = ("When `jobweave serve` starts a run of this file: each entry has one of `cron`, "
             "`every`, `at` (see docs/triggers.md). Not part of the run's definition.")


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


BatchFile.model_rebuild()
ScheduleBatch.model_rebuild()
ScheduleFile.model_rebuild()
FlowFile.model_rebuild()
