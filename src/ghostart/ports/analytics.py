"""Usage analytics: what happened, per organization and user, never what was written.

An :class:`AnalyticsEvent` names a kind (an API call, a page view, a draft generated, a post
published), who and when, and a short label (a route template, a page, a model): no content,
no ids of other rows in its label. The store keeps them (``analytics_events``); on PostgreSQL
only the organization's admins read them (migration 0011).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

__all__ = ["AnalyticsEvent", "AnalyticsKind", "AnalyticsRepository", "DailyCount"]


class AnalyticsKind(StrEnum):
    """What an analytics event counts."""

    API_CALL = "api_call"
    PAGE_VIEW = "page_view"
    GENERATION = "generation"
    PUBLISH = "publish"


@dataclass(frozen=True)
class AnalyticsEvent:
    """One counted action. ``name`` is a label (route template, page, model), at most 200 chars."""

    kind: AnalyticsKind
    organization_id: UUID
    at: datetime
    user_id: UUID | None = None
    name: str = ""
    status: int | None = None
    subject_id: UUID | None = field(default=None)


@dataclass(frozen=True)
class DailyCount:
    """How many events of a kind one user caused on one UTC day (``YYYY-MM-DD``)."""

    day: str
    user_id: UUID | None
    kind: AnalyticsKind
    count: int


class AnalyticsRepository(Protocol):
    """The analytics events of the store."""

    async def add_many(self, events: builtins.list[AnalyticsEvent]) -> None:
        """Insert ``events`` (one statement)."""
        ...

    async def daily(
        self, organization_id: UUID, *, since: datetime, until: datetime
    ) -> builtins.list[DailyCount]:
        """The organization's counts per UTC day, user and kind, from ``since`` to ``until``."""
        ...
