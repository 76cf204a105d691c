"""Checking a migration: the rows loaded into the target against the source's."""

from __future__ import annotations

import jobweave as jw


def compare(counts: list[int], source: dict[str, int], tables: list[str],
            strict: bool = False) -> dict[str, int]:
    """Compare the rows loaded (``counts``, one per table of ``tables``, as
    ``migration.tables:load`` returns them) with the source's (``source``, as
    ``migration.engines:setup`` returns it); return each differing table's difference.
    With ``strict``, a difference faults the job."""
    diff = {t: n - source[t] for t, n in zip(tables, counts, strict=True) if n != source[t]}
    if diff and strict:
        raise jw.JobFailure(f"row counts differ from the source: {diff}")
    return diff
