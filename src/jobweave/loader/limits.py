"""Limits on definition files, so that input built to exhaust the loader is refused quickly.

A definition is small: a few hundred jobs fit in a few hundred kilobytes. Each limit is
far above what a real file needs and far below what would take seconds or gigabytes to
load. A file over any of them is refused with one line naming the file (and the line and
field where known) before anything is built or stored. docs/definitions.md lists them.
"""

from __future__ import annotations

from jobweave.model.job import MAX_NAME, NAME_PATTERN

__all__ = ["MAX_ALIASES", "MAX_ALIAS_VALUES", "MAX_DEPTH", "MAX_FILE_BYTES", "MAX_FLOW_STEPS",
           "MAX_INT_DIGITS", "MAX_NAME", "MAX_STRING", "NAME_PATTERN"]

MAX_FILE_BYTES = 1024 * 1024
"""Size of a definition file (1 MiB: some 10,000 jobs)."""

MAX_DEPTH = 64
"""Nesting of mappings and lists, counted from the top-level mapping (which is 1)."""

MAX_ALIASES = 1_000
"""YAML aliases (``*name``) in one file."""

MAX_ALIAS_VALUES = 100_000
"""Values that aliases expand to, counted over the whole file (against "billion laughs")."""

MAX_INT_DIGITS = 100
"""Digits of a whole number."""

MAX_STRING = 100_000
"""Characters of one string (a value or a key)."""

MAX_FLOW_STEPS = 10_000
"""Steps of a flow file once its child flows are expanded (each file reference counts as
often as it is made; against flow files that refer to each other many times over)."""
