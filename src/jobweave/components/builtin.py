"""Imports every built-in graph component, so each registers itself."""

from jobweave.components import (
    executed,  # noqa: F401
    modify,  # noqa: F401
)
