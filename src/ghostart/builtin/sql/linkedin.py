"""LinkedIn connections and spent OAuth states over SQLAlchemy Core.

Every read and write names the connection's organization and user. Saving is compare-and-set on
``version``: a new connection is ``INSERT ... ON CONFLICT DO UPDATE`` (a reconnect replaces the
row and bumps its version), a change is ``UPDATE ... WHERE version = expected``, so two workers
refreshing the same token at once never overwrite each other unseen.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ghostart.builtin.sql import tables as t
from ghostart.builtin.sql.connection import SQLConnection
from ghostart.models.linkedin import LinkedInApp, LinkedInConnection

__all__ = ["SQLLinkedInConnections", "SQLOAuthStates"]

_KEY = ("organization_id", "user_id", "app")
_DIALECTS = {"sqlite": sqlite_dialect, "postgresql": postgresql_dialect}


def _row(connection: LinkedInConnection) -> dict[str, Any]:
    values = connection.model_dump()
    values["scopes"] = " ".join(connection.scopes)
    return values


def _model(row: Mapping[str, Any]) -> LinkedInConnection:
    values = dict(row)
    values["scopes"] = tuple(str(values.get("scopes") or "").split())
    return LinkedInConnection.model_validate(values)


class SQLLinkedInConnections:
    """Rows of ``linkedin_connections``."""

    _t = t.linkedin_connections

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def _where(self, organization_id: UUID, user_id: UUID, app: str) -> tuple[Any, ...]:
        c = self._t.c
        return (c.organization_id == organization_id, c.user_id == user_id, c.app == app)

    async def get(
        self, organization_id: UUID, user_id: UUID, app: LinkedInApp
    ) -> LinkedInConnection | None:
        query = sa.select(self._t).where(*self._where(organization_id, user_id, app))
        row = (await self._conn.execute(query)).mappings().first()
        return _model(row) if row else None

    async def list_for_user(
        self, organization_id: UUID, user_id: UUID
    ) -> builtins.list[LinkedInConnection]:
        c = self._t.c
        query = (
            sa.select(self._t)
            .where(c.organization_id == organization_id, c.user_id == user_id)
            .order_by(c.app)  # "member" before "organization"
        )
        return [_model(r) for r in (await self._conn.execute(query)).mappings()]

    async def save(self, connection: LinkedInConnection, *, expected_version: int | None) -> bool:
        values = _row(connection)
        key = {name: values.pop(name) for name in _KEY}
        values.pop("version")
        if expected_version is not None:
            result = await self._conn.execute(
                self._t.update()
                .where(
                    *self._where(key["organization_id"], key["user_id"], key["app"]),
                    self._t.c.version == expected_version,
                )
                .values(**values, version=expected_version + 1)
            )
            return bool(result.rowcount == 1)
        module = _DIALECTS.get(self._conn.dialect.name)
        if module is not None:
            insert = module.insert(self._t).values(**key, **values, version=0)
            await self._conn.execute(
                insert.on_conflict_do_update(
                    index_elements=list(_KEY),
                    set_={**values, "version": self._t.c.version + 1},
                )
            )
            return True
        current = await self.get(key["organization_id"], key["user_id"], key["app"])
        if current is None:  # another database: no upsert, and no race the caller can not retry
            await self._conn.execute(self._t.insert().values(**key, **values, version=0))
            return True
        return await self.save(connection, expected_version=current.version)

    async def delete(self, organization_id: UUID, user_id: UUID, app: LinkedInApp) -> bool:
        result = await self._conn.execute(
            self._t.delete().where(*self._where(organization_id, user_id, app))
        )
        return bool(result.rowcount == 1)

    async def expiring(
        self, before: datetime, *, limit: int = 500
    ) -> builtins.list[LinkedInConnection]:
        c = self._t.c
        query = (
            sa.select(self._t)
            .where(sa.not_(c.needs_reconnect), c.access_expires_at < before)
            .order_by(c.access_expires_at)
            .limit(limit)
        )
        return [_model(r) for r in (await self._conn.execute(query)).mappings()]

    async def batch(
        self, *, after: tuple[UUID, UUID, str] | None, limit: int
    ) -> builtins.list[LinkedInConnection]:
        c = self._t.c
        query = sa.select(self._t)
        if after is not None:
            org, user, app = after
            query = query.where(
                sa.tuple_(c.organization_id, c.user_id, c.app)
                > sa.tuple_(
                    sa.bindparam("b_org", org, type_=sa.Uuid),
                    sa.bindparam("b_user", user, type_=sa.Uuid),
                    sa.bindparam("b_app", app, type_=sa.Text),
                )
            )
        query = query.order_by(c.organization_id, c.user_id, c.app).limit(limit)
        return [_model(r) for r in (await self._conn.execute(query)).mappings()]


class SQLOAuthStates:
    """Spent OAuth ``state`` nonces (``oauth_states``)."""

    _t = t.oauth_states

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    async def claim(
        self, nonce: str, *, expires_at: datetime, organization_id: UUID, user_id: UUID
    ) -> bool:
        values = {
            "nonce": nonce,
            "expires_at": expires_at,
            "organization_id": organization_id,
            "user_id": user_id,
        }
        module = _DIALECTS.get(self._conn.dialect.name)
        if module is None:
            query = sa.select(self._t.c.nonce).where(self._t.c.nonce == nonce)
            if (await self._conn.execute(query)).first() is not None:
                return False
            await self._conn.execute(self._t.insert().values(**values))
            return True
        statement = (
            module.insert(self._t)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["nonce"])
            .execution_options(preserve_rowcount=True)
        )
        result = await self._conn.execute(statement)
        return bool(result.rowcount == 1)

    async def purge(self, *, before: datetime) -> int:
        result = await self._conn.execute(self._t.delete().where(self._t.c.expires_at < before))
        return int(result.rowcount or 0)
