"""Every protected route, called as each kind of caller, against the permission table.

For a role that holds the route's permission the answer is never 401, 403 or a hidden 404 (it may
be 409 when the post is in the wrong state for the step); for a role without it, 403. A member
of another organization gets 404 everywhere, and an anonymous caller 401.

The routes outside an organization are the caller's own (any signed-in person; an API key, which
is not a person, and an anonymous caller get 401) or public.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from ghostart.models import Role
from ghostart.rbac import PERMISSIONS, Permission
from tests.service.conftest import Api, MakeOrg, Org

P = Permission
OK = frozenset({200, 201, 202, 204})
OK_OR_STATE = OK | {409}
OK_OR_MISSING = frozenset({404})  # a random id: allowed callers get past RBAC to "not found"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # formatted with org, post, voice, campaign, spare, random
    permission: Permission
    permitted: frozenset[int] = OK
    body: Any = None


ROUTES = [
    Route("GET", "", P.ORG_READ),
    Route("PATCH", "/settings", P.ORG_MANAGE, body={}),
    Route("GET", "/members", P.MEMBERS_READ),
    Route("POST", "/members", P.MEMBERS_MANAGE, frozenset({409}), {"user_id": "{spare}"}),
    Route("PATCH", "/members/{spare}", P.MEMBERS_MANAGE, body={"role": "employee"}),
    Route("DELETE", "/members/{random}", P.MEMBERS_MANAGE, OK_OR_MISSING),
    Route("GET", "/brand-voices", P.BRAND_VOICE_READ),
    Route("POST", "/brand-voices", P.BRAND_VOICE_MANAGE, body={"name": "Another"}),
    Route("GET", "/brand-voices/{voice}", P.BRAND_VOICE_READ),
    Route("PUT", "/brand-voices/{voice}", P.BRAND_VOICE_MANAGE, body={"name": "House"}),
    Route("DELETE", "/brand-voices/{random}", P.BRAND_VOICE_MANAGE, OK_OR_MISSING),
    Route("POST", "/content-requests", P.POST_CREATE, body={"topic": "Table-driven tests"}),
    Route("GET", "/content-requests/{post}", P.POST_READ_OWN),
    Route("GET", "/posts", P.POST_READ_OWN),
    Route("GET", "/posts/{post}", P.POST_READ_OWN),
    Route("PATCH", "/posts/{post}", P.POST_EDIT_OWN, OK_OR_STATE, {"body": "Edited text."}),
    Route("POST", "/posts/{post}/submit", P.POST_SUBMIT_OWN, OK_OR_STATE),
    Route("POST", "/posts/{post}/approve", P.POST_REVIEW, OK_OR_STATE),
    Route("POST", "/posts/{post}/reject", P.POST_REVIEW, OK_OR_STATE, {"note": "Needs work"}),
    Route(
        "POST",
        "/posts/{post}/schedule",
        P.POST_PUBLISH_OWN,
        OK_OR_STATE,
        {"at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    ),
    Route("POST", "/posts/{post}/unschedule", P.POST_PUBLISH_OWN, OK_OR_STATE),
    Route("POST", "/posts/{post}/publish", P.POST_PUBLISH_OWN, OK_OR_STATE),
    Route("GET", "/usage", P.ORG_READ),
    Route("GET", "/campaigns", P.CAMPAIGN_READ),
    Route(
        "POST",
        "/campaigns",
        P.CAMPAIGN_MANAGE,
        body={"name": "Launch", "message": "Our EU region is live", "participants": ["{spare}"]},
    ),
    Route("GET", "/campaigns/{campaign}", P.CAMPAIGN_READ),
    Route("POST", "/campaigns/{campaign}/retry", P.CAMPAIGN_MANAGE),
    Route("GET", "/api-keys", P.API_KEYS_MANAGE),
    Route("POST", "/api-keys", P.API_KEYS_MANAGE, body={"name": "ci", "scopes": ["org.read"]}),
    Route("DELETE", "/api-keys/{random}", P.API_KEYS_MANAGE, OK_OR_MISSING),
    Route("GET", "/billing", P.ORG_READ),
    # The service runs with GHOSTART_BILLING=none: admins get past RBAC to 404 billing_not_configured.
    Route("POST", "/billing/checkout", P.BILLING_MANAGE, frozenset({404}), {"plan": "pro"}),
    Route("POST", "/billing/portal", P.BILLING_MANAGE, frozenset({404})),
    # The service publishes dry-run: members get past RBAC to 404 linkedin_not_configured.
    Route("GET", "/linkedin/connect", P.POST_PUBLISH_OWN, frozenset({404})),
    Route("GET", "/linkedin/connection", P.POST_PUBLISH_OWN),
    Route("DELETE", "/linkedin/connection", P.POST_PUBLISH_OWN),
    Route("GET", "/analytics/daily", P.ORG_MANAGE),
    Route("GET", "/analytics/export.csv", P.ORG_MANAGE),
    Route("POST", "/analytics/page-views", P.ORG_READ, body={"page": "/"}),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.fixture
async def setting(service: Api, org: Org, make_org: MakeOrg) -> dict[str, Any]:
    c = service.client
    spare = uuid4()
    await c.get("/v1/me", headers=service.auth(spare, "spare@acme.example.com"))
    added = await c.post(
        org.url("/members"), json={"user_id": str(spare), "role": "employee"}, headers=org.admin
    )
    assert added.status_code == 201
    made = await c.post(
        org.url("/content-requests?wait=10"),
        json={"topic": "An employee post"},
        headers=org.employee,
    )
    campaign = await c.post(
        org.url("/campaigns"),
        json={"name": "Launch", "message": "Our launch", "participants": [str(spare)]},
        headers=org.admin,
    )
    assert campaign.status_code == 201, campaign.text
    other = await make_org("Other")
    ids = {
        "campaign": campaign.json()["id"],
        "post": made.json()["id"],
        "voice": str(org.voice_id),
        "spare": str(spare),
        "random": str(uuid4()),
    }
    return {"ids": ids, "other": other}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path or '/'}")
async def test_route_answers_each_caller_by_the_permission_table(
    service: Api, org: Org, setting: dict[str, Any], route: Route
) -> None:
    ids: dict[str, str] = setting["ids"]
    other: Org = setting["other"]
    path = org.url(_fill(route.path, ids))
    body = _fill(route.body, ids)
    callers = {
        Role.ADMIN: org.admin,
        Role.BRAND_CREATOR: org.creator,
        Role.EMPLOYEE: org.employee,
    }
    for role, headers in callers.items():
        response = await service.client.request(route.method, path, headers=headers, json=body)
        holds = (
            route.permission in PERMISSIONS[role] or _any_of(route.permission) in PERMISSIONS[role]
        )
        if holds:
            assert response.status_code in route.permitted, (
                role,
                response.status_code,
                response.text,
            )
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
            assert response.json()["code"] == "permission_denied"
    outsider = await service.client.request(route.method, path, headers=other.admin, json=body)
    assert outsider.status_code == 404, outsider.text
    anonymous = await service.client.request(route.method, path, json=body)
    assert anonymous.status_code == 401


def _any_of(permission: Permission) -> Permission:
    value = permission.value
    return Permission(value.removesuffix("_own") + "_any") if value.endswith("_own") else permission


def test_the_table_covers_every_protected_route(service: Api) -> None:
    covered = {
        (r.method, "/v1/organizations/{organization_id}" + _template(r.path)) for r in ROUTES
    }
    paths = service.api.openapi()["paths"]
    protected = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/organizations/{organization_id}")
        for method in operations
    }
    assert len(protected) >= 25  # the walk found the routes
    assert protected <= covered, sorted(protected - covered)


def _template(path: str) -> str:
    return (
        path.replace("{post}", "{post_id}")
        .replace("{voice}", "{voice_id}")
        .replace("{campaign}", "{campaign_id}")
        .replace("{spare}", "{user_id}")
        .replace("/members/{random}", "/members/{user_id}")
        .replace("/brand-voices/{random}", "/brand-voices/{voice_id}")
        .replace("/api-keys/{random}", "/api-keys/{key_id}")
    )


@dataclass(frozen=True)
class UserRoute:
    method: str
    path: str
    body: Any = None
    status: int = 200


USER_ROUTES = [
    UserRoute("GET", "/v1/me"),
    UserRoute("PATCH", "/v1/me", {"timezone": "Europe/Paris"}),
    UserRoute("GET", "/v1/me/email-preferences"),
    UserRoute("PATCH", "/v1/me/email-preferences", {"digest": False}),
    UserRoute("POST", "/v1/organizations", {"name": "Side project"}, 201),
    UserRoute("GET", "/v1/linkedin/callback", status=404),  # dry-run: linkedin_not_configured
    UserRoute("GET", "/v1/email/recent"),
]
PUBLIC_ROUTES = {
    ("GET", "/v1/plans"),
    ("POST", "/v1/webhooks/{provider}"),
    # Email: the signed token is the credential; the webhook's is its signature.
    ("POST", "/v1/email/unsubscribe"),
    ("POST", "/v1/email/webhooks/{provider}"),
}


@pytest.mark.parametrize("route", USER_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_user_routes_answer_people_only(service: Api, org: Org, route: UserRoute) -> None:
    c = service.client
    created = await c.post(
        org.url("/api-keys"), json={"name": "bot", "scopes": ["org.read"]}, headers=org.admin
    )
    key = created.json()["key"]
    for headers in (org.admin, org.creator, org.employee):
        response = await c.request(route.method, route.path, headers=headers, json=route.body)
        assert response.status_code == route.status, (headers, response.text)
    for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}, {}):
        response = await c.request(route.method, route.path, headers=headers, json=route.body)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["code"] == "unauthenticated"


def test_every_route_outside_an_organization_is_a_user_or_public_route(service: Api) -> None:
    paths = service.api.openapi()["paths"]
    outside = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/") and not path.startswith("/v1/organizations/{organization_id}")
        for method in operations
    }
    assert outside == {(r.method, r.path) for r in USER_ROUTES} | PUBLIC_ROUTES
