"""API keys of an organization: created (shown once), listed, revoked (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ghostart.web.auth import OrgPrincipal
from ghostart.web.routers._common import ORG, ghostart_of

router = APIRouter(tags=["api keys"])


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] = Field(min_length=1, max_length=50)


class ApiKeyOut(BaseModel):
    """An API key as listed: never its secret or its hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    name: str
    key_prefix: str
    scopes: list[str]
    created_by: UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: Any) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            key_prefix=key.key_prefix,
            scopes=sorted(str(s) for s in key.scopes),
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    """The new key, with its secret: shown this once, never again."""

    key: str


@router.get(ORG + "/api-keys")
async def list_keys(request: Request, principal: OrgPrincipal) -> dict[str, list[ApiKeyOut]]:
    """The organization's API keys (admins)."""
    keys = await ghostart_of(request).api_keys.list(principal)
    return {"items": [ApiKeyOut.of(k) for k in keys]}


@router.post(ORG + "/api-keys", status_code=201)
async def create_key(
    request: Request, response: Response, principal: OrgPrincipal, body: NewApiKey
) -> ApiKeyCreated:
    """Create an API key; the response is the only time its secret is shown."""
    key, secret = await ghostart_of(request).api_keys.create(principal, body.name, body.scopes)
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=secret)


@router.delete(ORG + "/api-keys/{key_id}")
async def revoke_key(request: Request, principal: OrgPrincipal, key_id: UUID) -> ApiKeyOut:
    """Revoke an API key; it stops working at once."""
    return ApiKeyOut.of(await ghostart_of(request).api_keys.revoke(principal, key_id))
