"""The JSON Schema of the definition file format, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from jobweave.loader.kinds import DefinitionFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TITLE = "jobweave definition"
SCHEMA_DESCRIPTION = ("A jobweave definition file: a batch of jobs (the default kind), with "
                      "`kind: schedule` batches that run one after another, or with "
                      "`kind: flow` steps applied to a list of elements.")


def json_schema() -> dict[str, Any]:
    """The JSON Schema of definition files (``jobweave schema`` prints it).

    The published copy is ``jobweave/schema/definition.schema.json``; editors that read
    JSON Schema (for YAML too) use it to complete and check files.
    """
    body = TypeAdapter(DefinitionFile).json_schema(by_alias=True, mode="validation")
    return {"$schema": SCHEMA_DIALECT, "title": SCHEMA_TITLE,
            "description": SCHEMA_DESCRIPTION, **body}
