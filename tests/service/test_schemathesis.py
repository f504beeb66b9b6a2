"""Schemathesis over the service's OpenAPI document: generated requests never get a 5xx.

The service runs in its own process (as in production); requests carry a real token, and the
organization in every path is the caller's own, so generated inputs reach the handlers rather
than stopping at 401 or 404. Bounded (``max_examples``) to keep CI short.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import local_jwt_secret
from tests.service.live import clean_env, running_service


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("schemathesis")
    with running_service(home, clean_env(GHOSTART_HOME=str(home))) as url:
        token = mint_dev_token(local_jwt_secret(home), uuid4(), email="fuzz@example.com")
        headers = {"Authorization": f"Bearer {token}"}
        org = httpx.post(url + "/v1/organizations", json={"name": "Fuzz"}, headers=headers)
        org_id = org.json()["id"]
        voices = f"{url}/v1/organizations/{org_id}/brand-voices"
        httpx.post(voices, json={"name": "V"}, headers=headers)
        yield {"url": url, "org": org_id, "headers": headers}


def test_generated_requests_never_get_a_server_error(live: dict[str, Any]) -> None:
    # Hypothesis over each operation's strategy (Schemathesis's pytest plugin does not load
    # under pytest 9): every operation, a bounded number of examples each.
    schema = schemathesis.openapi.from_url(live["url"] + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    statuses: list[int] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            if case.path_parameters and "organization_id" in case.path_parameters:
                case.path_parameters["organization_id"] = live["org"]
            response = case.call(base_url=live["url"], headers=live["headers"], timeout=30)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            case.validate_response(response, checks=(not_a_server_error,))

        run()
    assert failures == []
    assert len(statuses) >= len(operations)
    # The inputs got past authentication into the handlers, not only 401s and 404s.
    assert sum(200 <= s < 300 for s in statuses) >= 20
    assert {422, 200} <= set(statuses)
