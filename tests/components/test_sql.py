"""The ``sql`` component against SQLite files and the real PostgreSQL on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import decimal
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobweave.components import sql_engines
from jobweave.components.node import build
from jobweave.components.sql_ops import jsonable
from jobweave.errors import ComponentError, JobFailure
from tests.components.refusals import refused

ENV = {"input": {}, "secrets": {"db_user": "postgres"}}


MYSQL = "mysql://root@127.0.0.1:3306"


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MySQL/MariaDB database, dropped after; skipped when no server runs (MySQL
    is not one of the services the project requires)."""
    import pymysql

    name = "jobweave_t_" + secrets.token_hex(4)
    try:
        admin = pymysql.connect(host="127.0.0.1", user="root", connect_timeout=1,
                                autocommit=True)
    except pymysql.MySQLError as exc:
        pytest.skip(f"no MySQL/MariaDB server on 127.0.0.1:3306 ({exc.args[0]})")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{MYSQL}/{name}"
    finally:
        sql_engines.dispose_all()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE {name}")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, a new PostgreSQL database, a new MySQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data.db'}"
    else:
        url = request.getfixturevalue("pg_url" if request.param == "postgresql"
                                      else "mysql_url")
    yield url
    sql_engines.dispose_all()  # before the database is dropped


def fire(url: str, msg: Any = None, **settings: Any) -> Any:
    comp = build("sql", "db", {"url": url, **settings})
    return comp.fn(**comp.arguments(msg or {}, ENV))  # type: ignore[attr-defined]


def users(url: str, extra: str = "") -> None:
    fire(url, statement="CREATE TABLE users (external_id VARCHAR(20) PRIMARY KEY, "
                        "email VARCHAR(40) NOT NULL, name VARCHAR(8), age INTEGER, "
                        f"status VARCHAR(10) DEFAULT 'new'{extra})")


def rows(url: str, order: str = "external_id") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = fire(url, operation="query",
                                       statement=f"SELECT * FROM users ORDER BY {order}")["rows"]
    return found


def test_execute_and_query_bind_their_parameters(db: str) -> None:
    users(db)
    done = fire(db, {"id": "u1", "email": "a@x'; DROP TABLE users; --"},
                statement="INSERT INTO users (external_id, email) VALUES (:id, :email)",
                params={"id": "{{ msg.id }}", "email": "{{ msg.email }}"})
    assert done == {"rowcount": 1}
    out = fire(db, {"id": "u1"}, operation="query",
               statement="SELECT external_id, email, status FROM users WHERE external_id = :id",
               params={"id": "{{ msg.id }}"})
    assert out == {"rows": [{"external_id": "u1", "email": "a@x'; DROP TABLE users; --",
                             "status": "new"}], "count": 1}


def test_executemany_runs_the_statement_per_row(db: str) -> None:
    users(db)
    batch = [{"id": f"u{i}", "email": f"{i}@x.org"} for i in range(30)]
    out = fire(db, {"batch": batch}, operation="executemany",
               statement="INSERT INTO users (external_id, email) VALUES (:id, :email)",
               rows="{{ msg.batch }}")
    assert out == {"rowcount": 30}
    assert len(rows(db)) == 30
    assert fire(db, {"batch": []}, operation="executemany",
                statement="DELETE FROM users WHERE external_id = :id",
                rows="{{ msg.batch }}") == {"rowcount": 0}


def test_upsert_inserts_then_updates_in_batches(db: str) -> None:
    users(db)
    first = [{"external_id": f"u{i:04}", "email": f"{i}@x.org", "age": i}
             for i in range(2500)]
    assert fire(db, {"users": first}, operation="upsert", table="users",
                rows="{{ msg.users }}", key="external_id",
                batch_size=1000) == {"upserted": 2500}
    again = [{"external_id": f"u{i:04}", "email": f"{i}@new.org", "age": i + 1}
             for i in range(2000, 3000)]
    fire(db, {"users": again}, operation="upsert", table="users", rows="{{ msg.users }}",
         key=["external_id"], batch_size=300)
    found = rows(db)
    assert len(found) == 3000
    assert found[0] == {"external_id": "u0000", "email": "0@x.org", "name": None, "age": 0,
                        "status": "new"}
    assert found[2000]["email"] == "2000@new.org" and found[2000]["age"] == 2001
    assert found[2999]["email"] == "2999@new.org"


