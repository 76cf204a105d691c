"""Load a YAML or JSON definition file into a model object."""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from jobweave.loader.build import build
from jobweave.loader.flow_build import build_flow
from jobweave.loader.graph_build import build_graph
from jobweave.loader.graph_spec import GraphFile
from jobweave.loader.kinds import DefinitionFile
from jobweave.loader.problems import to_definition_error
from jobweave.loader.source import Document, read_document
from jobweave.loader.spec import FlowFile
from jobweave.model import Batch, Flow, Graph, Schedule

_ADAPTER: TypeAdapter[DefinitionFile] = TypeAdapter(DefinitionFile)


def load_file(path: str) -> Batch | Schedule | Flow | Graph:
    """Load a ``.yaml``/``.yml``/``.json`` definition file.

    A file of ``kind: batch`` (the default) gives a :class:`~jobweave.model.Batch`, one of
    ``kind: schedule`` a :class:`~jobweave.model.Schedule`, one of ``kind: flow`` a
    :class:`~jobweave.model.Flow` (see docs/flows.md), one of ``kind: graph`` a
    :class:`~jobweave.model.Graph` (see docs/graphs.md); the file's ``name`` and
    ``concurrency`` travel with it, so ``jobweave.run(load_file(path))`` uses them.
    Every problem raises :class:`~jobweave.errors.DefinitionError` with the file, the
    1-based line and the field (``jobs[2].retries``).
    """
    doc = read_document(path)
    spec = validate(doc)
    if isinstance(spec, FlowFile):
        return build_flow(spec, doc, validate)
    if isinstance(spec, GraphFile):
        return build_graph(spec, doc)
    return build(spec, doc)


def validate(doc: Document) -> DefinitionFile:
    """Check a parsed document against the file format."""
    try:
        return _ADAPTER.validate_python(doc.data)
    except ValidationError as exc:
        raise to_definition_error(exc, doc) from None
