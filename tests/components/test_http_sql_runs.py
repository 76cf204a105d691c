"""``http`` and ``sql`` inside real graph runs: a paginated fetch routed into a batch
upsert, and a failed request sent to the error port and recorded by a statement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

import jobweave as jw
from jobweave.components import http, sql_engines
from tests.components.http_server import TOTAL, Server, serving


@pytest.fixture
def api() -> Iterator[tuple[str, Server]]:
    with serving() as found:
        yield found
    http.close_clients()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data.db'}"
    else:
        url = request.getfixturevalue("pg_url").replace("postgresql://",
                                                        "postgresql+psycopg://")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(60), "
                          "active BOOLEAN)"))
        conn.execute(text("CREATE TABLE failures (node VARCHAR(20), error TEXT)"))
    engine.dispose()
    yield url
    sql_engines.dispose_all()


def select(url: str, statement: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement))]
    finally:
        engine.dispose()


def sync(base: str, db: str, *, page_size: int) -> jw.Graph:
    """start → fetch a page → save its users; → more? next page : done."""
    g = jw.graph("sync", input={"api": base, "db": db, "size": page_size})
    start = g.node("start", "modify")
    fetch = g.node("fetch", "http", settings={
        "base_url": "{{ input.api }}", "url": "/users",
        "query": {"page": "{{ msg.page }}", "limit": "{{ input.size }}"},
        "retry_count": 2, "retry_delay": 0.01, "timeout": 5})
    save = g.node("save", "sql", settings={
        "url": "{{ input.db }}", "operation": "upsert", "table": "users", "key": "id",
        "rows": "{{ msg.body_json.data }}", "batch_size": 4})
    more = g.node("more", "router", rules=[
        {"expression": "msg.body_json.page * input.size < msg.body_json.total",
         "port": "next"}], default="done")
    done = g.node("done", "modify")
    g.edge(start, fetch, data={"page": 1})
    g.edge(fetch, save)
    g.edge(fetch, more)
    g.edge(more, fetch, from_port="next", data={"page": "{{ msg.body_json.page + 1 }}"})
    g.edge(more, done, from_port="done")
    return g


def test_a_paginated_fetch_upserted_page_by_page(api: tuple[str, Server], db: str,
                                                 tmp_path: Path) -> None:
    base, server = api
    result = jw.run(sync(base, db, page_size=7), store=str(tmp_path / "s.db"))
    assert result.status == "completed", result
    assert server.hits["/users"] == 4  # 25 users, 7 a page
    found = select(db, "SELECT id, email, active FROM users ORDER BY id")
    assert [r[0] for r in found] == list(range(TOTAL))
    assert found[3] == (3, "User3@Example.org", False)
    assert found[4][2] in (True, 1)
    # a second run updates the same rows: still one row per user
    again = jw.run(sync(base, db, page_size=10), store=str(tmp_path / "s.db"))
    assert again.status == "completed"
    assert select(db, "SELECT count(*) FROM users") == [(TOTAL,)]


def test_a_failed_request_goes_to_the_error_port(api: tuple[str, Server], db: str,
                                                 tmp_path: Path) -> None:
    base, _ = api
    g = jw.graph("fails", input={"api": base, "db": db})
    fetch = g.node("fetch", "http", settings={"url": "{{ input.api }}/missing"})
    record = g.node("record", "sql", settings={
        "url": "{{ input.db }}",
        "statement": "INSERT INTO failures (node, error) VALUES (:node, :error)",
        "params": {"node": "{{ msg.node }}", "error": "{{ msg.error }}"}})
    g.edge(g.node("start", "modify"), fetch)
    g.edge(fetch, record, from_port="error")
    result = jw.run(g, store=str(tmp_path / "s.db"))
    assert result.status == "completed", result
    assert select(db, "SELECT node, error FROM failures") == [
        ("fetch", f"GET {base}/missing: HTTP 404 Not Found: no such thing here")]


def test_a_message_s_context_passes_http_and_sql_nodes(api: tuple[str, Server], db: str,
                                                        tmp_path: Path) -> None:
    base, _ = api
    g = jw.graph("ctx", input={"api": base, "db": db})
    fetch = g.node("fetch", "http", settings={
        "url": "{{ input.api }}/users", "query": {"page": "{{ msg.page }}", "limit": 3}})
    statement = "INSERT INTO failures (node, error) VALUES (:node, :error)"
    first = g.node("first", "sql", settings={
        "url": "{{ input.db }}", "statement": statement,
        "params": {"node": "http", "error": "{{ msg.context.sync }}/{{ msg.status }}"}})
    second = g.node("second", "sql", settings={
        "url": "{{ input.db }}", "statement": statement,
        "params": {"node": "sql", "error": "{{ msg.context.sync }}/{{ msg.rowcount }}"}})
    g.edge(g.node("start", "modify"), fetch, data={"page": 1, "context": {"sync": 7}})
    g.edge(fetch, first)
    g.edge(first, second)
    result = jw.run(g, store=str(tmp_path / "s.db"))
    assert result.status == "completed", result
    assert select(db, "SELECT node, error FROM failures ORDER BY node") == [
        ("http", "7/200"), ("sql", "7/1")]
