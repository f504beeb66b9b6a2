"""The least a hand-written FastAPI service does for a cache-hit content request.

Two baselines for the service benchmark:

- :func:`verify_only_app` verifies the token, validates the body and answers with a post of
  the same size, storing nothing: no service that authenticates its callers can be faster.
- :func:`handwritten_app` is one route, no library, the same work as ghostart in its barest
  form. It verifies the same HS256 bearer token with PyJWT, validates the body with pydantic,
  reads the membership, the brand voice and the cached draft from one SQLite file (WAL,
  ``synchronous=NORMAL``, as ghostart's store), inserts the post and commits, and answers with
  it. No RBAC layer, rate limits, metrics, analytics, request ids, problem documents or tenancy
  checks beyond the membership row: what ghostart adds over this is what the ratio prices.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jwt
from fastapi import FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

SCHEMA = """
create table if not exists memberships (
    organization_id text not null, user_id text not null, role text not null,
    primary key (organization_id, user_id));
create table if not exists brand_voices (
    id text primary key, organization_id text not null, name text not null,
    version integer not null, created_at text not null);
create index if not exists brand_voices_org on brand_voices (organization_id, created_at);
create table if not exists cache (key text primary key, value text not null);
create table if not exists posts (
    id text primary key, organization_id text not null, author_id text not null,
    brand_voice_id text not null, status text not null, body text not null,
    request text not null, created_at text not null);
create index if not exists posts_org on posts (organization_id, created_at);
"""


class _Request(BaseModel):
    topic: str = Field(min_length=1, max_length=500)


DRAFT = "A cached draft of a reasonable length. " * 20


def _claims(authorization: str, secret: str) -> dict[str, Any]:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is needed")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], audience="authenticated", leeway=30
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise HTTPException(401, "invalid token") from exc
    return claims


def verify_only_app(secret: str) -> FastAPI:
    """The content route with no storage: verify the token, validate the body, answer a post."""
    app = FastAPI()

    @app.post("/v1/organizations/{organization_id}/content-requests")
    async def content_request(
        organization_id: UUID, body: _Request, authorization: str = Header()
    ) -> dict[str, Any]:
        claims = _claims(authorization, secret)
        return {
            "id": str(uuid4()),
            "organization_id": str(organization_id),
            "author_id": claims["sub"],
            "status": "draft",
            "body": DRAFT,
            "request": body.model_dump(),
            "created_at": datetime.now(UTC).isoformat(),
            "from_cache": True,
        }

    return app


def handwritten_app(
    path: Path, secret: str, *, organization_id: UUID, user_id: UUID, cache_key: str
) -> FastAPI:
    """The app, with ``user_id`` a member of ``organization_id`` and ``cache_key`` cached."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("pragma journal_mode=WAL")
    db.execute("pragma synchronous=NORMAL")
    db.executescript(SCHEMA)
    now = datetime.now(UTC).isoformat()
    db.execute(
        "insert into memberships values (?, ?, 'admin')", (str(organization_id), str(user_id))
    )
    db.execute(
        "insert into brand_voices values (?, ?, 'V', 1, ?)",
        (str(uuid4()), str(organization_id), now),
    )
    draft = {"body": DRAFT}
    db.execute("insert into cache values (?, ?)", (cache_key, json.dumps(draft)))
    app = FastAPI()

    @app.post("/v1/organizations/{organization_id}/content-requests")
    async def content_request(
        organization_id: UUID, body: _Request, authorization: str = Header()
    ) -> dict[str, Any]:
        user = _claims(authorization, secret)["sub"]
        org = str(organization_id)
        db.execute("begin immediate")
        try:
            if (
                db.execute(
                    "select role from memberships where organization_id = ? and user_id = ?",
                    (org, user),
                ).fetchone()
                is None
            ):
                raise HTTPException(404, "organization not found")
            voice = db.execute(
                "select id from brand_voices where organization_id = ? order by created_at limit 1",
                (org,),
            ).fetchone()
            cached = db.execute("select value from cache where key = ?", (cache_key,)).fetchone()
            post = {
                "id": str(uuid4()),
                "organization_id": org,
                "author_id": user,
                "brand_voice_id": voice[0],
                "status": "draft",
                "body": json.loads(cached[0])["body"],
                "created_at": datetime.now(UTC).isoformat(),
                "from_cache": True,
            }
            db.execute(
                "insert into posts values (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    post["id"],
                    org,
                    user,
                    voice[0],
                    "draft",
                    post["body"],
                    body.model_dump_json(),
                    post["created_at"],
                ),
            )
            db.execute("commit")
        except BaseException:
            db.execute("rollback")
            raise
        return post

    return app
