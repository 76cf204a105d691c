"""Schema 3: the served triggers' table.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.triggers()
