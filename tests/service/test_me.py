"""The caller's own profile and email preferences through the HTTP API."""

from __future__ import annotations

from uuid import uuid4

import pytest

from tests.service.conftest import Api, Org

ALL_ON = {"transactional": True, "notifications": True, "digest": True}


async def test_get_me_keeps_its_shape_and_adds_the_time_zone(service: Api, org: Org) -> None:
    me = (await service.client.get("/v1/me", headers=org.employee)).json()
    assert set(me) == {"user", "organizations"}
    assert me["user"] == {
        "id": str(org.user_ids["employee"]),
        "email": "employee@acme.example.com",
        "name": None,
        "timezone": "UTC",
        "headline": None,
        "about": None,
        "joins_campaigns": True,
    }
    assert [(o["id"], o["role"]) for o in me["organizations"]] == [(str(org.id), "employee")]


async def test_patch_me_then_get_it_back(service: Api, org: Org) -> None:
    c = service.client
    changed = await c.patch(
        "/v1/me", json={"name": " Ada Lovelace ", "timezone": "Europe/Paris"}, headers=org.admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "id": str(org.user_ids["admin"]),
        "email": "admin@acme.example.com",
        "name": "Ada Lovelace",
        "timezone": "Europe/Paris",
        "headline": None,
        "about": None,
        "joins_campaigns": True,
    }
    assert (await c.get("/v1/me", headers=org.admin)).json()["user"] == changed.json()
    only_zone = await c.patch("/v1/me", json={"timezone": "Asia/Tokyo"}, headers=org.admin)
    assert only_zone.json()["name"] == "Ada Lovelace"  # left out: unchanged
    cleared = await c.patch("/v1/me", json={"name": None}, headers=org.admin)
    assert cleared.json()["name"] is None and cleared.json()["timezone"] == "Asia/Tokyo"


async def test_the_profile_campaign_variants_draw_on_and_the_opt_out(
    service: Api, org: Org
) -> None:
    c = service.client
    changed = await c.patch(
        "/v1/me",
        json={"headline": " Staff engineer, payments ", "about": "I keep checkout fast."},
        headers=org.employee,
    )
    assert changed.status_code == 200, changed.text
    user = changed.json()
    assert (user["headline"], user["about"]) == (
        "Staff engineer, payments",
        "I keep checkout fast.",
    )
    assert user["joins_campaigns"] is True
    out = await c.patch("/v1/me", json={"joins_campaigns": False}, headers=org.employee)
    assert out.json()["joins_campaigns"] is False and out.json()["headline"] == user["headline"]
    assert (await c.get("/v1/me", headers=org.employee)).json()["user"] == out.json()
    cleared = await c.patch("/v1/me", json={"headline": None, "about": None}, headers=org.employee)
    assert (cleared.json()["headline"], cleared.json()["about"]) == (None, None)
    assert cleared.json()["joins_campaigns"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "x" * 65}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"headline": ""}, "headline"),
        ({"headline": "h" * 201}, "headline"),
        ({"about": "a" * 1001}, "about"),
        ({"about": "bad\u0000text"}, "about"),
        ({"joins_campaigns": None}, "joins_campaigns"),
        ({"joins_campaigns": "no"}, "joins_campaigns"),
        ({"email": "new@example.com"}, "email"),
        ({"email_preferences": {"digest": False}}, "email_preferences"),
    ],
)
async def test_bad_profile_changes_are_422_naming_the_field(
    service: Api, org: Org, body: dict[str, object], field: str
) -> None:
    c = service.client
    before = (await c.get("/v1/me", headers=org.admin)).json()["user"]
    # Sent with a valid change of another field, which must not be applied either.
    valid = {"timezone": "Asia/Tokyo"} if field == "name" else {"name": "Not applied"}
    response = await c.patch("/v1/me", json=valid | body, headers=org.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert (await c.get("/v1/me", headers=org.admin)).json()["user"] == before


async def test_email_preferences_round_trip_and_list_every_category(service: Api, org: Org) -> None:
    c = service.client
    url = "/v1/me/email-preferences"
    assert (await c.get(url, headers=org.creator)).json() == ALL_ON
    changed = await c.patch(url, json={"digest": False}, headers=org.creator)
    assert changed.status_code == 200, changed.text
    assert changed.json() == ALL_ON | {"digest": False}
    assert (await c.get(url, headers=org.creator)).json() == ALL_ON | {"digest": False}
    both = await c.patch(url, json={"notifications": False, "digest": True}, headers=org.creator)
    assert both.json() == {"transactional": True, "notifications": False, "digest": True}
    assert (await c.patch(url, json={}, headers=org.creator)).json() == both.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"transactional": False}, "transactional"),
        ({"transactional": True}, "transactional"),
        ({"marketing": False}, "marketing"),
        ({"digest": "no"}, "digest"),
        ({"digest": 0}, "digest"),
        ({"notifications": None}, "notifications"),
    ],
)
async def test_bad_preference_changes_are_422_and_change_nothing(
    service: Api, org: Org, body: dict[str, object], field: str
) -> None:
    c = service.client
    url = "/v1/me/email-preferences"
    response = await c.patch(url, json={"notifications": False} | body, headers=org.employee)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert (await c.get(url, headers=org.employee)).json() == ALL_ON


async def test_changes_are_the_callers_own(service: Api, org: Org) -> None:
    c = service.client
    url = "/v1/me/email-preferences"
    await c.patch(url, json={"notifications": False, "digest": False}, headers=org.employee)
    await c.patch(
        "/v1/me", json={"name": "Emp", "timezone": "America/Chicago"}, headers=org.employee
    )
    assert (await c.get(url, headers=org.admin)).json() == ALL_ON
    assert (await c.get(url, headers=org.creator)).json() == ALL_ON
    admin = (await c.get("/v1/me", headers=org.admin)).json()["user"]
    assert (admin["name"], admin["timezone"]) == (None, "UTC")
    # What an admin sees of the employee is unchanged too: only the employee's row moved.
    stored = await service.app.profiles.get(org.user_ids["employee"])
    assert stored.email_preferences.allows("transactional")
    assert not stored.email_preferences.allows("notifications")
    assert (stored.name, stored.timezone) == ("Emp", "America/Chicago")


async def test_a_new_user_may_change_preferences_on_first_sight(service: Api) -> None:
    headers = service.auth(uuid4(), "first@example.com")
    changed = await service.client.patch(
        "/v1/me/email-preferences", json={"digest": False}, headers=headers
    )
    assert changed.status_code == 200 and changed.json() == ALL_ON | {"digest": False}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/me", None),
        ("PATCH", "/v1/me", {"name": "Anon"}),
        ("GET", "/v1/me/email-preferences", None),
        ("PATCH", "/v1/me/email-preferences", {"digest": False}),
    ],
)
async def test_anonymous_callers_and_api_keys_get_401(
    service: Api, org: Org, method: str, path: str, body: dict[str, object] | None
) -> None:
    c = service.client
    created = await c.post(
        org.url("/api-keys"), json={"name": "bot", "scopes": ["org.read"]}, headers=org.admin
    )
    for headers in ({}, {"X-API-Key": created.json()["key"]}):
        response = await c.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
    admin = await service.app.profiles.get(org.user_ids["admin"])
    assert admin.name is None and admin.email_preferences.allows("digest")  # nothing changed
