"""The one place that decides how long a faulted job waits before its next attempt."""

from __future__ import annotations

MAX_RETRY_DELAY = 3600.0
"""No single wait between attempts is longer than an hour."""


def retry_delay(delay: float, backoff: float, attempt: int) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): delay × backoff^(attempt-1)."""
    return float(min(delay * backoff ** (attempt - 1), MAX_RETRY_DELAY))
