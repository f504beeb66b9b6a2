"""A cache-hit content request through the whole service vs. a bare FastAPI endpoint.

All are served in this process over httpx's ASGI transport, with the same client and the same
concurrency, so the ratio is what ghostart's path costs next to the framework's own: the
content request authenticates a JWT, resolves the membership, checks two rate limits, reads the
brand voice, hits the cache and stores the post. Printed, never asserted (goal: at least 0.8).

Two more baselines (``_handwritten.py``) bound what any implementation can reach:

- *verify only*: the same request answered with a post of the same size after verifying the
  token and validating the body, storing nothing. Its ratio to the bare endpoint is the ceiling
  for any route that authenticates its caller, on this transport.
- *hand-written*: the same work as ghostart in its barest form (PyJWT, pydantic, four statements
  on one SQLite file, one commit). Its ratio is the ceiling for verify + store; ghostart's ratio
  to it is what the library's layers cost.

The paths are measured in interleaved rounds and each rate is the median of its rounds, so a
noisy neighbour slows all of them alike rather than one.

``nox -s bench``, or ``GHOSTART_TEST_BENCH=1 pytest tests/benchmarks -s -q -p no:cacheprovider``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
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
from tests.benchmarks._handwritten import handwritten_app, verify_only_app
from tests.support import make_settings

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("GHOSTART_TEST_BENCH") != "1",
        reason="benchmark: run `nox -s bench` (or set GHOSTART_TEST_BENCH=1)",
    ),
    pytest.mark.timeout(900),
]

REQUESTS = 1_500
CONCURRENCY = 20
ROUNDS = 3

Send = Callable[[], Awaitable[httpx.Response]]


async def _rate(send: Send) -> float:
    """Requests per second of ``send``, ``CONCURRENCY`` at a time."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with slots:
            response = await send()
            assert response.status_code == 200, response.text

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(REQUESTS)))
    return REQUESTS / (time.perf_counter() - started)


async def _client(stack: contextlib.AsyncExitStack, app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://t")
    )


async def test_cache_hit_content_request_vs_bare_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        tmp_path, generation_rate_limit=1_000_000, default_monthly_generations=None
    )
    web = load_web_settings(home=tmp_path, org_request_rate_limit=1_000_000)
    core = Ghostart.from_settings(settings, generator=OfflineGenerator())
    api = create_app(core, web_settings=web)
    secret = local_jwt_secret(tmp_path)

    bare = FastAPI()

    @bare.get("/bare")
    async def bare_endpoint() -> dict[str, bool]:
        return {"ok": True}

    async with api.router.lifespan_context(api), contextlib.AsyncExitStack() as stack:
        user = uuid4()
        headers = {
            "Authorization": "Bearer " + mint_dev_token(secret, user, email="bench@example.com")
        }
        client = await _client(stack, api)
        org = (await client.post("/v1/organizations", json={"name": "B"}, headers=headers)).json()
        url = f"/v1/organizations/{org['id']}"
        await client.post(url + "/brand-voices", json={"name": "V"}, headers=headers)
        body = {"topic": "Benchmarking the cache"}
        first = await client.post(url + "/content-requests?wait=10", json=body, headers=headers)
        assert first.status_code == 200

        async def content() -> httpx.Response:
            response = await client.post(url + "/content-requests", json=body, headers=headers)
            assert response.json()["from_cache"] is True
            return response

        bare_client = await _client(stack, bare)
        verify_client = await _client(stack, verify_only_app(secret))
        hand_client = await _client(
            stack,
            handwritten_app(
                tmp_path / "handwritten.db",
                secret,
                organization_id=UUID(org["id"]),
                user_id=user,
                cache_key=cache_key("same-request"),
            ),
        )
        paths: dict[str, Send] = {
            "content": content,
            "health": lambda: client.get("/health"),
            "bare": lambda: bare_client.get("/bare"),
            "verify": lambda: verify_client.post(
                url + "/content-requests", json=body, headers=headers
            ),
            "hand": lambda: hand_client.post(url + "/content-requests", json=body, headers=headers),
        }
        for send in paths.values():  # warm every path the same way
            await _rate(send)
        rounds: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(ROUNDS):
            for name, send in paths.items():
                rounds[name].append(await _rate(send))
        sizes = {
            "content": len((await content()).content),
            "verify": len((await paths["verify"]()).content),
        }

    r = {name: statistics.median(rates) for name, rates in rounds.items()}
    spread = max(max(v) / min(v) for v in rounds.values())
    lines = [
        "",
        f"service benchmark (median of {ROUNDS} interleaved rounds of {REQUESTS} requests, "
        f"{CONCURRENCY} at once, httpx ASGI transport; widest spread of a path's rounds "
        f"{spread:.2f}x)",
        f"  cache-hit content request:           {r['content']:8.0f} req/s "
        f"({sizes['content']} B answers)",
        f"  /health (same app, same middleware): {r['health']:8.0f} req/s",
        f"  bare FastAPI endpoint:               {r['bare']:8.0f} req/s",
        f"  verify only, no storage:             {r['verify']:8.0f} req/s "
        f"({sizes['verify']} B answers)",
        f"  hand-written equivalent:             {r['hand']:8.0f} req/s",
        f"  ratio content / bare:         {r['content'] / r['bare']:.3f}  (goal >= 0.8)",
        f"  ratio verify only / bare:     {r['verify'] / r['bare']:.3f}"
        "  (the ceiling for any route that verifies its caller, on this transport)",
        f"  ratio hand-written / bare:    {r['hand'] / r['bare']:.3f}"
        "  (the ceiling for verify + store)",
        f"  ratio content / hand-written: {r['content'] / r['hand']:.3f}"
        "  (what ghostart's layers cost)",
        f"  ratio content / /health:      {r['content'] / r['health']:.3f}",
    ]
    with capsys.disabled():
        print("\n".join(lines))
