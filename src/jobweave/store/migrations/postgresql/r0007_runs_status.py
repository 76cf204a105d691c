"""Schema 7: an index of runs by status.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.runs_status()
