"""The email outbox, suppressions and scheduler slots over SQLAlchemy Core (migration 0010)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.models import PostStatus
from ghostart.ports.email import (
    DigestCounts,
    DigestPost,
    EmailStatus,
    OutboxEmail,
    Recipient,
)

__all__ = ["SQLEmail"]

_UNSENT = (EmailStatus.PENDING.value, EmailStatus.SENDING.value)


def _insert_ignoring(conn: SQLConnection, table: sa.Table, key: str) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` in the connection's dialect.

    ``preserve_rowcount``: SQLAlchemy promises an INSERT's rowcount only when asked (psycopg
    reports -1 otherwise), and 0 or 1 says whether the row was new.
    """
    module = postgresql_dialect if conn.dialect.name == "postgresql" else sqlite_dialect
    return (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=[key])
        .execution_options(preserve_rowcount=True)
    )


class SQLEmail:
    """The system's email tables; members only read their own outbox rows (RLS on PostgreSQL)."""

    _t = t.email_outbox

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    @staticmethod
    def _values(row: OutboxEmail) -> dict[str, Any]:
        values = row.model_dump(mode="json", exclude={"id", "organization_id", "user_id"})
        values |= {
            "id": row.id,
            "organization_id": row.organization_id,
            "user_id": row.user_id,
            "created_at": row.created_at,
            "sent_at": row.sent_at,
            "not_before": row.not_before,
            "lease_until": row.lease_until,
        }
        return values

    @staticmethod
    def _model(row: Mapping[Any, Any]) -> OutboxEmail:
        return OutboxEmail.model_validate(dict(row))

    async def add_many(self, rows: Sequence[OutboxEmail]) -> builtins.list[OutboxEmail]:
        insert = _insert_ignoring(self._conn, self._t, "idempotency_key")
        added = []
        for row in rows:  # one by one: the rowcount says which were new
            result = await self._conn.execute(insert, self._values(row))
            if result.rowcount == 1:
                added.append(row)
        return added

    async def get(self, email_id: UUID) -> OutboxEmail | None:
        query = sa.select(self._t).where(self._t.c.id == email_id)
        row = (await self._conn.execute(query)).mappings().first()
        return self._model(row) if row else None

    async def list_for_user(self, user_id: UUID, *, limit: int = 50) -> builtins.list[OutboxEmail]:
        c = self._t.c
        query = (
            sa.select(self._t)
            .where(c.user_id == user_id)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(limit)
        )
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    def _due(self, now: datetime) -> Any:
        c = self._t.c
        return sa.or_(
            sa.and_(c.status == EmailStatus.PENDING.value, c.not_before <= now),
            sa.and_(c.status == EmailStatus.SENDING.value, c.lease_until < now),
        )

    async def claim_due(
        self, *, now: datetime, owner: str, lease_until: datetime, limit: int
    ) -> builtins.list[OutboxEmail]:
        c = self._t.c
        due = sa.select(c.id).where(self._due(now)).order_by(c.not_before, c.id).limit(limit)
        if self._conn.dialect.name == "postgresql":  # concurrent workers take other rows
            due = due.with_for_update(skip_locked=True)
        ids = [r[0] for r in (await self._conn.execute(due)).all()]
        if not ids:
            return []
        await self._conn.execute(
            self._t.update()
            .where(c.id.in_(ids), self._due(now))
            .values(
                status=EmailStatus.SENDING.value,
                attempts=c.attempts + 1,
                lease_owner=owner,
                lease_until=lease_until,
            )
        )
        query = (
            sa.select(self._t)
            .where(c.id.in_(ids), c.lease_owner == owner, c.status == EmailStatus.SENDING.value)
            .order_by(c.not_before, c.id)
        )
        return [self._model(r) for r in (await self._conn.execute(query)).mappings()]

    async def mark_sent(self, email_id: UUID, *, message_id: str, at: datetime) -> bool:
        c = self._t.c
        result = await self._conn.execute(
            self._t.update()
            .where(c.id == email_id, c.status.in_(_UNSENT))
            .values(
                status=EmailStatus.SENT.value,
                message_id=message_id,
                sent_at=at,
                error=None,
                lease_owner=None,
                lease_until=None,
            )
        )
        return bool(result.rowcount == 1)

    async def retry_later(
        self, email_id: UUID, *, owner: str, not_before: datetime, error: str
    ) -> bool:
        c = self._t.c
        result = await self._conn.execute(
            self._t.update()
            .where(c.id == email_id, c.status == EmailStatus.SENDING.value, c.lease_owner == owner)
            .values(
                status=EmailStatus.PENDING.value,
                not_before=not_before,
                error=error,
                lease_owner=None,
                lease_until=None,
            )
        )
        return bool(result.rowcount == 1)

    async def mark(
        self, email_ids: Sequence[UUID], status: EmailStatus, *, error: str | None = None
    ) -> int:
        if not email_ids:
            return 0
        c = self._t.c
        result = await self._conn.execute(
            self._t.update()
            .where(c.id.in_(list(email_ids)), c.status.in_(_UNSENT))
            .values(
                status=EmailStatus(status).value, error=error, lease_owner=None, lease_until=None
            )
        )
        return int(result.rowcount)

    async def record_delivery(self, message_id: str, delivery: str) -> int:
        c = self._t.c
        result = await self._conn.execute(
            self._t.update().where(c.message_id == message_id).values(delivery=delivery)
        )
        return int(result.rowcount)

    async def suppress(
        self,
        address_hash: str,
        *,
        reason: str,
        provider: str,
        message_id: str | None,
        at: datetime,
    ) -> bool:
        insert = _insert_ignoring(self._conn, t.email_suppressions, "address_hash")
        result = await self._conn.execute(
            insert,
            {
                "address_hash": address_hash,
                "reason": reason,
                "provider": provider,
                "message_id": message_id,
                "created_at": at,
            },
        )
        return bool(result.rowcount == 1)

    async def suppressed(self, address_hashes: Sequence[str]) -> set[str]:
        if not address_hashes:
            return set()
        c = t.email_suppressions.c
        query = sa.select(c.address_hash).where(c.address_hash.in_(list(set(address_hashes))))
        return {r[0] for r in (await self._conn.execute(query)).all()}

    async def claim_slot(self, key: str, *, owner: str, at: datetime) -> bool:
        insert = _insert_ignoring(self._conn, t.scheduler_slots, "key")
        result = await self._conn.execute(insert, {"key": key, "fired_by": owner, "fired_at": at})
        return bool(result.rowcount == 1)

    async def timezones(self) -> builtins.list[str]:
        u, m = t.users.c, t.user_organizations.c
        query = (
            sa.select(u.timezone)
            .distinct()
            .select_from(t.users.join(t.user_organizations, m.user_id == u.id))
            .where(u.email.is_not(None))
        )
        return sorted(r[0] for r in (await self._conn.execute(query)).all())

    async def recipients(
        self, *, timezones: Sequence[str] | None = None
    ) -> builtins.list[Recipient]:
        u, m, o = t.users.c, t.user_organizations.c, t.organizations.c
        query = (
            sa.select(
                u.id.label("user_id"),
                m.organization_id,
                m.role,
                u.email,
                u.name,
                u.timezone,
                u.email_preferences,
                o.name.label("organization_name"),
            )
            .select_from(
                t.users.join(t.user_organizations, m.user_id == u.id).join(
                    t.organizations, o.id == m.organization_id
                )
            )
            .where(u.email.is_not(None))
            .order_by(m.organization_id, u.id)
        )
        if timezones is not None:
            if not timezones:
                return []
            query = query.where(u.timezone.in_(list(timezones)))
        rows = (await self._conn.execute(query)).mappings()
        return [Recipient.model_validate(dict(r)) for r in rows]

    async def digest(
        self,
        organization_id: UUID,
        *,
        author_id: UUID | None,
        since: datetime,
        until: datetime,
        limit: int = 10,
    ) -> DigestCounts:
        p = t.posts.c
        where = [p.organization_id == organization_id, p.updated_at >= since, p.updated_at < until]
        if author_id is not None:
            where.append(p.author_id == author_id)
        counts = {
            PostStatus(status): int(n)
            for status, n in (
                await self._conn.execute(
                    sa.select(p.status, sa.func.count()).where(*where).group_by(p.status)
                )
            ).all()
        }
        newest = (
            sa.select(p.id, p.author_id, p.status, p.body)
            .where(*where, p.body.is_not(None))
            .order_by(p.updated_at.desc(), p.id.desc())
            .limit(limit)
        )
        items = [
            DigestPost(id=r.id, author_id=r.author_id, status=PostStatus(r.status), body=r.body)
            for r in (await self._conn.execute(newest)).all()
        ]
        return DigestCounts(counts=counts, items=items)
