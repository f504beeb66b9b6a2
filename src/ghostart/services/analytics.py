"""Usage analytics for an organization's admins: a daily summary and a CSV export.

Counts come from ``analytics_events`` (see :mod:`ghostart.observability.analytics` for how
they are written). Days are UTC calendar days; a day without events is zeros.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from ghostart.errors import InvalidInput
from ghostart.models import Principal
from ghostart.ports.analytics import AnalyticsKind, DailyCount
from ghostart.rbac import Permission, authorize
from ghostart.services.context import ServiceContext

__all__ = ["COLUMNS", "MAX_DAYS", "AnalyticsService"]

#: How many days one summary or export may cover.
MAX_DAYS = 366
#: The counted kinds, as the summary's and the export's column names.
COLUMNS = {
    AnalyticsKind.API_CALL: "api_calls",
    AnalyticsKind.PAGE_VIEW: "page_views",
    AnalyticsKind.GENERATION: "generations",
    AnalyticsKind.PUBLISH: "publishes",
}


def _zeros() -> dict[str, int]:
    return dict.fromkeys(COLUMNS.values(), 0)


class AnalyticsService:
    """Reads usage analytics; only the organization's admins may (``org.manage``)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def _counts(self, principal: Principal, days: int) -> tuple[list[str], list[DailyCount]]:
        authorize(principal, Permission.ORG_MANAGE)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"days must be 1..{MAX_DAYS}", field="days")
        today = self.ctx.clock.now().astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, time(), tzinfo=UTC)
        until = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            counts = await uow.analytics.daily(principal.organization_id, since=since, until=until)
        labels = [(first + timedelta(days=k)).isoformat() for k in range(days)]
        return labels, counts

    async def daily(self, principal: Principal, *, days: int = 30) -> dict[str, Any]:
        """Per day: each kind's count and the active users; totals per kind and per user."""
        labels, counts = await self._counts(principal, days)
        per_day: dict[str, dict[str, int]] = {label: _zeros() for label in labels}
        users_per_day: dict[str, set[UUID]] = defaultdict(set)
        per_user: dict[UUID | None, dict[str, int]] = defaultdict(_zeros)
        for row in counts:
            column = COLUMNS[row.kind]
            if row.day in per_day:
                per_day[row.day][column] += row.count
            if row.user_id is not None:
                users_per_day[row.day].add(row.user_id)
            per_user[row.user_id][column] += row.count
        totals = _zeros()
        for counted in per_day.values():
            for column, value in counted.items():
                totals[column] += value
        return {
            "since": labels[0],
            "until": labels[-1],
            "totals": totals,
            "days": [
                {"day": label, **per_day[label], "active_users": len(users_per_day[label])}
                for label in labels
            ],
            "users": [
                {"user_id": str(user) if user else None, **counted}
                for user, counted in sorted(per_user.items(), key=lambda kv: str(kv[0]))
            ],
        }

    async def export_csv(self, principal: Principal, *, days: int = 30) -> str:
        """``day,user_id,api_calls,page_views,generations,publishes``: one row per day and user."""
        _labels, counts = await self._counts(principal, days)
        rows: dict[tuple[str, str], dict[str, int]] = defaultdict(_zeros)
        for row in counts:
            user = str(row.user_id) if row.user_id else ""
            rows[(row.day, user)][COLUMNS[row.kind]] += row.count
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["day", "user_id", *COLUMNS.values()])
        for (day, user), counted in sorted(rows.items()):
            writer.writerow([day, user, *counted.values()])
        return out.getvalue()
