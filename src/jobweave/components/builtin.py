"""Imports every built-in graph component, so each registers itself."""

from jobweave.components import (  # noqa: F401
    barrier,
    children,
    executed,
    http,
    iterator,
    modify,
    router,
    sql,
    ticker,
)
