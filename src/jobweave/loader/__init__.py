"""Definition files and targets → model objects, with errors that name file, line and field.

* :func:`load_file` reads a YAML or JSON definition file (a batch, a schedule or a flow).
* :func:`load_target` loads what ``jobweave run TARGET`` names: a definition file, or a
  batch, schedule, job, list of jobs or zero-argument function in a Python file or module.
* :func:`json_schema` describes the file format.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobweave.loader.file import load_file
    from jobweave.loader.schema import json_schema
    from jobweave.loader.target import load_target

__all__ = ["json_schema", "load_file", "load_target"]

_HOMES = {"load_file": "jobweave.loader.file", "json_schema": "jobweave.loader.schema",
          "load_target": "jobweave.loader.target"}


def __getattr__(name: str) -> Any:
    """Load on first use: a ``module:name`` target needs none of the file format's models
    (pydantic), which cost a start-up of their own."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jobweave.loader' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
