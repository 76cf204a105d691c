"""Create the tables of the user sync, on PostgreSQL or SQLite; running it again changes
nothing.

    python examples/user_sync/migrate.py postgresql://postgres@127.0.0.1:5432/myapp
    USER_SYNC_DB=sqlite:///user_sync.db python examples/user_sync/migrate.py

- ``users``: one row per user of the API (``external_id`` unique), as the sync writes it;
- ``sync_logs``: one row per sync (records, pages, duration, errors as JSON);
- ``sync_retry_queue``: the pages and batches a sync could not write, for ``drain.yaml``;
- ``sync_metadata``: ``last_user_sync``, the start of the last sync (for incremental ones).

Times are ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and ISO text on SQLite; JSON columns
are ``JSONB`` on PostgreSQL and ``JSON`` (text) on SQLite.
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from jobweave.components.sql_engines import normalise

ENV = "USER_SYNC_DB"
NOW = text("CURRENT_TIMESTAMP")
TIME = DateTime(timezone=True).with_variant(String(40), "sqlite")
DOCUMENT = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

Table("users", metadata,
      Column("id", Integer, primary_key=True),
      Column("external_id", String(64), nullable=False, unique=True),
      Column("email", String(255), nullable=False),
      Column("name", String(255), nullable=False),
      Column("status", String(20), nullable=False),
      Column("metadata", DOCUMENT),
      Column("updated_at", TIME))

Table("sync_logs", metadata,
      Column("id", Integer, primary_key=True),
      Column("sync_id", BigInteger, nullable=False),
      Column("status", String(20), nullable=False),
      Column("records_processed", Integer, nullable=False),
      Column("pages", Integer, nullable=False),
      Column("duration_seconds", Numeric(10, 2)),
      Column("errors", DOCUMENT),
      Column("completed_at", TIME, server_default=NOW),
      Column("created_at", TIME, server_default=NOW))

Table("sync_retry_queue", metadata,
      Column("id", Integer, primary_key=True),
      Column("sync_id", BigInteger, nullable=False),
      Column("page", Integer, nullable=False),
      Column("page_size", Integer, nullable=False),
      Column("since", String(40)),
      Column("batch_num", Integer),
      Column("records", Integer),
      Column("error", Text, nullable=False),
      Column("status", String(20), nullable=False, server_default="pending"),
      Column("created_at", TIME, server_default=NOW),
      Column("done_at", TIME))

Table("sync_metadata", metadata,
      Column("key", String(100), primary_key=True),
      Column("value", Text, nullable=False),
      Column("updated_at", TIME, server_default=NOW))


def migrate(url: str) -> list[str]:
    """Create the tables ``url`` lacks; the names of those created."""
    engine = create_engine(normalise(url))
    try:
        with engine.begin() as conn:
            missing = [t.name for t in metadata.sorted_tables
                       if not engine.dialect.has_table(conn, t.name)]
            metadata.create_all(conn, checkfirst=True)
        return missing
    finally:
        engine.dispose()


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(ENV)
    if not url:
        print(f"usage: migrate.py DATABASE_URL (or set {ENV})", file=sys.stderr)
        return 2
    created = migrate(url)
    print("created " + ", ".join(created) if created else "nothing to do: the tables exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
