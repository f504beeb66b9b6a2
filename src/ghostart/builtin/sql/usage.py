"""The usage ledger summed per calendar month (UTC), in SQL where the dialect can name a month."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.models import MonthlyUsage

__all__ = ["usage_by_month"]

#: The ledger's precision (``usage_records.cost_usd`` is NUMERIC(20, 10)).
_PRECISION = Decimal("1e-10")


def _month(column: Any, dialect: str) -> Any:
    """``YYYY-MM`` of ``column`` (a UTC time), or ``None`` where grouping happens in Python."""
    if dialect == "sqlite":  # stored as naive UTC text: 'YYYY-MM-DD HH:MM:SS.ffffff'
        return sa.func.strftime("%Y-%m", column)
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return None


def _exact(value: Any) -> Decimal:
    """``value`` at the ledger's precision, without trailing zeros (SQLite sums as a float)."""
    text = format(Decimal(str(value or 0)).quantize(_PRECISION), "f")
    return Decimal(text.rstrip("0").rstrip(".") or "0")


def _usage(month: str, count: Any, prompt: Any, completion: Any, cost: Any) -> MonthlyUsage:
    return MonthlyUsage(
        month=month,
        generations=int(count),
        prompt_tokens=int(prompt or 0),
        completion_tokens=int(completion or 0),
        cost_usd=_exact(cost),
    )


async def usage_by_month(
    conn: SQLConnection, organization_id: UUID, *, since: datetime, until: datetime
) -> list[MonthlyUsage]:
    """The organization's records from ``since`` to ``until`` (exclusive), per month, oldest first."""
    c = t.usage_records.c
    where = (c.organization_id == organization_id, c.created_at >= since, c.created_at < until)
    month = _month(c.created_at, conn.dialect.name)
    if month is not None:
        label = month.label("month")
        query = (
            sa.select(
                label,
                sa.func.count(),
                sa.func.sum(c.prompt_tokens),
                sa.func.sum(c.completion_tokens),
                sa.func.sum(c.cost_usd),
            )
            .where(*where)
            .group_by(label)
            .order_by(label)
        )
        return [_usage(*row) for row in (await conn.execute(query)).all()]
    rows = await conn.execute(
        sa.select(c.created_at, c.prompt_tokens, c.completion_tokens, c.cost_usd).where(*where)
    )
    sums: dict[str, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for at, prompt, completion, cost in rows.all():
        total = sums[at.astimezone(UTC).strftime("%Y-%m")]
        total[0] += 1
        total[1] += prompt
        total[2] += completion
        total[3] += Decimal(str(cost))
    return [_usage(month, *sums[month]) for month in sorted(sums)]
