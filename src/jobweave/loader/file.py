"""Load a YAML or JSON definition file into a model object."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from jobweave.loader.build import build
from jobweave.loader.problems import to_definition_error
from jobweave.loader.source import Document, read_document
from jobweave.loader.spec import BatchFile, DefinitionFile
from jobweave.model import Batch


@dataclass(frozen=True, slots=True)
class FileDefinition:
    """A loaded file: the definition plus the run options the file sets."""

    definition: Batch
    """What the file defines (a batch today; schedules later)."""
    concurrency: int | None
    """How many jobs may run at once, when the file says."""
    path: str
    """The file, as it was named."""


def read_file(path: str) -> FileDefinition:
    """Load a definition file with the run options it holds (e.g. ``concurrency``).

    Every problem raises :class:`~jobweave.errors.DefinitionError` with the file, the
    1-based line and the field (``jobs[2].retries``).
    """
    doc = read_document(path)
    spec = validate(doc)
    return FileDefinition(build(spec, doc), spec.concurrency, path)


def load_file(path: str) -> Batch:
    """Load a ``.yaml``/``.yml``/``.json`` definition file into a :class:`~jobweave.Batch`."""
    return read_file(path).definition


def validate(doc: Document) -> DefinitionFile:
    """Check a parsed document against the file format."""
    try:
        return BatchFile.model_validate(doc.data)
    except ValidationError as exc:
        raise to_definition_error(exc, doc) from None
