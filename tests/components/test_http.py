"""The ``http`` component against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest

from jobweave.components import http
from jobweave.components.node import build
from jobweave.context import Context
from jobweave.errors import Interrupted, JobFailure
from tests.components.http_server import Server, serving
from tests.components.refusals import refused

ENV = {"input": {"page_size": 5}, "secrets": {"token": "s3cret"}}


@pytest.fixture
def api() -> Iterator[tuple[str, Server]]:
    with serving() as found:
        yield found
    http.close_clients()


def fire(settings: dict[str, Any], msg: Any = None, context: Context | None = None) -> Any:
    comp = build("http", "fetch", settings)
    kwargs = comp.arguments(msg or {}, ENV)
    return comp.fn(**kwargs, context=context or Context("run", "fetch", 1))  # type: ignore


def test_a_get_with_base_url_query_and_merged_headers(api: tuple[str, Server]) -> None:
    base, _ = api
    out = fire({"base_url": base + "/", "url": "/users",
                "query": {"page": "{{ msg.page }}", "limit": "{{ input.page_size }}",
                          "since": None},
                "default_headers": {"Authorization": "Bearer {{ secrets.token }}",
                                    "Accept": "text/plain"},
                "headers": {"Accept": "application/json"}}, {"page": 2})
    assert out["status"] == 200
    body = out["body_json"]
    assert [u["id"] for u in body["data"]] == [5, 6, 7, 8, 9]
    assert body["auth"] == "Bearer s3cret" and body["accept"] == "application/json"
    assert out["request"] == {"method": "GET", "url": f"{base}/users?page=2&limit=5"}
    assert out["headers"]["content-type"] == "application/json"
    assert "body_text" not in out


def test_text_answers_come_as_body_text(api: tuple[str, Server]) -> None:
    out = fire({"url": api[0] + "/text"})
    assert out["body_text"] == "plain words" and "body_json" not in out


def test_json_and_text_bodies(api: tuple[str, Server]) -> None:
    base, _ = api
    sent = fire({"method": "post", "url": base + "/echo",
                 "body": {"ids": "{{ msg.ids }}", "n": 1}}, {"ids": [1, 2]})
    assert sent["body_json"]["method"] == "POST"
    assert sent["body_json"]["body"] == '{"ids":[1,2],"n":1}'
    assert sent["body_json"]["type"] == "application/json"
    text = fire({"method": "PUT", "url": base + "/echo", "body_type": "text",
                 "body": "name={{ msg.name }}",
                 "headers": {"Content-Type": "text/plain"}}, {"name": "ada"})
    assert text["body_json"]["body"] == "name=ada"
    assert text["body_json"]["type"] == "text/plain"


def test_5xx_answers_are_retried_until_one_passes(api: tuple[str, Server]) -> None:
    base, server = api
    out = fire({"url": base + "/flaky?key=a&fails=2", "retry_count": 2, "retry_delay": 0.01})
    assert out["status"] == 200 and out["body_json"]["tries"] == 3
    assert server.hits["/flaky"] == 3


def test_the_last_failure_raises_naming_status_url_and_attempts(api: tuple[str, Server]
                                                                ) -> None:
    base, server = api
    with pytest.raises(JobFailure) as caught:
        fire({"url": base + "/flaky", "query": {"key": "b", "fails": 9},
              "retry_count": 1, "retry_delay": 0})
    assert str(caught.value) == (f"GET {base}/flaky?key=b&fails=9: HTTP 500 Internal Server "
                                 f"Error (2 attempts)")
    assert server.hits["/flaky"] == 2


def test_a_4xx_is_not_retried_and_names_status_url_and_body(api: tuple[str, Server]) -> None:
    base, server = api
    with pytest.raises(JobFailure) as caught:
        fire({"url": base + "/missing", "retry_count": 3, "retry_delay": 0})
    assert str(caught.value) == f"GET {base}/missing: HTTP 404 Not Found: no such thing here"
    assert server.hits["/missing"] == 1


def test_429_waits_as_long_as_retry_after_says(api: tuple[str, Server]) -> None:
    base, server = api
    started = time.monotonic()
    out = fire({"url": base + "/limited?key=c&after=1", "retry_count": 1,
                "retry_delay": 0.01})
    assert out["status"] == 200
    assert out["body_json"]["at"] - started >= 0.95  # the header's second, not 0.01
    assert server.hits["/limited"] == 2


def test_retry_after_reads_seconds_and_dates_and_is_capped() -> None:
    now = time.time()
    assert http.retry_after("7") == 7.0
    assert http.retry_after(" 2.5 ") == 2.5
    assert http.retry_after("86400") == http.MAX_RETRY_AFTER
    assert http.retry_after("-3") == 0.0
    assert http.retry_after(formatdate(now + 60, usegmt=True), now=now) == pytest.approx(60, 1)
    assert http.retry_after(formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert http.retry_after("soon") is None and http.retry_after(None) is None


def test_a_slow_answer_times_out_and_is_retried(api: tuple[str, Server]) -> None:
    base, server = api
    started = time.monotonic()
    with pytest.raises(JobFailure) as caught:
        fire({"url": base + "/slow?seconds=1.5", "timeout": 0.2, "retry_count": 1,
              "retry_delay": 0})
    assert str(caught.value) == (f"GET {base}/slow?seconds=1.5: timed out after 0.2s "
                                 f"(2 attempts)")
    assert time.monotonic() - started < 1.2
    assert server.hits["/slow"] == 2


def test_redirects_are_followed_unless_told_not_to(api: tuple[str, Server]) -> None:
    base, _ = api
    out = fire({"url": base + "/moved"})
    assert out["status"] == 200 and out["body_json"]["page"] == 2
    assert out["request"]["url"] == f"{base}/users?page=2&limit=5"
    kept = fire({"url": base + "/moved", "follow_redirects": False})
    assert kept["status"] == 302 and kept["headers"]["location"] == "/users?page=2&limit=5"


def test_connection_errors_are_retried_then_raise() -> None:
    with serving() as (base, _):
        pass  # the port is closed now
    with pytest.raises(JobFailure) as caught:
        fire({"url": base + "/users", "retry_count": 1, "retry_delay": 0})
    assert str(caught.value).startswith(f"GET {base}/users: ConnectError")
    assert str(caught.value).endswith("(2 attempts)")


def test_a_cancel_stops_the_wait_between_tries(api: tuple[str, Server]) -> None:
    base, server = api
    ctx = Context("run", "fetch", 1)
    threading.Timer(0.3, ctx.request_stop).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        fire({"url": base + "/flaky?key=d&fails=9", "retry_count": 5, "retry_delay": 30},
             context=ctx)
    assert time.monotonic() - started < 5
    assert server.hits["/flaky"] == 1


def test_a_node_keeps_one_client_per_process() -> None:
    first = http.client("fetch http://a")
    assert http.client("fetch http://a") is first
    assert http.client("other http://a") is not first
    http.close_clients()
    assert http.client("fetch http://a") is not first
    http.close_clients()


@pytest.mark.parametrize(("settings", "field", "says"), [
    ({"url": "/x", "method": "FETCH"}, "method", "must be one of GET"),
    ({}, "url", "needs a url"),
    ({"url": ""}, "url", "non-empty text"),
    ({"url": "/x", "query": ["a"]}, "query", "mapping of names"),
    ({"url": "/x", "body_type": "xml"}, "body_type", "json or text"),
    ({"url": "/x", "body_type": "text", "body": {"a": 1}}, "body", "must be text"),
    ({"url": "/x", "timeout": 0}, "timeout", "more than 0"),
    ({"url": "/x", "timeout": "soon"}, "timeout", "duration"),
    ({"url": "/x", "retry_count": -1}, "retry_count", "whole number >= 0"),
    ({"url": "/x", "follow_redirects": "yes"}, "follow_redirects", "true or false"),
    ({"url": "/x", "retries": 3}, "retries", "unknown setting"),
    ({"url": "{{ msg. }}"}, "url", ""),
])
def test_bad_settings_are_definition_errors(settings: dict[str, Any], field: str,
                                            says: str) -> None:
    refused("http", settings, field, says)


def test_durations_as_text_and_urls_joined() -> None:
    comp = build("http", "fetch", {"base_url": "http://h/v1", "url": "users",
                                   "timeout": "1m", "retry_delay": "5s"})
    kwargs = comp.arguments({}, ENV)
    assert (kwargs["timeout"], kwargs["retry_delay"]) == (60.0, 5.0)
    assert kwargs["url"] == "http://h/v1/users"
    assert http.join_url("http://h/v1", "https://other/x") == "https://other/x"
    assert http.join_url("http://h/v1/", None) == "http://h/v1/"
