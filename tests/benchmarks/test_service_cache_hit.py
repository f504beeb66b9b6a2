"""A cache-hit content request through the whole service vs. a bare FastAPI endpoint.

All are served in this process over httpx's ASGI transport, with the same client and the same
concurrency, so the ratio is what ghostart's path costs next to the framework's own: the
content request authenticates a JWT, resolves the membership, checks two rate limits, reads the
brand voice, hits the cache and stores the post. Printed, never asserted (goal: at least 0.8).

A second baseline is the same request hand-written in its barest form (``_handwritten.py``:
PyJWT, pydantic, four statements on one SQLite file, one commit). Its own ratio to the bare
endpoint is the ceiling any service that verifies the caller and stores the post can reach on
this transport; the ratio of ghostart to it is what the library's layers cost.

``nox -s bench``, or ``GHOSTART_TEST_BENCH=1 pytest tests/benchmarks -s -q -p no:cacheprovider``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from ghostart.app import Ghostart
from ghostart.builtin.generator_offline import OfflineGenerator
from ghostart.services.generation import cache_key
from ghostart.web.app import create_app
from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import load_web_settings, local_jwt_secret
from tests.benchmarks._handwritten import handwritten_app
from tests.support import make_settings

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("GHOSTART_TEST_BENCH") != "1",
        reason="benchmark: run `nox -s bench` (or set GHOSTART_TEST_BENCH=1)",
    ),
    pytest.mark.timeout(900),
]

REQUESTS = 2_000
CONCURRENCY = 20


async def _rate(client: httpx.AsyncClient, send: object) -> float:
    """Requests per second of ``send`` (an async callable), ``CONCURRENCY`` at a time."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with slots:
            response = await send()  # type: ignore[operator]
            assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return REQUESTS / (time.perf_counter() - started)


async def test_cache_hit_content_request_vs_bare_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        tmp_path, generation_rate_limit=1_000_000, default_monthly_generations=None
    )
    web = load_web_settings(home=tmp_path, org_request_rate_limit=1_000_000)
    core = Ghostart.from_settings(settings, generator=OfflineGenerator())
    api = create_app(core, web_settings=web)

    bare = FastAPI()

    @bare.get("/bare")
    async def bare_endpoint() -> dict[str, bool]:
        return {"ok": True}

    async with api.router.lifespan_context(api):
        user = uuid4()
        headers = {
            "Authorization": "Bearer "
            + mint_dev_token(local_jwt_secret(tmp_path), user, email="bench@example.com")
        }
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            org = (
                await client.post("/v1/organizations", json={"name": "B"}, headers=headers)
            ).json()
            url = f"/v1/organizations/{org['id']}"
            await client.post(url + "/brand-voices", json={"name": "V"}, headers=headers)
            body = {"topic": "Benchmarking the cache"}
            first = await client.post(url + "/content-requests?wait=10", json=body, headers=headers)
            assert first.status_code == 200

            async def content() -> httpx.Response:
                response = await client.post(url + "/content-requests", json=body, headers=headers)
                assert response.json()["from_cache"] is True
                return response

            async def health() -> httpx.Response:
                return await client.get("/health")

            await _rate(client, content)  # warm both paths the same way
            content_rate = await _rate(client, content)
            health_rate = await _rate(client, health)
        bare_transport = httpx.ASGITransport(app=bare)
        async with httpx.AsyncClient(transport=bare_transport, base_url="http://t") as client:

            async def plain() -> httpx.Response:
                return await client.get("/bare")

            await _rate(client, plain)
            bare_rate = await _rate(client, plain)

        by_hand = handwritten_app(
            tmp_path / "handwritten.db",
            local_jwt_secret(tmp_path),
            organization_id=UUID(org["id"]),
            user_id=user,
            cache_key=cache_key("same-request"),
        )
        hand_transport = httpx.ASGITransport(app=by_hand)
        async with httpx.AsyncClient(transport=hand_transport, base_url="http://t") as client:

            async def handwritten() -> httpx.Response:
                return await client.post(url + "/content-requests", json=body, headers=headers)

            await _rate(client, handwritten)
            handwritten_rate = await _rate(client, handwritten)

    lines = [
        "",
        f"service benchmark ({REQUESTS} requests, {CONCURRENCY} at once, httpx ASGI transport)",
        f"  cache-hit content request: {content_rate:8.0f} req/s",
        f"  /health (same app, same middleware): {health_rate:8.0f} req/s",
        f"  bare FastAPI endpoint:     {bare_rate:8.0f} req/s",
        f"  hand-written equivalent:   {handwritten_rate:8.0f} req/s",
        f"  ratio content / bare:      {content_rate / bare_rate:.3f}  (goal >= 0.8)",
        f"  ratio hand-written / bare: {handwritten_rate / bare_rate:.3f}"
        "  (the ceiling for verify + store on this transport)",
        f"  ratio content / hand-written: {content_rate / handwritten_rate:.3f}",
        f"  ratio content / /health:   {content_rate / health_rate:.3f}",
    ]
    with capsys.disabled():
        print("\n".join(lines))
