"""Schema 5: pausing a trigger, asking it to fire now.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.trigger_controls(batch=False)