def test_upsert_updates_only_the_columns_named(db: str) -> None:
    users(db)
    fire(db, {}, operation="upsert", table="users", key="external_id",
         rows=[{"external_id": "a", "email": "a@x", "age": 1}])
    fire(db, {}, operation="upsert", table="users", key="external_id", update=["age"],
         rows=[{"external_id": "a", "email": "changed@x", "age": 2}])
    assert rows(db)[0]["email"] == "a@x" and rows(db)[0]["age"] == 2
    fire(db, {}, operation="upsert", table="users", key="external_id", update=[],
         rows=[{"external_id": "a", "email": "b@x", "age": 3},
               {"external_id": "b", "email": "b@x", "age": 3}])
    assert [(r["external_id"], r["age"]) for r in rows(db)] == [("a", 2), ("b", 3)]


def test_upsert_on_a_key_of_two_columns(db: str) -> None:
    fire(db, statement="CREATE TABLE stock (shop VARCHAR(5), item VARCHAR(5), n INTEGER, "
                       "PRIMARY KEY (shop, item))")
    batch = [{"shop": s, "item": i, "n": 1} for s in "ab" for i in "xyz"]
    fire(db, {}, operation="upsert", table="stock", key=["shop", "item"], rows=batch)
    fire(db, {}, operation="upsert", table="stock", key=["shop", "item"],
         rows=[{"shop": "a", "item": "y", "n": 9}])
    out = fire(db, operation="query", statement="SELECT * FROM stock ORDER BY shop, item")
    assert [r["n"] for r in out["rows"]] == [1, 9, 1, 1, 1, 1]


@pytest.mark.parametrize(("bad", "column", "value"), [
    ({"age": "abc"}, "age", "'abc'"),
    ({"email": None}, "email", "None"),
    ({"name": "far too long a name"}, "name", "'far too long a name'"),
])
def test_a_value_the_database_refuses_names_its_column(db: str, bad: dict[str, Any],
                                                       column: str, value: str) -> None:
    if db.startswith("sqlite") and column != "email":
        pytest.skip("SQLite stores text in INTEGER and long text in VARCHAR(8) as given")
    users(db)
    batch = [{"external_id": f"u{i}", "email": "e", "name": "n", "age": i} for i in range(5)]
    batch[3] = {**batch[3], **bad}
    with pytest.raises(JobFailure) as caught:
        fire(db, {}, operation="upsert", table="users", key="external_id", rows=batch)
    message = str(caught.value)
    assert message.startswith(f"upsert into users: column {column!r} cannot take {value} "
                              "(row 3): "), message
    assert "\n" not in message
    assert rows(db) == []  # the firing's transaction wrote nothing


def test_a_statement_parameter_the_database_refuses_is_named(db: str) -> None:
    if db.startswith("sqlite"):
        pytest.skip("SQLite stores text in an INTEGER column as given")
    users(db)
    with pytest.raises(JobFailure) as caught:
        fire(db, {}, statement="INSERT INTO users (external_id, email, age) "
                               "VALUES ('a', 'b', :years)", params={"years": "old"})
    message = str(caught.value)
    assert "cannot take 'old'" in message, message
    # PostgreSQL names no column: the parameter holding the value is found; MySQL names it
    assert "column 'years'" in message or "column 'age'" in message


def test_rows_that_do_not_fit_the_table_are_refused(db: str) -> None:
    users(db)
    cases = [([{"external_id": "a", "email": "e", "colour": "red"}],
              "the table has no column 'colour'"),
             ([{"email": "e"}], "the rows have no 'external_id'"),
             ([{"external_id": "a", "email": "e"}, {"external_id": "b", "age": 1}],
              "row 1 differs from row 0 in column 'age'")]
    for batch, says in cases:
        with pytest.raises(JobFailure, match=says):
            fire(db, {}, operation="upsert", table="users", key="external_id", rows=batch)
    with pytest.raises(JobFailure, match="no table 'nothing'"):
        fire(db, {}, operation="upsert", table="nothing", key="id", rows=[{"id": 1}])


