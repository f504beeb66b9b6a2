"""Authentication failures, problem bodies, body limits, HTTP caching and request metrics."""

from __future__ import annotations

from uuid import uuid4

from tests.service.conftest import Api, Org


async def test_missing_or_malformed_credentials_are_401_problems(service: Api, org: Org) -> None:
    c = service.client
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer " + service.token(uuid4())[:-3] + "abc"},  # bad signature
    ):
        r = await c.get(org.url(), headers=headers)
        assert r.status_code == 401, (headers, r.status_code)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        body = r.json()
        assert body["status"] == 401 and body["code"] == "unauthenticated"
        assert "token" not in {k for k in body if k not in ("detail", "title", "type")}


async def test_a_stranger_with_a_valid_token_sees_404(service: Api, org: Org) -> None:
    stranger = service.auth(uuid4(), "stranger@example.com")
    assert (await service.client.get(org.url(), headers=stranger)).status_code == 404


async def test_bodies_over_the_limit_are_413(service: Api, org: Org) -> None:
    big = b'{"topic": "' + b"x" * 1_100_000 + b'"}'
    r = await service.client.post(
        org.url("/content-requests"),
        content=big,
        headers=org.employee | {"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["status"] == 413

    async def chunks():  # streamed without a Content-Length
        for _ in range(20):
            yield b"x" * 100_000

    streamed = await service.client.post(
        org.url("/content-requests"),
        content=chunks(),
        headers=org.employee | {"content-type": "application/json"},
    )
    assert streamed.status_code == 413


async def test_unknown_routes_and_methods_are_problems_not_500(service: Api, org: Org) -> None:
    c = service.client
    r = await c.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await c.delete("/v1/plans")
    assert r.status_code == 405
    r = await c.get("/v1/organizations/not-a-uuid", headers=org.admin)
    assert r.status_code == 422 and r.json()["field"] == "path.organization_id"


async def test_safe_gets_carry_etags_and_private_cache_control(service: Api, org: Org) -> None:
    c = service.client
    first = await c.get(org.url(), headers=org.admin)
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
    again = await c.get(org.url(), headers=org.admin | {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    await c.patch(org.url("/settings"), json={"timezone": "Asia/Tokyo"}, headers=org.admin)
    changed = await c.get(org.url(), headers=org.admin | {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    public = await c.get("/v1/plans")
    assert public.headers["cache-control"].startswith("public, max-age=")
    with_credentials = await c.get("/v1/plans", headers=org.admin)
    assert with_credentials.headers["cache-control"] == "private, no-cache"
    post = await c.post(org.url("/content-requests"), json={"topic": "no etag"}, headers=org.admin)
    assert "etag" not in post.headers


async def test_every_request_is_measured_by_route_template(service: Api, org: Org) -> None:
    counters = service.app.monitor.counters  # type: ignore[attr-defined]
    before = dict(counters)
    await service.client.get(org.url(), headers=org.admin)
    await service.client.get(f"/v1/organizations/{uuid4()}", headers=org.admin)
    grown = {k: v - before.get(k, 0) for k, v in counters.items() if v != before.get(k, 0)}
    keys = [k for k in grown if k.startswith("ghostart.http.requests")]
    assert any("/v1/organizations/{organization_id}" in k and "200" in k for k in keys), keys
    assert any("404" in k for k in keys)
    assert not any(str(org.id) in k for k in keys)  # ids never become metric labels


async def test_bad_content_length_headers_are_400_not_500(service: Api, org: Org) -> None:
    for value in ("9" * 5000, "-1", "abc", "+5"):
        r = await service.client.post(
            org.url("/content-requests"),
            content=b"{}",
            headers=org.employee | {"content-type": "application/json", "content-length": value},
        )
        assert r.status_code == 400, (value[:10], r.status_code)
        assert r.json()["status"] == 400


async def test_if_none_match_uses_weak_comparison(service: Api, org: Org) -> None:
    c = service.client
    etag = (await c.get(org.url(), headers=org.admin)).headers["etag"]
    for header in (etag, etag.removeprefix("W/"), "*", f'"nope", {etag}'):
        r = await c.get(org.url(), headers=org.admin | {"If-None-Match": header})
        assert r.status_code == 304, header
    assert (
        await c.get(org.url(), headers=org.admin | {"If-None-Match": '"nope"'})
    ).status_code == 200


async def test_bodies_too_big_to_hash_stream_out_complete() -> None:
    import httpx

    from ghostart.web.middleware import HTTPCacheMiddleware

    async def chunked(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(5):
            await send({"type": "http.response.body", "body": b"x" * 10, "more_body": i < 4})

    app = HTTPCacheMiddleware(chunked, max_body=25)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        r = await client.get("/", headers={"Authorization": "Bearer x"})
    assert r.status_code == 200 and r.content == b"x" * 50  # every chunk, nothing cut off
    assert r.headers["cache-control"] == "private, no-cache" and "etag" not in r.headers


def test_route_templates_keep_prefixes_and_never_ids() -> None:
    from types import SimpleNamespace

    from ghostart.web.middleware import route_template

    route = SimpleNamespace(path="/organizations/{organization_id}/posts/{post_id}")
    same = "0b1e0c56-6c4b-4b8a-9a7e-1c2d3e4f5a6b"
    scope = {"route": route, "path": f"/v1/organizations/{same}/posts/{same}"}
    assert route_template(scope) == "/v1/organizations/{organization_id}/posts/{post_id}"
    assert (
        route_template({"route": SimpleNamespace(path="/health"), "path": "/health"}) == "/health"
    )
    assert route_template({"path": "/nothing"}) == "unmatched"


async def test_nul_characters_get_422_naming_the_field(service: Api, org: Org) -> None:
    c = service.client
    for url, body, field in (
        (org.url("/content-requests"), {"topic": "a\u0000b c"}, "topic"),
        (org.url("/brand-voices"), {"name": "V\u0000"}, "name"),
        ("/v1/organizations", {"name": "\u0000"}, "name"),
    ):
        r = await c.post(url, json=body, headers=org.admin)
        assert r.status_code == 422, r.text
        assert r.json()["field"].endswith(field), r.text
