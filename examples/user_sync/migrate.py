"""Create the tables of the user sync, on PostgreSQL (its database too, if the server
lacks it) or SQLite; running it again changes nothing.

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
    make_url,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import ArgumentError, DBAPIError

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


def create_database(url: str) -> bool:
    """On PostgreSQL, create the database ``url`` names if the server lacks it (through
    the server's ``postgres`` database); whether it was created."""
    target = make_url(normalise(url))
    if target.get_backend_name() != "postgresql" or not target.database:
        return False
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": target.database}).first() is not None:
                return False
            quoted = conn.dialect.identifier_preparer.quote_identifier(target.database)
            conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def migrate(url: str) -> list[str]:
    """Create the database (PostgreSQL) and the tables ``url`` lacks; what was created."""
    made = [f"database {make_url(normalise(url)).database}"] if create_database(url) else []
    engine = create_engine(normalise(url))
    try:
        with engine.begin() as conn:
            missing = [t.name for t in metadata.sorted_tables
                       if not engine.dialect.has_table(conn, t.name)]
            metadata.create_all(conn, checkfirst=True)
        return made + missing
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get(ENV)
    if not url:
        print(f"usage: migrate.py DATABASE_URL (or set {ENV})", file=sys.stderr)
        return 2
    try:
        created = migrate(url)
    except (ArgumentError, DBAPIError) as exc:
        why = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"migrate.py: {make_safe(url)}: {why}", file=sys.stderr)
        return 2
    print("created " + ", ".join(created) if created else "nothing to do: the tables exist")
    return 0


def make_safe(url: str) -> str:
    """The URL as it may be printed: its password hidden."""
    try:
        return make_url(normalise(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "the database URL"


if __name__ == "__main__":
    sys.exit(main())
