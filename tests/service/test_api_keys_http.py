"""API keys through the HTTP API: shown once, scoped, bound to their organization, revocable."""

from __future__ import annotations

from tests.service.conftest import Api, MakeOrg, Org


async def _key(service: Api, org: Org, scopes: list[str]) -> tuple[str, str]:
    created = await service.client.post(
        org.url("/api-keys"), json={"name": "CI bot", "scopes": scopes}, headers=org.admin
    )
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    assert body["key"].startswith(body["key_prefix"])
    return body["id"], body["key"]


async def test_a_key_acts_in_its_organization_within_its_scopes(service: Api, org: Org) -> None:
    c = service.client
    key_id, key = await _key(service, org, ["org.read", "brand_voice.read", "post.create"])
    as_key = {"X-API-Key": key}
    assert (await c.get(org.url(), headers=as_key)).status_code == 200
    assert (await c.get(org.url(), headers={"Authorization": f"Bearer {key}"})).status_code == 200
    made = await c.post(
        org.url("/content-requests?wait=10"), json={"topic": "From a bot"}, headers=as_key
    )
    assert made.status_code == 200 and made.json()["status"] == "draft"
    outside_scope = await c.put(
        org.url(f"/brand-voices/{org.voice_id}"), json={"name": "Bot voice"}, headers=as_key
    )
    assert outside_scope.status_code == 403
    assert (await c.get("/v1/me", headers=as_key)).status_code == 401  # a key is not a person
    listed = (await c.get(org.url("/api-keys"), headers=org.admin)).json()["items"]
    assert [k["id"] for k in listed] == [key_id]
    assert "key" not in listed[0] and all(key not in str(v) for v in listed[0].values())


async def test_a_key_never_reaches_another_organization(
    service: Api, org: Org, make_org: MakeOrg
) -> None:
    other = await make_org("Other")
    _, key = await _key(service, org, ["org.read"])
    response = await service.client.get(other.url(), headers={"X-API-Key": key})
    assert response.status_code == 404


async def test_revoked_mistyped_and_forged_keys_are_401(service: Api, org: Org) -> None:
    c = service.client
    key_id, key = await _key(service, org, ["org.read"])
    mistyped = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert (await c.get(org.url(), headers={"X-API-Key": mistyped})).status_code == 401
    forged = key[: len(key) // 2] + "0" * (len(key) - len(key) // 2)
    assert (await c.get(org.url(), headers={"X-API-Key": forged})).status_code == 401
    revoked = await c.delete(org.url(f"/api-keys/{key_id}"), headers=org.admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = await c.get(org.url(), headers={"X-API-Key": key})
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"


async def test_repeated_failures_from_one_address_are_slowed_down(service: Api, org: Org) -> None:
    c = service.client
    _, key = await _key(service, org, ["org.read"])
    statuses = [
        (await c.get(org.url(), headers={"X-API-Key": "gha_live_" + "x" * 50})).status_code
        for _ in range(8)
    ]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    again = await c.get(org.url(), headers={"X-API-Key": "gha_live_" + "y" * 50})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
    # Valid keys from the same address (one office behind a NAT) and people still get in.
    assert (await c.get(org.url(), headers={"X-API-Key": key})).status_code == 200
    assert (await c.get(org.url(), headers=org.admin)).status_code == 200


async def test_a_key_can_not_remove_its_creator_or_read_posts_without_scopes(
    service: Api, org: Org
) -> None:
    c = service.client
    await c.post(
        org.url("/content-requests?wait=10"), json={"topic": "Admin's own"}, headers=org.admin
    )
    _, key = await _key(service, org, ["org.read"])
    as_key = {"X-API-Key": key}
    leave = await c.delete(org.url(f"/members/{org.user_ids['admin']}"), headers=as_key)
    assert leave.status_code == 403  # "leaving" is a person's choice, not a key's
    assert (await c.get(org.url("/posts"), headers=as_key)).status_code == 403
    assert (await c.get(org.url(), headers=org.admin)).status_code == 200


async def test_only_admins_manage_keys_and_scopes_are_validated(service: Api, org: Org) -> None:
    c = service.client
    denied = await c.post(
        org.url("/api-keys"), json={"name": "x", "scopes": ["org.read"]}, headers=org.creator
    )
    assert denied.status_code == 403
    bogus = await c.post(
        org.url("/api-keys"), json={"name": "x", "scopes": ["root"]}, headers=org.admin
    )
    assert bogus.status_code == 422
    empty = await c.post(org.url("/api-keys"), json={"name": "x", "scopes": []}, headers=org.admin)
    assert empty.status_code == 422
