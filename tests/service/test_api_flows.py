"""Every flow of the core through the HTTP API (httpx over ASGI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from ghostart.testing import CountingGenerator
from tests.service.conftest import Api, MakeOrg, Org


async def test_health_and_ready(service: Api) -> None:
    assert (await service.client.get("/health")).json() == {"status": "ok"}
    ready = await service.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["store"] == "ok" and ready.json()["checks"]["worker"] == "running"


async def test_ready_reports_a_failing_store_with_503(service: Api) -> None:
    await service.app.store.aclose()
    broken = type(service.app.store)("sqlite:////nonexistent-dir/x/y.db")
    service.app.store = broken  # type: ignore[assignment]
    ready = await service.client.get("/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["store"].startswith("failing")


async def test_plans_list_the_default_plan_publicly(service: Api) -> None:
    plans = (await service.client.get("/v1/plans")).json()["plans"]
    assert [(p["name"], p["monthly_generations"]) for p in plans] == [
        (service.app.settings.default_plan, service.app.settings.default_monthly_generations)
    ]


async def test_me_lists_my_organizations_with_my_role(service: Api, org: Org) -> None:
    me = (await service.client.get("/v1/me", headers=org.employee)).json()
    assert me["user"]["id"] == str(org.user_ids["employee"])
    assert [(o["id"], o["role"]) for o in me["organizations"]] == [(str(org.id), "employee")]


async def test_organization_read_and_settings(service: Api, org: Org) -> None:
    c = service.client
    got = await c.get(org.url(), headers=org.employee)
    assert got.status_code == 200 and got.json()["name"] == "Acme"
    changed = await c.patch(
        org.url("/settings"),
        json={"employee_posts_need_approval": False, "timezone": "Europe/Berlin"},
        headers=org.admin,
    )
    assert changed.status_code == 200
    assert changed.json()["settings"]["employee_posts_need_approval"] is False
    denied = await c.patch(org.url("/settings"), json={}, headers=org.employee)
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["code"] == "permission_denied"


async def test_members_add_change_remove_and_last_admin(service: Api, org: Org) -> None:
    c = service.client
    members = (await c.get(org.url("/members"), headers=org.creator)).json()["items"]
    assert {m["role"] for m in members} == {"admin", "brand_creator", "employee"}
    assert (await c.get(org.url("/members"), headers=org.employee)).status_code == 403
    employee_id = org.user_ids["employee"]
    promoted = await c.patch(
        org.url(f"/members/{employee_id}"), json={"role": "brand_creator"}, headers=org.admin
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "brand_creator"
    last_admin = await c.delete(org.url(f"/members/{org.user_ids['admin']}"), headers=org.admin)
    assert last_admin.status_code == 409 and "admin" in last_admin.json()["detail"]
    removed = await c.delete(org.url(f"/members/{employee_id}"), headers=org.admin)
    assert removed.status_code == 204
    gone = await c.get(org.url(), headers=org.employee)
    assert gone.status_code == 404  # no longer a member: the organization is invisible
    unknown = await c.post(
        org.url("/members"), json={"email": "nobody@example.com"}, headers=org.admin
    )
    assert unknown.status_code == 404


async def test_brand_voice_crud(service: Api, org: Org) -> None:
    c = service.client
    url = org.url(f"/brand-voices/{org.voice_id}")
    voice = (await c.get(url, headers=org.employee)).json()
    assert voice["version"] == 1 and voice["words_to_avoid"] == ["synergy"]
    updated = await c.put(
        url, json={"name": "House", "tone": "dry and precise"}, headers=org.creator
    )
    assert updated.status_code == 200 and updated.json()["version"] == 2
    stale = await c.put(url + "?expected_version=1", json={"name": "Late"}, headers=org.creator)
    assert stale.status_code == 409
    assert (await c.put(url, json={"name": "X"}, headers=org.employee)).status_code == 403
    listed = (await c.get(org.url("/brand-voices"), headers=org.employee)).json()["items"]
    assert [v["tone"] for v in listed] == ["dry and precise"]
    assert (await c.delete(url, headers=org.creator)).status_code == 204
    assert (await c.get(url, headers=org.creator)).status_code == 404


async def test_content_request_accepted_then_drafted_then_cached(service: Api, org: Org) -> None:
    c = service.client
    body = {"topic": "Why we write design docs"}
    first = await c.post(org.url("/content-requests"), json=body, headers=org.employee)
    assert first.status_code == 202, first.text
    location = first.headers["location"]
    assert location == org.url(f"/content-requests/{first.json()['id']}")
    done = await c.get(location + "?wait=10", headers=org.employee)
    assert done.status_code == 200 and done.json()["status"] == "draft"
    assert done.json()["body"] and not done.json()["from_cache"]
    again = await c.post(org.url("/content-requests"), json=body, headers=org.employee)
    assert again.status_code == 200 and again.json()["from_cache"] is True
    assert again.json()["body"] == done.json()["body"]
    waited = await c.post(
        org.url("/content-requests?wait=10"),
        json={"topic": "On-call done right"},
        headers=org.admin,
    )
    assert waited.status_code == 200 and waited.json()["status"] == "draft"
    generator = service.app.generator
    assert isinstance(generator, CountingGenerator) and generator.count == 2


async def test_content_request_validation_is_422_with_the_field(service: Api, org: Org) -> None:
    c = service.client
    for body, field in (
        ({"topic": ""}, "topic"),
        ({"topic": "x" * 10_000}, "topic"),
        ({"topic": "fine topic", "format": "poem"}, "format"),
        ({"topic": "fine topic", "extra": 1}, "extra"),
    ):
        response = await c.post(org.url("/content-requests"), json=body, headers=org.employee)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field
    not_json = await c.post(
        org.url("/content-requests"),
        content=b"{",
        headers=org.employee | {"content-type": "application/json"},
    )
    assert not_json.status_code == 422


async def test_review_lifecycle_through_the_api(service: Api, org: Org) -> None:
    c = service.client
    made = await c.post(
        org.url("/content-requests?wait=10"), json={"topic": "Shipping small"}, headers=org.employee
    )
    post_url = org.url(f"/posts/{made.json()['id']}")
    edited = await c.patch(post_url, json={"body": "My own words."}, headers=org.employee)
    assert edited.status_code == 200 and edited.json()["body"] == "My own words."
    stale = await c.patch(
        post_url, json={"body": "Other", "expected_revision": 1}, headers=org.employee
    )
    assert stale.status_code == 409
    assert (await c.post(post_url + "/submit", headers=org.employee)).json()[
        "status"
    ] == "in_review"
    assert (await c.post(post_url + "/approve", headers=org.employee)).status_code == 403
    rejected = await c.post(post_url + "/reject", json={"note": "Too short"}, headers=org.creator)
    assert rejected.json()["status"] == "rejected" and rejected.json()["review_note"] == "Too short"
    revised = await c.patch(post_url, json={"body": "My own, longer words."}, headers=org.employee)
    assert revised.json()["status"] == "draft"
    await c.post(post_url + "/submit", headers=org.employee)
    approved = await c.post(post_url + "/approve", json={"note": "Good"}, headers=org.creator)
    assert approved.json()["status"] == "approved"
    at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    scheduled = await c.post(post_url + "/schedule", json={"at": at}, headers=org.employee)
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"
    naive = await c.post(
        post_url + "/schedule", json={"at": "2030-01-01T10:00:00"}, headers=org.creator
    )
    assert naive.status_code == 422
    assert (await c.post(post_url + "/unschedule", headers=org.employee)).json()[
        "status"
    ] == "approved"
    published = await c.post(post_url + "/publish", headers=org.employee)
    assert published.status_code == 200 and published.json()["status"] == "scheduled"
    for _ in range(100):
        now = (await c.get(post_url, headers=org.employee)).json()
        if now["status"] == "published":
            break
        await __import__("asyncio").sleep(0.05)
    assert now["status"] == "published" and now["published_at"]  # dry run: no URL


async def test_posts_list_filters_and_cursor_pages(service: Api, org: Org) -> None:
    c = service.client
    for i in range(5):
        await c.post(
            org.url("/content-requests?wait=10"),
            json={"topic": f"Topic number {i}"},
            headers=org.employee,
        )
    await c.post(
        org.url("/content-requests?wait=10"), json={"topic": "Creator's own"}, headers=org.creator
    )
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await c.get(org.url("/posts" + query), headers=org.creator)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6
    mine = (await c.get(org.url("/posts?limit=100"), headers=org.employee)).json()["items"]
    assert len(mine) == 5  # employees see their own posts only
    drafts = (await c.get(org.url("/posts?status=draft"), headers=org.creator)).json()["items"]
    assert len(drafts) == 6
    for bogus in ("bogus!", "azox", "bzo6MjAyNi0wMS0wMXwx"):  # not base64, no keyset, bad id
        got = await c.get(org.url(f"/posts?cursor={bogus}"), headers=org.creator)
        assert got.status_code == 422 and got.json()["field"] == "cursor", got.text
    capped = (await c.get(org.url("/posts?limit=100000"), headers=org.creator)).json()
    assert len(capped["items"]) == 6  # capped, not refused


async def test_posts_added_while_paging_neither_repeat_nor_hide_others(
    service: Api, org: Org
) -> None:
    c = service.client

    async def request(topic: str) -> None:
        r = await c.post(
            org.url("/content-requests?wait=10"), json={"topic": topic}, headers=org.employee
        )
        assert r.status_code == 200, r.text

    for i in range(4):
        await request(f"Older topic {i}")
    first = (await c.get(org.url("/posts?limit=2"), headers=org.creator)).json()
    for i in range(3):  # newer posts arrive between two pages
        await request(f"Newer topic {i}")
    second = (
        await c.get(org.url(f"/posts?limit=2&cursor={first['next_cursor']}"), headers=org.creator)
    ).json()

    everything = (await c.get(org.url("/posts?limit=100"), headers=org.creator)).json()["items"]
    older = [p["id"] for p in everything if p["request"]["topic"].startswith("Older")]
    assert [p["id"] for p in first["items"] + second["items"]] == older
    assert second["next_cursor"] is None


async def test_usage_summary(service: Api, org: Org) -> None:
    await service.client.post(
        org.url("/content-requests?wait=10"), json={"topic": "Counting"}, headers=org.employee
    )
    usage = (await service.client.get(org.url("/usage"), headers=org.admin)).json()
    assert usage["used"] == 1 and usage["plan"] == "free"


async def test_another_organizations_ids_are_404_everywhere(
    service: Api, org: Org, make_org: MakeOrg
) -> None:
    other = await make_org("Other")
    c = service.client
    made = await c.post(
        other.url("/content-requests?wait=10"),
        json={"topic": "Secret plans"},
        headers=other.employee,
    )
    secret_post = made.json()["id"]
    # Acme's admin, pointing at Other's organization: it does not exist for them.
    for method, path in (
        ("GET", other.url()),
        ("GET", other.url("/members")),
        ("GET", other.url(f"/posts/{secret_post}")),
        ("POST", other.url("/content-requests")),
    ):
        r = await c.request(method, path, headers=org.admin, json={"topic": "hello there"})
        assert r.status_code == 404, (method, path, r.status_code)
    # Other's ids inside Acme's organization: not found either, and nothing changes.
    for method, path, body in (
        ("GET", org.url(f"/posts/{secret_post}"), None),
        ("PATCH", org.url(f"/posts/{secret_post}"), {"body": "pwned"}),
        ("POST", org.url(f"/posts/{secret_post}/approve"), None),
        ("GET", org.url(f"/brand-voices/{other.voice_id}"), None),
        ("DELETE", org.url(f"/brand-voices/{other.voice_id}"), None),
        ("PATCH", org.url(f"/members/{other.user_ids['employee']}"), {"role": "admin"}),
    ):
        r = await c.request(method, path, headers=org.admin, json=body)
        assert r.status_code == 404, (method, path, r.status_code)
    still = await c.get(other.url(f"/posts/{secret_post}"), headers=other.employee)
    assert still.json()["body"] != "pwned" and still.json()["status"] == "draft"
    missing = await c.get(f"/v1/organizations/{uuid4()}", headers=org.admin)
    foreign = await c.get(other.url(), headers=org.admin)
    assert missing.json()["detail"].split()[0] == foreign.json()["detail"].split()[0]
