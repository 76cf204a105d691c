"""Schema migrations: one Alembic chain of revisions per dialect (``sqlite/``,
``postgresql/``), run under the store's migration lock.

A new store is created from ``schema.py`` in one go and stamped with the head revision
(no Alembic import: creating a store stays cheap); ``tests/store/test_migrations.py``
checks that the chains build exactly those tables. An existing store is brought to the
head by its chain. Stores made before the chains existed carry only ``schema_version``
in ``jobweave_meta`` (1-6): revision ``000k`` is schema version ``k``, so such a store is
stamped with its version first and upgraded from there. Every revision also records its
version in ``jobweave_meta``, which is what an older jobweave reads to refuse a store
newer than it knows, and the one cheap read of a store that is already current.

Adding a revision: bump ``schema.SCHEMA_VERSION``, change the tables in ``schema.py``,
and add ``r000N_name.py`` to both chains (SQLite in batch mode), ending with
``steps.set_version(N)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    select,
)

from jobweave.errors import StoreError
from jobweave.store import schema as s

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

log = logging.getLogger("jobweave.store")

HERE = Path(__file__).resolve().parent
DIALECTS = ("sqlite", "postgresql")
VERSION_TABLE = "jobweave_alembic_version"
"""Alembic's version table, named so that a database shared with other applications
keeps theirs apart."""

version_table = Table(
    VERSION_TABLE, MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
)
"""The table as Alembic makes it, for stamping a new store without importing Alembic."""


def revision_of(version: int) -> str:
    """The revision id of store schema ``version`` (the same in both chains)."""
    return f"{version:04d}"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a store's schema stands."""

    version: int | None
    """The store's schema version; None for an empty database (no jobweave tables)."""
    revision: str | None
    """The Alembic revision recorded; None for a store made before the chains."""
    head: int = s.SCHEMA_VERSION
    """The version this jobweave creates and upgrades to."""

    @property
    def current(self) -> bool:
        return self.version == self.head


def fast_version(conn: Connection) -> int | None:
    """The store's schema version in one read, or None when there is no record to read
    (the database error is left to the caller)."""
    values = dict(conn.execute(select(s.meta.c.key, s.meta.c.value)).all())
    if values.get("app") != s.APP_ID:
        return None
    return int(values.get("schema_version", "0"))


def state(conn: Connection, url: str, *, file_store: bool) -> SchemaState:
    """Check what the store holds; refuse a database that is not a jobweave store, and
    one newer than this jobweave (one line: upgrade jobweave)."""
    tables = set(inspect(conn).get_table_names())
    if s.meta.name not in tables:
        ours = {t.name for t in s.metadata.sorted_tables}
        if tables & ours:
            raise StoreError(f"store {url} has jobweave tables but no version record")
        if tables and file_store:
            raise StoreError(f"{url} is not a jobweave database "
                             f"(it holds other tables: {', '.join(sorted(tables)[:3])})")
        return SchemaState(None, None)
    values = dict(conn.execute(select(s.meta.c.key, s.meta.c.value)).all())
    if values.get("app") != s.APP_ID:
        raise StoreError(f"{url} is not a jobweave database")
    version = int(values.get("schema_version", "0"))
    if version > s.SCHEMA_VERSION:
        raise StoreError(f"{url} uses store schema {version}, newer than this jobweave "
                         f"understands ({s.SCHEMA_VERSION}); upgrade jobweave")
    revision = None
    if VERSION_TABLE in tables:
        revision = conn.execute(select(version_table.c.version_num)).scalar()
    return SchemaState(version, revision)


def bring_up(conn: Connection, url: str, *, file_store: bool, allowed: bool) -> str | None:
    """Create or upgrade the store on ``conn``, in the caller's transaction, which holds
    the migration lock. Returns what was done (None: it was current, another process
    having done it while this one waited for the lock)."""
    found = state(conn, url, file_store=file_store)
    if found.current:
        return None
    if not allowed:
        what = ("has no jobweave tables" if found.version is None else
                f"uses store schema {found.version}, older than this jobweave's "
                f"({s.SCHEMA_VERSION})")
        raise StoreError(f"store {url} {what}: run `jobweave db upgrade` "
                         "(automatic upgrades are off: JOBWEAVE_AUTO_MIGRATE)")
    if found.version is None:
        s.metadata.create_all(conn)
        conn.execute(s.meta.insert(), [{"key": "app", "value": s.APP_ID},
                                       {"key": "schema_version",
                                        "value": str(s.SCHEMA_VERSION)}])
        version_table.create(conn)
        conn.execute(version_table.insert().values(version_num=revision_of(s.SCHEMA_VERSION)))
        return "created"
    upgrade(conn, found)
    log.info("store %s: schema upgraded from %d to %d", url, found.version, s.SCHEMA_VERSION)
    return f"upgraded from {found.version}"


def script(dialect: str) -> ScriptDirectory:
    """The chain of revisions for a dialect."""
    from alembic.script import ScriptDirectory

    if dialect not in DIALECTS:
        raise StoreError(f"no schema migrations for {dialect} stores")
    return ScriptDirectory(str(HERE), version_locations=[str(HERE / dialect)])


def upgrade(conn: Connection, found: SchemaState) -> None:
    """Bring a store found at an older version to the head of its dialect's chain."""
    from alembic.runtime.migration import MigrationContext

    assert found.version is not None
    if found.revision != revision_of(found.version):
        # made before the chains (no revision recorded): its version names its revision.
        # Every revision writes both in one transaction; were they ever set apart by
        # hand, the version (what every jobweave reads) is the one trusted.
        MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).stamp(
            script(conn.dialect.name), revision_of(found.version))
    migrate(conn)


def migrate(conn: Connection, target: str = "heads") -> None:
    """Run the dialect's chain from the revision ``conn``'s database records (none: an
    empty database) up to ``target``, in the caller's transaction."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    chain = script(conn.dialect.name)

    def steps(rev: Any, _context: Any) -> Any:
        return chain._upgrade_revs(target, rev)

    ctx = MigrationContext.configure(conn, opts={
        "version_table": VERSION_TABLE, "fn": steps, "script": chain,
        "destination_rev": target})
    with Operations.context(ctx):
        ctx.run_migrations()
