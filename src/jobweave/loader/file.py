"""Load a YAML or JSON definition file into a model object."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from jobweave.loader.build import build
from jobweave.loader.flow_build import build_flow
from jobweave.loader.problems import to_definition_error
from jobweave.loader.source import Document, read_document
from jobweave.loader.spec import DefinitionFile, FlowFile
from jobweave.model import Batch, Flow, Schedule

_ADAPTER: TypeAdapter[DefinitionFile] = TypeAdapter(DefinitionFile)


def load_file(path: str) -> Batch | Schedule | Flow:
    """Load a ``.yaml``/``.yml``/``.json`` definition file.

    A file of ``kind: batch`` (the default) gives a :class:`~jobweave.model.Batch`, one of
    ``kind: schedule`` a :class:`~jobweave.model.Schedule`, one of ``kind: flow`` a
    :class:`~jobweave.model.Flow` (see docs/flows.md); the file's ``name`` and
    ``concurrency`` travel with it, so ``jobweave.run(load_file(path))`` uses them.
    Every problem raises :class:`~jobweave.errors.DefinitionError` with the file, the
    1-based line and the field (``jobs[2].retries``).
    """
    doc = read_document(path)
    spec = validate(doc)
    if isinstance(spec, FlowFile):
        return build_flow(spec, doc, validate)
    return build(spec, doc)


def validate(doc: Document) -> DefinitionFile:
    """Check a parsed document against the file format."""
    try:
        return _ADAPTER.validate_python(doc.data)
    except ValidationError as exc:
        raise to_definition_error(exc, doc) from None
