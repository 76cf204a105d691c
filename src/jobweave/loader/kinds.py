"""Every kind of definition file, as one pydantic union tagged by the file's ``kind``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import Discriminator, Tag

from jobweave.loader.graph_spec import GraphFile
from jobweave.loader.spec import BatchFile, FlowFile, ScheduleFile
from jobweave.loader.spec_items import SpecModel

KINDS = {"batch": "batch-file", "schedule": "schedule-file", "flow": "flow-file",
         "graph": "graph-file"}
"""The ``kind`` of a file → the tag pydantic reports it under."""

KIND_TAGS: frozenset[str] = frozenset(KINDS.values())
"""Tags of the top-level union of file kinds; the loader strips them from error locations."""

FILE_KIND_ERROR = "file_kind"
"""The error type of a ``kind`` that is none of :data:`KINDS`."""


def file_kind(value: Any) -> str | None:
    """The tag of the file kind ``value`` holds (None for an unknown ``kind``).

    Anything but a mapping is taken for a batch file, whose model reports what is wrong.
    """
    if not isinstance(value, dict):
        return KINDS["batch"]
    kind = value.get("kind", "batch")
    return KINDS.get(kind) if isinstance(kind, str) else None


if TYPE_CHECKING:
    DefinitionFile: TypeAlias = Union[BatchFile, ScheduleFile, FlowFile, GraphFile]  # noqa: UP007
else:
    DefinitionFile = Annotated[
        Union[  # noqa: UP007
            Annotated[BatchFile, Tag(KINDS["batch"])],
            Annotated[ScheduleFile, Tag(KINDS["schedule"])],
            Annotated[FlowFile, Tag(KINDS["flow"])],
            Annotated[GraphFile, Tag(KINDS["graph"])],
        ],
        Discriminator(file_kind, custom_error_type=FILE_KIND_ERROR,
                      custom_error_message="unknown kind of definition file"),
    ]
"""Every kind of definition file."""

KIND_MODELS: dict[str, type[SpecModel]] = {
    KINDS["batch"]: BatchFile, KINDS["schedule"]: ScheduleFile, KINDS["flow"]: FlowFile,
    KINDS["graph"]: GraphFile,
}
"""Kind tag → model, to name the allowed top-level fields when an unknown one shows up."""
