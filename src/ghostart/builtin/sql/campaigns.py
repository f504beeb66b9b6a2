"""Campaigns over SQLAlchemy Core; a campaign's variants are the posts that name it."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.builtin.sql.types import UTCDateTime
from ghostart.errors import Conflict
from ghostart.models import Campaign, Post, PostStatus

__all__ = ["SQLCampaigns"]

_UUIDS = ("id", "organization_id", "created_by", "brand_voice_id")


class SQLCampaigns:
    """Campaigns; every query is scoped to the organization."""

    _t = t.campaigns

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    @staticmethod
    def _values(campaign: Campaign) -> dict[str, Any]:
        values = campaign.model_dump(mode="json", exclude={*_UUIDS, "created_at"})
        return values | {name: getattr(campaign, name) for name in (*_UUIDS, "created_at")}

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> Campaign:
        return Campaign.model_validate(dict(row))

    async def add(self, campaign: Campaign) -> None:
        try:
            await self._conn.execute(self._t.insert(), self._values(campaign))
        except IntegrityError as exc:
            raise Conflict("campaign already exists or refers to a missing row") from exc

    async def get(self, organization_id: UUID, campaign_id: UUID) -> Campaign | None:
        c = self._t.c
        query = sa.select(self._t).where(c.organization_id == organization_id, c.id == campaign_id)
        row = (await self._conn.execute(query)).mappings().first()
        return self._model(row) if row else None

    async def list(
        self,
        organization_id: UUID,
        *,
        limit: int = 50,
        before: tuple[datetime, UUID] | None = None,
    ) -> builtins.list[Campaign]:
        c = self._t.c
        query = sa.select(self._t).where(c.organization_id == organization_id)
        if before is not None:
            at, campaign_id = before
            query = query.where(
                sa.tuple_(c.created_at, c.id)
                < sa.tuple_(
                    sa.bindparam("b_before_at", at, type_=UTCDateTime),
                    sa.bindparam("b_before_id", campaign_id, type_=sa.Uuid),
                )
            )
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    async def count_since(self, organization_id: UUID, since: datetime) -> int:
        c = self._t.c
        query = sa.select(sa.func.count()).where(
            c.organization_id == organization_id, c.created_at >= since
        )
        return int((await self._conn.execute(query)).scalar() or 0)

    def _posts_of(
        self, organization_id: UUID, author_id: UUID | None, *where: Any
    ) -> tuple[Any, ...]:
        p = t.posts.c
        clauses = [p.organization_id == organization_id, *where]
        if author_id is not None:
            clauses.append(p.author_id == author_id)
        return tuple(clauses)

    async def variants(
        self, organization_id: UUID, campaign_id: UUID, *, author_id: UUID | None = None
    ) -> builtins.list[Post]:
        p = t.posts.c
        query = (
            sa.select(t.posts)
            .where(*self._posts_of(organization_id, author_id, p.campaign_id == campaign_id))
            .order_by(p.created_at, p.id)
        )
        return [Post.model_validate(dict(r)) for r in (await self._conn.execute(query)).mappings()]

    async def progress(
        self,
        organization_id: UUID,
        campaign_ids: builtins.list[UUID],
        *,
        author_id: UUID | None = None,
    ) -> dict[UUID, dict[PostStatus, int]]:
        if not campaign_ids:
            return {}
        p = t.posts.c
        query = (
            sa.select(p.campaign_id, p.status, sa.func.count())
            .where(*self._posts_of(organization_id, author_id, p.campaign_id.in_(campaign_ids)))
            .group_by(p.campaign_id, p.status)
        )
        counts: dict[UUID, dict[PostStatus, int]] = {}
        for campaign_id, status, count in (await self._conn.execute(query)).all():
            counts.setdefault(campaign_id, {})[PostStatus(status)] = int(count)
        return counts
