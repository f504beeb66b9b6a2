"""Usage analytics over SQLAlchemy Core: inserted in batches, counted per UTC day in SQL."""

from __future__ import annotations

import builtins
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.ports.analytics import AnalyticsEvent, AnalyticsKind, DailyCount

__all__ = ["SQLAnalytics"]


def _day(column: Any, dialect: str) -> Any:
    """``YYYY-MM-DD`` of ``column`` (a UTC time), or ``None`` where grouping happens in Python."""
    if dialect == "sqlite":  # stored as naive UTC text
        return sa.func.strftime("%Y-%m-%d", column)
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return None


class SQLAnalytics:
    """The ``analytics_events`` table."""

    _t = t.analytics_events

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    async def add_many(self, events: builtins.list[AnalyticsEvent]) -> None:
        if not events:
            return
        rows = [
            {
                "organization_id": e.organization_id,
                "user_id": e.user_id,
                "kind": AnalyticsKind(e.kind).value,
                "name": e.name[:200],
                "status": e.status,
                "subject_id": e.subject_id,
                "created_at": e.at,
            }
            for e in events
        ]
        await self._conn.execute(self._t.insert(), rows)

    async def daily(
        self, organization_id: UUID, *, since: datetime, until: datetime
    ) -> builtins.list[DailyCount]:
        c = self._t.c
        where = (c.organization_id == organization_id, c.created_at >= since, c.created_at < until)
        day = _day(c.created_at, self._conn.dialect.name)
        if day is not None:
            label = day.label("day")
            query = (
                sa.select(label, c.user_id, c.kind, sa.func.count())
                .where(*where)
                .group_by(label, c.user_id, c.kind)
                .order_by(label)
            )
            rows = (await self._conn.execute(query)).all()
            return [DailyCount(d, u, AnalyticsKind(k), int(n)) for d, u, k, n in rows]
        result = await self._conn.execute(sa.select(c.created_at, c.user_id, c.kind).where(*where))
        counts: Counter[tuple[str, UUID | None, str]] = Counter(
            (at.astimezone(UTC).strftime("%Y-%m-%d"), user, kind) for at, user, kind in result.all()
        )
        return [
            DailyCount(d, u, AnalyticsKind(k), n)
            for (d, u, k), n in sorted(counts.items(), key=str)
        ]
