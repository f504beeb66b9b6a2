"""A running API (httpx over ASGI, lifespan included) and signed-in callers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from ghostart.app import Ghostart
from ghostart.testing import CountingGenerator
from ghostart.web.app import create_app
from ghostart.web.jwt import mint_dev_token
from ghostart.web.settings import load_web_settings, local_jwt_secret
from tests.support import make_settings


@dataclass
class Api:
    """The service under test, and a way to sign in as anyone."""

    api: FastAPI
    app: Ghostart
    client: httpx.AsyncClient
    home: Path

    def token(self, user_id: UUID | None = None, email: str | None = None, **claims: Any) -> str:
        return mint_dev_token(
            local_jwt_secret(self.home), user_id or uuid4(), email=email, **claims
        )

    def auth(self, user_id: UUID, email: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, email)}"}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Api]:
    settings = make_settings(tmp_path, generation_rate_limit=1000)
    core = Ghostart.from_settings(settings, generator=CountingGenerator())
    web = load_web_settings(home=tmp_path, api_key_failures_per_minute=5)
    api = create_app(core, web_settings=web)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(api, core, client, tmp_path)


@dataclass
class Org:
    """An organization made through the API, with one member of each role."""

    id: UUID
    admin: dict[str, str]
    creator: dict[str, str]
    employee: dict[str, str]
    voice_id: UUID
    user_ids: dict[str, UUID]

    def url(self, path: str = "") -> str:
        return f"/v1/organizations/{self.id}{path}"


MakeOrg = Callable[[str], Awaitable[Org]]


@pytest.fixture
def make_org(service: Api) -> MakeOrg:
    async def make(name: str) -> Org:
        ids = {role: uuid4() for role in ("admin", "brand_creator", "employee")}
        headers = {
            role: service.auth(uid, f"{role}@{name.lower()}.example.com")
            for role, uid in ids.items()
        }
        c = service.client
        created = await c.post("/v1/organizations", json={"name": name}, headers=headers["admin"])
        assert created.status_code == 201, created.text
        org_id = UUID(created.json()["id"])
        for role in ("brand_creator", "employee"):
            assert (await c.get("/v1/me", headers=headers[role])).status_code == 200  # sign in
            added = await c.post(
                f"/v1/organizations/{org_id}/members",
                json={"email": f"{role}@{name.lower()}.example.com", "role": role},
                headers=headers["admin"],
            )
            assert added.status_code == 201, added.text
        voice = await c.post(
            f"/v1/organizations/{org_id}/brand-voices",
            json={"name": "House", "topics": ["engineering"], "words_to_avoid": ["synergy"]},
            headers=headers["admin"],
        )
        assert voice.status_code == 201, voice.text
        return Org(
            org_id,
            headers["admin"],
            headers["brand_creator"],
            headers["employee"],
            UUID(voice.json()["id"]),
            ids,
        )

    return make


@pytest.fixture
async def org(make_org: MakeOrg) -> Org:
    return await make_org("Acme")
