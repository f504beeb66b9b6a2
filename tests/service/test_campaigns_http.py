"""Campaigns through the HTTP API: start, follow, page, and bad input as 4xx."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest

from tests.service.conftest import Api, Org

BRIEF = {
    "name": "EU region launch",
    "message": "Our EU region is live",
    "link": "https://acme.example.com/eu",
    "goal": "webinar sign-ups",
}


async def _settled(service: Api, org: Org, url: str) -> dict[str, Any]:
    for _ in range(200):
        detail: dict[str, Any] = (await service.client.get(url, headers=org.creator)).json()
        if not {"requested", "generating"} & set(detail["counts"]):
            return detail
        await asyncio.sleep(0.05)
    raise AssertionError(f"still drafting: {detail['counts']}")


async def test_start_a_campaign_and_follow_it(service: Api, org: Org) -> None:
    c = service.client
    employee_id = str(org.user_ids["employee"])
    opted_out = await c.patch("/v1/me", json={"joins_campaigns": False}, headers=org.admin)
    assert opted_out.status_code == 200
    started = await c.post(org.url("/campaigns"), json=BRIEF, headers=org.creator)
    assert started.status_code == 201, started.text
    body = started.json()
    url = org.url(f"/campaigns/{body['id']}")
    assert started.headers["Location"] == url
    assert body["counts"] == {"requested": 2} and body["published"] == []
    assert {v["user_id"] for v in body["variants"]} == {
        str(org.user_ids["brand_creator"]),
        employee_id,
    }
    assert body["skipped"] == [{"user_id": str(org.user_ids["admin"]), "reason": "opted_out"}]
    assert (body["link"], body["format"], body["brand_voice_id"]) == (
        BRIEF["link"],
        "announcement",
        str(org.voice_id),
    )

    detail = await _settled(service, org, url)
    assert detail["counts"] == {"draft": 2}
    [mine] = [v for v in detail["variants"] if v["user_id"] == employee_id]
    post = (await c.get(org.url(f"/posts/{mine['post_id']}"), headers=org.employee)).json()
    assert post["campaign_id"] == body["id"] and BRIEF["link"] in post["body"]
    assert post["request"]["author"]["user_id"] == employee_id
    # The employee sees the campaign, and only their own variant in it.
    theirs = (await c.get(url, headers=org.employee)).json()
    assert [v["user_id"] for v in theirs["variants"]] == [employee_id]
    retried = await c.post(url + "/retry", headers=org.creator)
    assert retried.status_code == 200 and retried.json()["counts"] == {"draft": 2}


async def test_campaigns_page_newest_first(service: Api, org: Org) -> None:
    c = service.client
    ids = []
    for i in range(3):
        made = await c.post(
            org.url("/campaigns"),
            json=BRIEF | {"name": f"Campaign {i}", "participants": [str(org.user_ids["employee"])]},
            headers=org.admin,
        )
        ids.append(made.json()["id"])
    first = (await c.get(org.url("/campaigns?limit=2"), headers=org.employee)).json()
    second = (
        await c.get(
            org.url(f"/campaigns?limit=2&cursor={first['next_cursor']}"), headers=org.employee
        )
    ).json()
    assert [x["id"] for x in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "body",
    [
        BRIEF | {"link": "javascript:alert(1)"},
        BRIEF | {"link": "https://acme.example.com/a b"},
        BRIEF | {"message": "x" * 501},
        BRIEF | {"message": "no\u0000nul"},
        BRIEF | {"language": "English"},
        BRIEF | {"format": "sonnet"},
        BRIEF | {"participants": []},
        BRIEF | {"participants": ["not-a-uuid"]},
        BRIEF | {"participants": [str(uuid4())]},  # not a member
        BRIEF | {"participants": "everyone"},
        BRIEF | {"surprise": True},
        {"name": "No message"},
    ],
)
async def test_bad_campaigns_are_422(service: Api, org: Org, body: dict[str, Any]) -> None:
    response = await service.client.post(org.url("/campaigns"), json=body, headers=org.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    listed = (await service.client.get(org.url("/campaigns"), headers=org.admin)).json()
    assert listed["items"] == []


async def test_unknown_ids_are_404_and_clients_can_not_claim_an_author(
    service: Api, org: Org
) -> None:
    c = service.client
    for method, path in (("GET", ""), ("POST", "/retry")):
        missing = await c.request(method, org.url(f"/campaigns/{uuid4()}{path}"), headers=org.admin)
        assert missing.status_code == 404
    for smuggled in ({"author": {"user_id": str(uuid4())}}, {"campaign_id": str(uuid4())}):
        response = await c.post(
            org.url("/content-requests"), json={"topic": "Mine"} | smuggled, headers=org.employee
        )
        assert response.status_code == 422, response.text
