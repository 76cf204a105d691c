"""Definition files and targets → model objects, with errors that name file, line and field.

* :func:`load_file` reads a YAML or JSON definition file (a batch, a schedule or a flow).
* :func:`load_target` loads what ``jobweave run TARGET`` names: a definition file, or a
  batch, schedule, job, list of jobs or zero-argument function in a Python file or module.
* :func:`json_schema` describes the file format.
"""

from __future__ import annotations

from jobweave.loader.file import load_file
from jobweave.loader.schema import json_schema
from jobweave.loader.target import load_target

__all__ = ["json_schema", "load_file", "load_target"]
