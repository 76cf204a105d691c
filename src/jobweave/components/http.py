"""``http``: send one HTTP request per message (httpx) and emit the response.

Settings are checked when the graph is defined; ``url``, ``base_url``, ``query``,
``headers``, ``default_headers`` and ``body`` are templates over ``msg``, ``input`` and
``secrets``, rendered when the node fires. The request itself runs on the executor
(:func:`request`): it retries connection errors, timeouts, 5xx and 429 answers inside the
firing (``retry_count``, ``retry_delay``, or the answer's ``Retry-After``), sleeping on
the firing's context so a cancel stops it. A 4xx answer other than 429, or the last
failure once the retries are spent, raises :class:`~jobweave.errors.JobFailure` naming
the status and the URL: the firing's error, sent to the node's ``error`` port.

Each node keeps one ``httpx.Client`` per process (its connection pool), closed at exit.
"""

from __future__ import annotations

import atexit
import email.utils
import json
import math
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobweave.components import checks
from jobweave.components.executed import Executed, with_context
from jobweave.components.node import Emitted, register
from jobweave.context import Context
from jobweave.durations import parse_duration
from jobweave.errors import DefinitionError, Interrupted, JobFailure
from jobweave.expr import Template, compile_template

if TYPE_CHECKING:
    import httpx

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_RETRY_AFTER = 300.0
"""The longest ``Retry-After`` honoured, in seconds (a longer one waits this long)."""


