"""domain_events: the event outbox (DESIGN.md section 4)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

On every database: ``domain_events``, one row per domain event, written in the transaction of
the change it reports. After the commit the process hands it to the plugins and marks it
dispatched; a row still undispatched when ``available_at`` passes (its process died, or a
handler failed) is claimed by a worker, by compare-and-set, and dispatched again.

On PostgreSQL, row-level security in the style of 0006 and 0011: the system (``service_role``)
claims, dispatches and purges. A signed-in principal (``authenticated``) inserts events of an
organization it belongs to (a change it makes as itself records its event in its own
transaction), and reads them only where it is an admin (the organization's activity log, as its
analytics); it never updates or deletes one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# As in 0006 (copied, not imported: a migration is a snapshot).
ME = "(select auth.uid())"
CLAIMED = "(select ghostart.claimed_organization())"
ADMIN = (
    "organization_id in (select m.organization_id from user_organizations m"
    f" where m.user_id = {ME} and m.role = 'admin'"
    f" and coalesce(m.organization_id = {CLAIMED}, true))"
)
MEMBER = (
    "organization_id in (select m.organization_id from user_organizations m"
    f" where m.user_id = {ME} and coalesce(m.organization_id = {CLAIMED}, true))"
)

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def upgrade() -> None:
    op.create_table(
        "domain_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_domain_events_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
    )
    op.create_index(
        "ix_domain_events_pending",
        "domain_events",
        ["available_at"],
        sqlite_where=sa.text("dispatched_at is null"),
        postgresql_where=sa.text("dispatched_at is null"),
    )
    op.create_index("ix_domain_events_organization_id", "domain_events", ["organization_id"])
    op.create_index("ix_domain_events_dispatched_at", "domain_events", ["dispatched_at"])
    if _postgres():
        _secure()


def _secure() -> None:
    op.alter_column("domain_events", "id", server_default=sa.text("gen_random_uuid()"))
    _run("revoke all on table domain_events from public, anon, authenticated, service_role")
    _run("alter table domain_events enable row level security")
    _run("grant select, insert, update, delete on table domain_events to service_role")
    _run(
        'create policy "service role" on domain_events as permissive for all to service_role '
        "using (true) with check (true)"
    )
    _run("grant select, insert on table domain_events to authenticated")
    _run(
        'create policy "admins read" on domain_events as permissive for select '
        f"to authenticated using ({ADMIN})"
    )
    _run(
        'create policy "members record their organization\'s events" on domain_events '
        f"as permissive for insert to authenticated with check ({MEMBER})"
    )


def downgrade() -> None:
    # Dropping the table drops its policies and grants with it.
    op.drop_index("ix_domain_events_dispatched_at", table_name="domain_events")
    op.drop_index("ix_domain_events_organization_id", table_name="domain_events")
    op.drop_index("ix_domain_events_pending", table_name="domain_events")
    op.drop_table("domain_events")
