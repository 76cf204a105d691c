"""Imports every built-in graph component, so each registers itself."""

from jobweave.components import (  # noqa: F401
    barrier,
    children,
    executed,
    iterator,
    modify,
    router,
    ticker,
)
