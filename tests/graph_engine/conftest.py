"""The graph runtime tests register their test-only components (``t_router``,
``t_spread``) by importing :mod:`tests.graph_engine.shapes`."""

from tests.cli.conftest import cli, store  # noqa: F401  (fixtures)
from tests.graph_engine import shapes  # noqa: F401
