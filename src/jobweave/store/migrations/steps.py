"""The schema changes of store revisions 1-7, shared by the two chains.

Each chain's revision calls its step with what its dialect needs: SQLite alters a table
in batch mode (``op.batch_alter_table``: SQLite cannot alter a column in place, so
Alembic copies the table when it must). A later revision that needs more than the
dialect switch here (an index built ``CONCURRENTLY`` on PostgreSQL, say) is written in
its chain alone.

The tables are written out as each revision made them, never taken from ``schema.py``:
a revision is a fixed point in the store's history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def set_version(version: int) -> None:
    """Record ``version`` in ``jobweave_meta``: what an older jobweave reads to refuse a
    store newer than it knows."""
    meta = sa.table("jobweave_meta", sa.column("key"), sa.column("value"))
    op.execute(meta.update().where(meta.c.key == "schema_version")
               .values(value=str(version)))


def add_columns(table: str, columns: list[sa.Column[object]], *, batch: bool) -> None:
    if batch:
        with op.batch_alter_table(table) as alter:
            for column in columns:
                alter.add_column(column)
    else:
        for column in columns:
            op.add_column(table, column)


def base() -> None:
    """Schema 1: runs, jobs, the journal and the version record."""
    op.create_table(
        "jobweave_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "jobweave_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("exit_code", sa.Integer),
        sa.Column("owner", sa.Text),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("control", sa.String(8)),
        sa.Column("parent_run", sa.String(64)))
    op.create_index("jobweave_runs_created", "jobweave_runs", ["created_at"])
    op.create_table(
        "jobweave_jobs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("output", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("tags", sa.Text))
    op.create_table(
        "jobweave_journal",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("node", sa.Text),
        sa.Column("attempt", sa.Integer),
        sa.Column("data", sa.Text))
    op.bulk_insert(sa.table("jobweave_meta", sa.column("key"), sa.column("value")),
                   [{"key": "app", "value": "jobweave"},
                    {"key": "schema_version", "value": "1"}])


def fencing(*, batch: bool) -> None:
    """Schema 2: the owner's epoch (every claim bumps it) and the jobs' lost attempts."""
    add_columns("jobweave_runs", [sa.Column("epoch", sa.Integer, nullable=False,
                                            server_default="0")], batch=batch)
    add_columns("jobweave_jobs", [sa.Column("lost", sa.Integer, nullable=False,
                                            server_default="0")], batch=batch)
    set_version(2)


def triggers() -> None:
    """Schema 3: the served triggers' fires, claimed by one conditional update."""
    op.create_table(
        "jobweave_triggers",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("last_fire", sa.Float),
        sa.Column("fires", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_run", sa.String(64)),
        sa.Column("queued_fire", sa.Float),
        sa.Column("lease_owner", sa.Text),
        sa.Column("lease_until", sa.Float),
        sa.Column("updated_at", sa.Float))
    set_version(3)


def access() -> None:
    """Schema 4: API tokens (hashed) and the actions log of the dashboard."""
    op.create_table(
        "jobweave_tokens",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float))
    op.create_table(
        "jobweave_actions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("job", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("what", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text))
    op.create_index("jobweave_actions_run", "jobweave_actions", ["run_id", "ts"])
    set_version(4)


def trigger_controls(*, batch: bool) -> None:
    """Schema 5: pausing a trigger and asking it to fire now."""
    add_columns("jobweave_triggers", [
        sa.Column("paused", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fire_asked", sa.Float),
        sa.Column("fire_asked_by", sa.Text)], batch=batch)
    set_version(5)


def attempts(*, batch: bool) -> None:
    """Schema 6: attempts handed over to remote workers, and who asked a run's control."""
    add_columns("jobweave_runs", [sa.Column("control_by", sa.Text)], batch=batch)
    op.create_table(
        "jobweave_attempts",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("slot", sa.String(255), primary_key=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("token", sa.String(36)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(255)),
        sa.Column("task", sa.Text),
        sa.Column("worker", sa.Text),
        sa.Column("queued_until", sa.Float),
        sa.Column("lease_until", sa.Float),
        sa.Column("outcome", sa.Text),
        sa.Column("updated_at", sa.Float))
    op.create_index("jobweave_attempts_state", "jobweave_attempts", ["state", "lease_until"])
    set_version(6)


def runs_status() -> None:
    """Schema 7: an index of runs by status, for the takeover sweep of every serve."""
    op.create_index("jobweave_runs_status", "jobweave_runs", ["status"])
    set_version(7)
