"""Imports every built-in graph component, so each registers itself."""

from jobweave.components import barrier, iterator, modify, router, ticker  # noqa: F401
