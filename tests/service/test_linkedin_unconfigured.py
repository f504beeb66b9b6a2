"""On a service that does not publish to LinkedIn, members see that there is nothing to connect."""

from __future__ import annotations

from tests.service.conftest import Api, Org


async def test_the_status_says_linkedin_is_not_configured_and_connect_is_404(
    service: Api, org: Org
) -> None:
    status = await service.client.get(org.url("/linkedin/connection"), headers=org.employee)
    assert status.status_code == 200, status.text
    assert status.json() == {
        "organization_id": str(org.id),
        "configured": False,
        "connections": [],
    }
    connect = await service.client.get(org.url("/linkedin/connect"), headers=org.employee)
    assert connect.status_code == 404
    assert connect.json()["code"] == "linkedin_not_configured"
