"""HEAD on every GET route: the GET's status and headers, never a body."""

from __future__ import annotations

from tests.service.conftest import Api, MakeOrg, Org


async def test_head_mirrors_get_without_the_body(service: Api, org: Org) -> None:
    c = service.client
    got = await c.get(org.url("/members"), headers=org.admin)

    head = await c.head(org.url("/members"), headers=org.admin)

    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "content-length", "content-type", "cache-control"):
        assert head.headers[name] == got.headers[name], name


async def test_head_honours_if_none_match(service: Api, org: Org) -> None:
    etag = (await service.client.get(org.url(), headers=org.admin)).headers["etag"]

    head = await service.client.head(org.url(), headers=org.admin | {"If-None-Match": etag})

    assert head.status_code == 304 and head.content == b""


async def test_head_is_authorised_like_get(service: Api, org: Org, make_org: MakeOrg) -> None:
    other_org = await make_org("Other")
    c = service.client
    assert (await c.head(org.url("/members"))).status_code == 401
    assert (await c.head(org.url("/members"), headers=other_org.admin)).status_code == 404
    assert (await c.head(org.url("/api-keys"), headers=org.employee)).status_code == 403
    assert (await c.head(org.url("/members"), headers=org.employee)).content == b""


async def test_head_on_a_post_only_route_is_405(service: Api, org: Org) -> None:
    head = await service.client.head(org.url("/content-requests"), headers=org.admin)

    assert head.status_code == 405 and "POST" in head.headers["allow"]


async def test_head_is_measured_as_head_on_its_route(service: Api, org: Org) -> None:
    counters = service.app.monitor.counters  # type: ignore[attr-defined]
    before = dict(counters)

    await service.client.head(org.url(), headers=org.admin)

    grown = [k for k, v in counters.items() if v != before.get(k, 0)]
    keys = [k for k in grown if k.startswith("ghostart.http.requests")]
    assert any("HEAD" in k and "/v1/organizations/{organization_id}" in k for k in keys), keys
