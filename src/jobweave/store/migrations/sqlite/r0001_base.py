"""Schema 1: runs, jobs, the journal and the version record.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.base()
