"""Imports every built-in graph component, so each registers itself."""

from jobweave.components import modify  # noqa: F401
