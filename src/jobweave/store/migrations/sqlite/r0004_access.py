"""Schema 4: API tokens and the actions log.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.access()
