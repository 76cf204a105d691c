"""The OpenAPI document, fuzzed: no request makes the server answer 5xx.

schemathesis and hypothesis are imported by the test, not at collection: every worker of
the suite collects every module, and importing them costs each about a second.
"""

from __future__ import annotations

from typing import Any

from tests.web.conftest import Site


def _fuzz(site: Site, operation: Any, failures: list[str]) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=8, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=site.url, timeout=10)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: "
                            f"{response.status_code} {response.text[:200]}")

    check()


def test_no_request_gets_a_server_error(site: Site) -> None:
    import httpx
    import schemathesis

    spec = httpx.get(f"{site.url}/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue  # endless streams: covered by their own tests
        _fuzz(site, operation, failures)
        tried += 1
    assert tried >= 15
    assert failures == []
