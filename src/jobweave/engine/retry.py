"""The one place that decides how long a faulted job waits before its next attempt."""

from __future__ import annotations

import math

MAX_RETRY_DELAY = 3600.0
"""No single wait between attempts is longer than an hour, whatever the backoff."""


def retry_delay(delay: float, backoff: float, attempt: int) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): delay × backoff^(attempt-1),
    capped at ``MAX_RETRY_DELAY`` (computed so that a large attempt never overflows)."""
    if delay <= 0:
        return 0.0
    if backoff > 1 and (attempt - 1) * math.log(backoff) >= math.log(MAX_RETRY_DELAY / delay):
        return MAX_RETRY_DELAY
    return float(min(delay * backoff ** (attempt - 1), MAX_RETRY_DELAY))


RECOVERY_ATTEMPTS = 3
"""Deaths of its process a job survives at least (retries=0 included): an outside kill
that happens to catch a job running is not the job's fault."""


def lost_limit(retries: int) -> int:
    """Interrupted (or lost) attempts after which a job is faulted instead of run again."""
    return max(retries + 1, RECOVERY_ATTEMPTS)
