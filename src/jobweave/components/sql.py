"""``sql``: run a statement, a query, a statement per row, or a batch upsert (SQLAlchemy).

The database is named by ``url`` (a SQLAlchemy URL) or by ``driver``, ``host``, ``port``,
``database``, ``username``, ``password`` and ``ssl_mode``; these may be templates (over
``secrets`` and ``input``), rendered when the node fires. Statements are plain text with
``:name`` parameters: a statement holding ``{{`` is refused when the graph is defined,
since values go in ``params`` (or ``rows``), which are templates over ``msg`` and are
always bound, never spliced into the SQL. The operations run on the executor
(:mod:`jobweave.components.sql_ops`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobweave.components import checks, sql_engines, sql_ops
from jobweave.components.executed import Executed, with_context
from jobweave.components.node import Emitted, register
from jobweave.errors import ComponentError
from jobweave.expr import Template, compile_template, is_template

OPERATIONS = ("execute", "query", "executemany", "upsert")
_PARTS = ("driver", "host", "port", "database", "username", "password", "ssl_mode")


@register("sql")
class Sql(Executed):
    """One ``operation`` per message; emits ``{rowcount}``, ``{rows, count}`` or
    ``{upserted}``."""

    settings_names = frozenset({"url", *_PARTS, "max_open_conns", "operation", "statement",
                                "params", "rows", "table", "key", "update", "batch_size"})
    fn = staticmethod(sql_ops.run)
    ref = "jobweave.components.sql_ops:run"

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        s = self.settings
        self._connection()
        self.pool = checks.whole(self, "max_open_conns", 5, 1)
        self.operation = s.get("operation", "execute")
        if self.operation not in OPERATIONS:
            raise self.error("operation", f"must be one of {', '.join(OPERATIONS)}, "
                                          f"not {self.operation!r}")
        wanted = {"execute": ("statement",), "query": ("statement",),
                  "executemany": ("statement", "rows"),
                  "upsert": ("table", "rows", "key")}[self.operation]
        allowed = {*wanted, "params"} if self.operation in ("execute", "query") else {
            *wanted, "update", "batch_size"} if self.operation == "upsert" else {*wanted}
        for name in ("statement", "params", "rows", "table", "key", "update", "batch_size"):
            if name in wanted and name not in s:
                raise self.error(name, f"the {self.operation} operation needs {name}")
            if name in s and name not in allowed:
                raise self.error(name, f"not a setting of the {self.operation} operation")
        if "statement" in s:
            statement = checks.text(self, "statement", s["statement"])
            if is_template(statement):
                raise self.error("statement", "a statement is not a template: write :name "
                                              "in it and give the value in params (or rows), "
                                              "so that it is bound, never spliced into SQL")
        if "params" in s and not isinstance(s["params"], Mapping):
            raise self.error("params", "must be a mapping of :name parameters to values "
                                       "(templates)")
        if self.operation == "upsert":
            self._upsert_settings()
        self.batch_size = checks.whole(self, "batch_size", 1000, 1)
        self.templates: Template = compile_template(
            {k: s[k] for k in ("url", *_PARTS, "params", "rows") if k in s},
            field=f"node {node!r}: settings")

    def _connection(self) -> None:
        s = self.settings
        if ("url" in s) == ("driver" in s):
            raise self.error("url", "name the database by url, or by driver, host, port, "
                                    "database, username and password (not both)")
        if "url" in s:
            url = checks.text(self, "url", s["url"])
            for part in _PARTS:
                if part in s:
                    raise self.error(part, "given with url: put it in the url instead")
            if not is_template(url):
                self._dialect("url", sql_engines.dialect_of(url))
        else:
            driver = s["driver"]
            if not isinstance(driver, str) or driver.lower() not in sql_engines.DRIVERS:
                raise self.error("driver", f"must be one of "
                                           f"{', '.join(sql_engines.DRIVERS)}, not {driver!r}")

    def _dialect(self, field: str, dialect: str) -> None:
        if dialect not in ("postgresql", "sqlite", "mysql"):
            raise self.error(field, f"a database URL for PostgreSQL, SQLite or MySQL/MariaDB "
                                    f"(postgresql://, sqlite:///, mysql://), not {dialect!r}")

    def _upsert_settings(self) -> None:
        s = self.settings
        checks.text(self, "table", s["table"])
        for name in ("key", "update"):
            if name not in s:
                continue
            value = s[name]
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) and n.strip()
                                                       for n in names):
                raise self.error(name, "must be a column name or a list of column names")
            if name == "key" and not names:
                raise self.error("key", "name the column(s) of the conflict key")
            s[name] = names
        self.key: list[str] = s["key"]

    def emitted(self, value: Any, msg: Any) -> Emitted:
        return with_context(value, msg)

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        r = self.templates.render({**env, "msg": msg})
        url = r["url"] if "url" in r else sql_engines.url_from_parts(r)
        if not isinstance(url, str):
            raise ComponentError(f"the url rendered to {checks.kind_name(url)}, not text")
        kwargs: dict[str, Any] = {"url": url, "pool": self.pool,
                                  "operation": self.operation}
        if "statement" in self.settings:
            kwargs["statement"] = self.settings["statement"]
        if "params" in r:
            kwargs["params"] = r["params"]
        if "rows" in self.settings:
            rows = r.get("rows")
            if not isinstance(rows, list) or not all(isinstance(x, Mapping) for x in rows):
                raise ComponentError(f"rows must be a list of mappings (column: value), "
                                     f"not {checks.kind_name(rows)}")
            kwargs["rows"] = rows
        if self.operation == "upsert":
            kwargs.update(table=self.settings["table"], key=self.key,
                          update=self.settings.get("update"), batch_size=self.batch_size)
        return kwargs
