"""analytics: usage analytics events, and the request id a job carries (issue 10)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

On every database: ``analytics_events`` (API calls, page views, drafts generated, posts
published; a label, never content) with an index per organization and time, and
``jobs.request_id`` (plain ALTER TABLE, as in 0003/0007: no batch copy of ``jobs``).

On PostgreSQL, row-level security in the style of 0006/0007: the system (``service_role``)
writes and reads every event; a signed-in principal (``authenticated``) only reads, and only
the events of organizations where it is an admin. Nobody else has any grant.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
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


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def upgrade() -> None:
    op.add_column("jobs", sa.Column("request_id", sa.Text(), nullable=True))
    op.create_table(
        "analytics_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind in ('api_call', 'page_view', 'generation', 'publish')",
            name=op.f("ck_analytics_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_analytics_events_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
    )
    op.create_index(
        "ix_analytics_events_org_created", "analytics_events", ["organization_id", "created_at"]
    )
    op.create_index(
        op.f("ix_analytics_events_organization_id"), "analytics_events", ["organization_id"]
    )
    if _postgres():
        _secure()


def _secure() -> None:
    _run("revoke all on table analytics_events from public, anon, authenticated, service_role")
    _run("alter table analytics_events enable row level security")
    _run("grant select, insert, update, delete on table analytics_events to service_role")
    _run("grant usage, select on sequence analytics_events_id_seq to service_role")
    _run(
        'create policy "service role" on analytics_events as permissive for all to service_role '
        "using (true) with check (true)"
    )
    _run("grant select on table analytics_events to authenticated")
    _run(
        'create policy "admins read" on analytics_events as permissive for select '
        f"to authenticated using ({ADMIN})"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_analytics_events_organization_id"), table_name="analytics_events")
    op.drop_index("ix_analytics_events_org_created", table_name="analytics_events")
    op.drop_table("analytics_events")  # its policies go with it
    op.drop_column("jobs", "request_id")
