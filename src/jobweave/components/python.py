"""The python job: call a function; it gets a context if it declares one."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def wants_context(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` declares a parameter named ``context`` (or takes ``**kwargs``
    and is marked ``fn.jobweave_context = True``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if "context" in params:
        return True
    return bool(getattr(fn, "jobweave_context", False))
