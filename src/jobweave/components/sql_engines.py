"""The databases an ``sql`` node talks to: URLs, engines and reflected tables.

A node names its database by a SQLAlchemy URL or by the parts of one (``driver``,
``host``, ``port``, ``database``, ``username``, ``password``, ``ssl_mode``). PostgreSQL
goes through psycopg 3 (``postgresql://`` means ``postgresql+psycopg://``), MySQL and
MariaDB through PyMySQL, SQLite through the standard library.

Engines are kept per process, one per URL and pool size, and disposed at exit; a table is
reflected once per engine.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, Any

from jobweave.errors import JobFailure

if TYPE_CHECKING:
    from sqlalchemy import Engine, Table

DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg",
           "mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "sqlite": "sqlite"}
"""The ``driver`` setting's names, and the SQLAlchemy driver each means."""


def dialect_of(url: str) -> str:
    """The database a URL names (``postgresql``, ``mysql``, ``sqlite``...), from its
    scheme: ``postgresql+psycopg://...`` names ``postgresql``."""
    scheme = url.split("://", 1)[0] if "://" in url else url.split(":", 1)[0]
    name = scheme.split("+", 1)[0].lower()
    return {"postgres": "postgresql", "mariadb": "mysql"}.get(name, name)


def normalise(url: str) -> str:
    """A URL with the driver jobweave uses for its database when it names none."""
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{DRIVERS.get(scheme.lower(), scheme)}://{rest}"


def url_from_parts(parts: dict[str, Any]) -> str:
    """A URL from the ``driver``/``host``/``port``/... settings (after rendering)."""
    from sqlalchemy.engine import URL

    driver = DRIVERS[str(parts["driver"]).lower()]
    query = {"sslmode": str(parts["ssl_mode"])} if parts.get("ssl_mode") else {}
    port = parts.get("port")
    url = URL.create(driver, username=_opt(parts.get("username")),
                     password=_opt(parts.get("password")), host=_opt(parts.get("host")),
                     port=int(port) if port not in (None, "") else None,
                     database=_opt(parts.get("database")), query=query)
    return url.render_as_string(hide_password=False)


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


_ENGINES: dict[tuple[str, int], Engine] = {}
_TABLES: dict[tuple[int, str], Table] = {}
_LOCK = threading.Lock()


def engine(url: str, pool: int) -> Engine:
    """This process's engine for ``url`` with at most ``pool`` open connections."""
    found = _ENGINES.get((url, pool))
    if found is not None:
        return found
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    with _LOCK:
        found = _ENGINES.get((url, pool))
        if found is None:
            options: dict[str, Any] = {"pool_size": pool, "max_overflow": 0,
                                       "pool_pre_ping": True}
            if dialect_of(url) == "sqlite":
                options = {"connect_args": {"timeout": 30}}
            try:
                found = create_engine(normalise(url), **options)
            except (ArgumentError, NoSuchModuleError, ImportError) as exc:
                raise JobFailure(f"cannot use database URL {_safe(url)}: {exc}") from None
            if not _ENGINES:
                atexit.register(dispose_all)
            _ENGINES[(url, pool)] = found
    return found


def _safe(url: str) -> str:
    """A URL to show: its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://..."


def table(eng: Engine, name: str) -> Table:
    """``name`` (``table`` or ``schema.table``) as the database describes it, reflected
    once per engine."""
    key = (id(eng), name)
    found = _TABLES.get(key)
    if found is not None:
        return found
    from sqlalchemy import MetaData, Table
    from sqlalchemy.exc import NoSuchTableError

    schema, _, bare = name.rpartition(".")
    try:
        found = Table(bare, MetaData(), schema=schema or None, autoload_with=eng)
    except NoSuchTableError:
        raise JobFailure(f"no table {name!r} in the database") from None
    with _LOCK:
        _TABLES[key] = found
    return found


def dispose_all() -> None:
    """Close every engine this process opened (at exit, or before dropping a database)."""
    with _LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
        _TABLES.clear()
    for eng in engines:
        eng.dispose()
