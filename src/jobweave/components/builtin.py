"""Imports every built-in graph component, so each registers itself."""

from jobweave.components import (  # noqa: F401
    barrier,
    executed,
    iterator,
    modify,
    router,
    ticker,
)
