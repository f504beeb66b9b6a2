"""No response carries a key hash, a ciphertext or a token: fields are allow-listed per model."""

from __future__ import annotations

import sqlite3
from uuid import uuid4

import httpx

from ghostart.web.routers.api_keys import ApiKeyCreated, ApiKeyOut
from ghostart.web.routers.campaigns import (
    CampaignDetail,
    CampaignOut,
    CampaignStarted,
    SkippedOut,
    VariantOut,
)
from ghostart.web.schemas import (
    BrandVoiceOut,
    EmailPreferencesOut,
    MemberOut,
    OrganizationOut,
    PostOut,
    UserOut,
)
from tests.service.conftest import Api, Org

ALLOWED = {
    UserOut: {"id", "email", "name", "timezone", "headline", "about", "joins_campaigns"},
    EmailPreferencesOut: {"transactional", "notifications", "digest"},
    OrganizationOut: {"id", "name", "settings", "created_at", "role"},
    MemberOut: {"user_id", "role"},
    BrandVoiceOut: {
        "id", "name", "tone", "audience", "topics", "example_posts", "words_to_avoid", "emoji",
        "hashtags", "version", "created_at", "updated_at",
    },
    PostOut: {
        "id", "author_id", "brand_voice_id", "campaign_id", "status", "body", "request", "from_cache",
        "ai_generated", "notice", "review_note", "reviewed_by", "scheduled_at", "published_at",
        "external_url", "error", "revision", "created_at", "updated_at",
    },
    ApiKeyOut: {
        "id", "name", "key_prefix", "scopes", "created_by", "created_at", "last_used_at",
        "revoked_at",
    },
    CampaignOut: {
        "id", "name", "message", "link", "goal", "call_to_action", "format", "length",
        "language", "brand_voice_id", "created_by", "created_at", "counts",
    },
    VariantOut: {
        "user_id", "post_id", "variant", "status", "published_at", "external_url", "error",
    },
    SkippedOut: {"user_id", "reason"},
}  # fmt: skip
#: Responses that extend another one, and what each adds.
EXTENDS = {
    CampaignDetail: (CampaignOut, {"variants", "published"}),
    CampaignStarted: (CampaignDetail, {"skipped"}),
}


def test_response_models_expose_only_their_allow_lists() -> None:
    for model, allowed in ALLOWED.items():
        assert set(model.model_fields) == allowed, model.__name__
    for model, (base, added) in EXTENDS.items():
        assert set(model.model_fields) == set(base.model_fields) | added, model.__name__
    # The one response that carries a secret: the API key, at creation, once.
    assert set(ApiKeyCreated.model_fields) - set(ApiKeyOut.model_fields) == {"key"}


async def test_no_body_contains_a_hash_a_ciphertext_or_a_token(service: Api, org: Org) -> None:
    bodies: list[tuple[str, bytes]] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        bodies.append((f"{response.request.method} {response.request.url.path}", response.content))

    c = service.client
    c.event_hooks["response"].append(keep)
    created = await c.post(
        org.url("/api-keys"), json={"name": "bot", "scopes": ["org.read"]}, headers=org.admin
    )
    key = created.json()["key"]
    await c.get(org.url(), headers={"X-API-Key": key})
    made = await c.post(
        org.url("/content-requests?wait=10"), json={"topic": "Secrets stay"}, headers=org.employee
    )
    post = org.url(f"/posts/{made.json()['id']}")
    await c.patch("/v1/me", json={"name": "Ada", "timezone": "Europe/Paris"}, headers=org.admin)
    await c.patch("/v1/me/email-preferences", json={"digest": False}, headers=org.admin)
    started = await c.post(
        org.url("/campaigns"), json={"name": "Launch", "message": "Our launch"}, headers=org.admin
    )
    assert started.status_code == 201, started.text
    campaign = org.url(f"/campaigns/{started.json()['id']}")
    for method, path in (
        ("GET", org.url("/campaigns")),
        ("GET", campaign),
        ("POST", campaign + "/retry"),
        ("GET", "/v1/me"),
        ("GET", "/v1/me/email-preferences"),
        ("GET", org.url()),
        ("GET", org.url("/members")),
        ("GET", org.url("/brand-voices")),
        ("GET", org.url("/posts")),
        ("GET", post),
        ("GET", org.url("/api-keys")),
        ("GET", org.url("/usage")),
        ("GET", f"/v1/organizations/{uuid4()}"),
        ("POST", post + "/approve"),
    ):
        await c.request(method, path, headers=org.admin)
    await c.get(org.url(), headers={"Authorization": "Bearer " + key[:-2] + "zz"})

    with sqlite3.connect(service.home / "ghostart.db") as db:
        hashes = [row[0] for row in db.execute("SELECT key_hash FROM api_keys")]
        ciphertexts = [row[0] for row in db.execute("SELECT ciphertext FROM secrets")]
    assert hashes and ciphertexts  # the secrets exist, so their absence below means something
    tokens = [
        v.removeprefix("Bearer ")
        for h in (org.admin, org.creator, org.employee)
        for v in h.values()
    ]
    forbidden = [str(v) for v in (*hashes, *ciphertexts, *tokens)]
    assert len(bodies) >= 21
    for where, body in bodies:
        text = body.decode()
        for secret in forbidden:
            assert secret not in text, where
        if where != f"POST {org.url('/api-keys')}":
            assert key not in text, where
