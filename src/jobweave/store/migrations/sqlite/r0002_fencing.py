"""Schema 2: the owner's epoch and the jobs' lost attempts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.fencing(batch=True)