def test_rows_must_render_to_a_list_of_mappings(tmp_path: Path) -> None:
    comp = build("sql", "db", {"url": f"sqlite:///{tmp_path}/x.db", "operation": "upsert",
                               "table": "t", "key": "id", "rows": "{{ msg.rows }}"})
    with pytest.raises(ComponentError, match="rows must be a list of mappings"):
        comp.arguments({"rows": [1, 2]}, ENV)


def test_the_database_named_by_parts_with_secrets(pg_url: str) -> None:
    database = pg_url.rsplit("/", 1)[1]
    comp = build("sql", "db", {"driver": "postgres", "host": "127.0.0.1", "port": 5432,
                               "database": database, "username": "{{ secrets.db_user }}",
                               "operation": "query", "statement": "SELECT 1 + :n AS two",
                               "params": {"n": 1}})
    kwargs = comp.arguments({}, ENV)
    assert kwargs["url"] == f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    assert comp.fn(**kwargs) == {"rows": [{"two": 2}], "count": 1}  # type: ignore
    sql_engines.dispose_all()


def test_urls_choose_psycopg_and_pymysql() -> None:
    assert sql_engines.normalise("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert sql_engines.normalise("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert sql_engines.normalise("mysql://u@h/d") == "mysql+pymysql://u@h/d"
    assert sql_engines.normalise("sqlite:///x.db") == "sqlite:///x.db"
    url = sql_engines.url_from_parts({"driver": "mariadb", "host": "db", "port": "3306",
                                      "database": "app", "username": "me",
                                      "password": "p@ss/word"})
    assert url == "mysql+pymysql://me:p%40ss%2Fword@db:3306/app"
    assert sql_engines.url_from_parts({"driver": "postgres", "host": "h", "database": "d",
                                       "ssl_mode": "require"}) == (
        "postgresql+psycopg://h/d?sslmode=require")


def test_mysql_engines_are_made_with_pymysql() -> None:
    engine = sql_engines.engine("mysql://me@127.0.0.1:1/app", 2)
    assert engine.dialect.driver == "pymysql" and engine.pool.size() == 2  # type: ignore
    sql_engines.dispose_all()


def test_engines_are_kept_per_url_and_pool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    first = sql_engines.engine(url, 5)
    assert sql_engines.engine(url, 5) is first
    assert sql_engines.engine(url, 6) is not first
    sql_engines.dispose_all()
    assert sql_engines.engine(url, 5) is not first
    sql_engines.dispose_all()


def test_query_values_become_json() -> None:
    assert jsonable(decimal.Decimal("12.50")) == 12.5
    assert jsonable(decimal.Decimal("12.00")) == 12
    assert jsonable(decimal.Decimal("NaN")) is None
    assert jsonable(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05"
    assert jsonable(dt.date(2026, 1, 2)) == "2026-01-02"
    assert jsonable(b"\x01\xff") == "01ff"
    assert jsonable({"a": [dt.timedelta(seconds=3)]}) == {"a": [3.0]}


def test_postgresql_json_columns_take_mappings(pg_url: str) -> None:
    fire(pg_url, statement="CREATE TABLE docs (id INTEGER PRIMARY KEY, meta JSONB, "
                           "at TIMESTAMPTZ, price NUMERIC(8, 2))")
    fire(pg_url, {}, operation="upsert", table="docs", key="id",
         rows=[{"id": 1, "meta": {"source": "api", "tags": ["a"]},
                "at": "2026-01-02T03:04:05Z", "price": "9.99"}])
    out = fire(pg_url, operation="query",
               statement="SELECT meta->>'source' AS source, meta, at, price FROM docs")
    assert out["rows"] == [{"source": "api", "meta": {"source": "api", "tags": ["a"]},
                            "at": "2026-01-02T03:04:05+00:00", "price": 9.99}]
    sql_engines.dispose_all()


@pytest.mark.parametrize(("settings", "field", "says"), [
    ({"statement": "SELECT 1"}, "url", "name the database by url"),
    ({"url": "sqlite:///x", "driver": "sqlite", "statement": "x"}, "url", "not both"),
    ({"url": "sqlite:///x", "host": "h", "statement": "x"}, "host", "put it in the url"),
    ({"url": "oracle://h/d", "statement": "x"}, "url", "not 'oracle'"),
    ({"driver": "db2", "statement": "x"}, "driver", "must be one of postgres"),
    ({"url": "sqlite:///x", "statement": "x", "operation": "merge"}, "operation",
     "must be one of execute"),
    ({"url": "sqlite:///x"}, "statement", "needs statement"),
    ({"url": "sqlite:///x", "statement": "SELECT {{ msg.col }} FROM t"}, "statement",
     "a statement is not a template"),
    ({"url": "sqlite:///x", "statement": "x", "params": ["a"]}, "params", "mapping"),
    ({"url": "sqlite:///x", "statement": "x", "rows": []}, "rows", "not a setting of"),
    ({"url": "sqlite:///x", "operation": "upsert", "table": "t", "rows": []}, "key",
     "needs key"),
    ({"url": "sqlite:///x", "operation": "upsert", "table": "t", "rows": [], "key": []},
     "key", "conflict key"),
    ({"url": "sqlite:///x", "operation": "upsert", "table": "t", "rows": [], "key": "id",
      "update": [1]}, "update", "column name"),
    ({"url": "sqlite:///x", "operation": "upsert", "table": "t", "rows": [], "key": "id",
      "batch_size": 0}, "batch_size", ">= 1"),
    ({"url": "sqlite:///x", "statement": "x", "max_open_conns": 0}, "max_open_conns", ">= 1"),
])
def test_bad_settings_are_definition_errors(settings: dict[str, Any], field: str,
                                            says: str) -> None:
    refused("sql", settings, field, says)


def test_postgresql_upsert_leaves_rows_that_hold_the_values_as_they_are(pg_url: str) -> None:
    fire(pg_url, statement="CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, "
                           "meta JSONB, raw JSON, at TIMESTAMPTZ, words TSVECTOR)")
    given = [{"id": i, "name": f"n{i}", "meta": {"i": i}, "raw": {"i": i},
              "at": "2026-01-02T03:04:05Z"} for i in range(3)]
    upsert = {"operation": "upsert", "table": "docs", "key": "id"}

    def versions() -> dict[int, str]:
        found = fire(pg_url, operation="query", statement="SELECT id, ctid::text AS v "
                                                          "FROM docs ORDER BY id")["rows"]
        return {r["id"]: r["v"] for r in found}

    assert fire(pg_url, {}, rows=given, **upsert) == {"upserted": 3}
    before = versions()
    again = [dict(r) for r in given]
    again[1]["name"] = "changed"
    again[2]["raw"] = {"i": 2, "more": True}  # a json column, compared as its text
    assert fire(pg_url, {}, rows=again, **upsert) == {"upserted": 3}
    after = versions()
    assert after[0] == before[0], "a row already holding the values gets no new version"
    assert after[1] != before[1] and after[2] != before[2]
    out = fire(pg_url, operation="query", statement="SELECT name, raw FROM docs ORDER BY id")
    assert [r["name"] for r in out["rows"]] == ["n0", "changed", "n2"]
    assert out["rows"][2]["raw"] == {"i": 2, "more": True}
    # a column of a type not known to compare (tsvector) updates every conflicting row
    with_words = [{"id": 0, "name": "n0", "words": "a b"}]
    assert fire(pg_url, {}, rows=with_words, **upsert) == {"upserted": 1}
    once = versions()[0]
    assert fire(pg_url, {}, rows=with_words, **upsert) == {"upserted": 1}
    assert versions()[0] != once
    sql_engines.dispose_all()
