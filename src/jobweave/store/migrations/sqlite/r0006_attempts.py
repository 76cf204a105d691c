"""Schema 6: remote attempts and runs.control_by.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from jobweave.store.migrations import steps

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    steps.attempts(batch=True)
