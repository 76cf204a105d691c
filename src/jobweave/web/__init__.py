"""The dashboard and REST API of ``jobweave serve --web``.

Server-rendered pages (Jinja2, a little vanilla JavaScript for live updates over
server-sent events) and a REST API under ``/api/v1``, both calling the same service
functions as the CLI (:mod:`jobweave.api`, the store's reads). Needs the ``web`` extra:
``pip install 'jobweave[web]'``.
"""

from __future__ import annotations

import importlib.util

from jobweave.web.config import WebConfig

REQUIRED = ("fastapi", "uvicorn", "itsdangerous", "multipart")
"""The modules the web extra brings."""
INSTALL_HINT = "pip install 'jobweave[web]'"


def missing_dependencies() -> list[str]:
    """The modules of the web extra that are not installed."""
    return [m for m in REQUIRED if importlib.util.find_spec(m) is None]


__all__ = ["INSTALL_HINT", "WebConfig", "missing_dependencies"]