@register("http")
class Http(Executed):
    """Sends ``method`` to ``base_url`` + ``url`` with ``query``, ``headers`` and ``body``;
    emits ``{status, headers, body_json | body_text, request: {method, url}}``."""

    settings_names = frozenset({"method", "url", "base_url", "query", "headers",
                                "default_headers", "body", "body_type", "timeout",
                                "retry_count", "retry_delay", "follow_redirects"})
    ref = "jobweave.components.http:request"

    def __init__(self, node: str, settings: Mapping[str, Any]) -> None:
        super().__init__(node, settings)
        s = self.settings
        method = s.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise self.error("method", f"must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method.upper()
        if "url" not in s and "base_url" not in s:
            raise self.error("url", "an http node needs a url (or a base_url)")
        for name in ("url", "base_url"):
            if name in s:
                checks.text(self, name, s[name])
        for name in ("query", "headers", "default_headers"):
            if not isinstance(s.get(name, {}), Mapping):
                raise self.error(name, f"must be a mapping of names to values, "
                                       f"not {checks.kind_name(s[name])}")
        self.body_type = s.get("body_type", "json")
        if self.body_type not in ("json", "text"):
            raise self.error("body_type", f"must be json or text, not {self.body_type!r}")
        if self.body_type == "text" and not isinstance(s.get("body", ""), str):
            raise self.error("body", "a text body must be text (a template)")
        if "body" in s:
            checks.json_value(self, "body", s["body"])
        self.timeout = self._seconds("timeout", 30.0)
        if self.timeout <= 0:
            raise self.error("timeout", "must be more than 0 seconds")
        self.retry_delay = self._seconds("retry_delay", 1.0)
        self.retry_count = checks.whole(self, "retry_count", 0, 0)
        self.follow_redirects = checks.flag(self, "follow_redirects", True)
        self.templates: Template = compile_template(
            {k: s[k] for k in ("url", "base_url", "query", "headers", "default_headers", "body")
             if k in s}, field=f"node {node!r}: settings")

    def _seconds(self, name: str, default: float) -> float:
        try:
            return parse_duration(self.settings.get(name, default)).total_seconds()
        except DefinitionError as exc:
            raise self.error(name, exc.message) from None

    @property
    def fn(self) -> Any:  # type: ignore[override]
        return request

    def emitted(self, value: Any, msg: Any) -> Emitted:
        return with_context(value, msg)

    def arguments(self, msg: Any, env: Mapping[str, Any]) -> dict[str, Any]:
        r = self.templates.render({**env, "msg": msg})
        headers = {**_strings(r.get("default_headers", {})), **_strings(r.get("headers", {}))}
        body = r.get("body")
        if self.body_type == "text" and body is not None and not isinstance(body, str):
            body = json.dumps(body)
        return {"method": self.method, "url": join_url(r.get("base_url"), r.get("url")),
                "query": _query(r.get("query", {})), "headers": headers,
                "body": body, "body_type": self.body_type, "timeout": self.timeout,
                "retry_count": self.retry_count, "retry_delay": self.retry_delay,
                "follow_redirects": self.follow_redirects,
                "pool": f"{self.node} {r.get('base_url') or ''}"}


def join_url(base: Any, url: Any) -> str:
    """``url`` as it is when absolute, else appended to ``base`` (one ``/`` between)."""
    path = "" if url is None else str(url)
    if base is None or "://" in path:
        return path
    root = str(base)
    if not path:
        return root
    return root.rstrip("/") + "/" + path.lstrip("/")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _strings(mapping: Mapping[str, Any]) -> dict[str, str]:
    """Header values as text; a ``null`` value leaves the header out."""
    return {str(k): _text(v) for k, v in mapping.items() if v is not None}


def _query(mapping: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Query parameters as pairs: a list repeats its name, ``null`` leaves it out."""
    pairs: list[tuple[str, str]] = []
    for k, v in mapping.items():
        for item in v if isinstance(v, list) else [v]:
            if item is not None:
                pairs.append((str(k), _text(item)))
    return pairs


# -- the request, on the executor ---------------------------------------------------------

_CLIENTS: dict[str, httpx.Client] = {}
_LOCK = threading.Lock()


def client(pool: str) -> httpx.Client:
    """This process's client (and connection pool) for ``pool``: a node and its base URL."""
    found = _CLIENTS.get(pool)
    if found is None:
        import httpx

        with _LOCK:
            found = _CLIENTS.get(pool)
            if found is None:
                if not _CLIENTS:
                    atexit.register(close_clients)
                found = _CLIENTS[pool] = httpx.Client()
    return found


def close_clients() -> None:
    """Close every client this process opened (at exit, or in tests)."""
    with _LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
    for c in clients:
        c.close()


class _Retry(Exception):
    """A failure worth another try: its message, and the wait the server asked for."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


def request(method: str, url: str, query: list[tuple[str, str]], headers: dict[str, str],
            body: Any, body_type: str, timeout: float, retry_count: int,
            retry_delay: float, follow_redirects: bool, pool: str,
            context: Context) -> dict[str, Any]:
    """Send the request, retrying what can pass; the response as a message."""
    import httpx

    kwargs: dict[str, Any] = {"headers": headers, "timeout": timeout,
                              "follow_redirects": follow_redirects}
    if body is not None:
        kwargs["json" if body_type == "json" else "content"] = body
    try:
        target = httpx.URL(url)
        if query:  # added to the URL's own query, not in place of it
            target = target.copy_merge_params(tuple(query))
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise JobFailure(f"{method} {url}: not a URL: {exc}") from None
    where = f"{method} {target}"
    for attempt in range(retry_count + 1):
        try:
            try:
                response = client(pool).request(method, target, **kwargs)
            except httpx.TimeoutException:
                raise _Retry(f"timed out after {timeout:g}s") from None
            except httpx.TransportError as exc:
                raise _Retry(f"{type(exc).__name__}: {exc}") from None
            except httpx.HTTPError as exc:  # a bad URL, a redirect loop: no retry
                raise JobFailure(f"{where}: {type(exc).__name__}: {exc}") from None
            where = f"{method} {response.request.url}"
            return _answer(response, where)
        except _Retry as exc:
            tries = f" ({attempt + 1} attempts)" if attempt else ""
            if attempt >= retry_count:
                raise JobFailure(f"{where}: {exc}{tries}") from None
            wait = retry_delay if exc.after is None else exc.after
            if context.wait(wait):
                raise Interrupted(f"{context.job}: stopped while waiting to retry") from None
    raise AssertionError("unreachable")


def _answer(response: httpx.Response, where: str) -> dict[str, Any]:
    status = response.status_code
    if status == 429 or status >= 500:
        raise _Retry(_status(response), retry_after(response.headers.get("retry-after")))
    if 400 <= status < 500:
        raise JobFailure(f"{where}: {_status(response)}{_excerpt(response)}")
    message: dict[str, Any] = {"status": status, "headers": dict(response.headers)}
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            message["body_json"] = response.json()
        except ValueError:
            message["body_text"] = response.text
    else:
        message["body_text"] = response.text
    message["request"] = {"method": response.request.method, "url": str(response.request.url)}
    return message


def _status(response: httpx.Response) -> str:
    return f"HTTP {response.status_code} {response.reason_phrase}".rstrip()


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    if not text:
        return ""
    return ": " + (text if len(text) <= 200 else text[:197] + "...")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), at most
    :data:`MAX_RETRY_AFTER`; ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
