"""campaigns: the campaigns table, posts.campaign_id, the profile fields variants draw on

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

On every database: ``campaigns``; ``posts.campaign_id`` (a variant names its campaign) with a
partial index; on ``users`` the ``headline`` and ``about`` that give a variant its author's angle
and ``joins_campaigns``, the opt-out. Plain ALTER TABLE, never batch mode (see 0003): on SQLite a
batch would copy and drop ``posts`` and ``users``. For the same reason ``posts.campaign_id`` has
no foreign key (like ``posts.brand_voice_id``): the services and, on PostgreSQL, the policies
below keep it pointing at a campaign of the post's own organization.

``usage_records.cost_usd`` widens from NUMERIC(12, 6) to NUMERIC(20, 10): a generation's cost
(tokens times a price per million) often has seven or more decimals, and rounding each record
made a month's total differ from the sum of its generations' costs. On SQLite that column
change copies ``usage_records`` (batch mode): nothing refers to that table, so nothing cascades.

On PostgreSQL, row-level security in the style of 0006 (the principal's transactions run as
``authenticated``, the system's as ``service_role``):

- ``campaigns``: members read their organizations' campaigns; admins and brand creators start
  them, as themselves. Nobody changes or deletes one (no UPDATE or DELETE grant).
- ``posts``: a brand creator or admin adds the variants of a campaign of their organization for
  its co-members (a variant is the participant's post, written in the campaign's transaction);
  a member's own posts may name only a campaign of the same organization.
- ``users``: members change their own new profile fields.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# As in 0006 (copied, not imported: a migration is a snapshot).
ME = "(select auth.uid())"
CLAIMED = "(select ghostart.claimed_organization())"


def _in(roles: str = "", column: str = "organization_id") -> str:
    """``column`` is one of the caller's organizations (where the caller has one of ``roles``)."""
    role = f" and m.role = any ('{{{roles}}}'::text[])" if roles else ""
    return (
        f"{column} in (select m.organization_id from user_organizations m"
        f" where m.user_id = {ME}{role} and coalesce(m.organization_id = {CLAIMED}, true))"
    )


MEMBER = _in()
EDITOR = _in("admin,brand_creator")
#: The campaign a post names belongs to the post's organization.
CAMPAIGN_OF_ORG = (
    "campaign_id in (select c.id from campaigns c where c.organization_id = posts.organization_id)"
)
#: The post's author is a member of the post's organization (co-members are visible, 0006).
AUTHOR_IN_ORG = (
    "author_id in (select u.user_id from user_organizations u"
    " where u.organization_id = posts.organization_id)"
)
OWN_POSTS = "members write their own"
OWN_POSTS_BEFORE = f"author_id = {ME} and {MEMBER}"
OWN_POSTS_NOW = f"{OWN_POSTS_BEFORE} and (campaign_id is null or {CAMPAIGN_OF_ORG})"

# (table, policy, command, using, with check), all for ``authenticated``.
POLICIES = [
    ("campaigns", "members read", "select", MEMBER, None),
    ("campaigns", "editors start", "insert", None, f"{EDITOR} and created_by = {ME}"),
    (
        "posts",
        "editors add campaign variants",
        "insert",
        None,
        f"campaign_id is not null and {EDITOR} and {CAMPAIGN_OF_ORG} and {AUTHOR_IN_ORG}",
    ),
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def _policy(table: str, name: str, command: str, using: str | None, check: str | None) -> None:
    sql = f'create policy "{name}" on {table} as permissive for {command} to authenticated'
    if using is not None:
        sql += f" using ({using})"
    if check is not None:
        sql += f" with check ({check})"
    _run(sql)


def upgrade() -> None:
    op.add_column("users", sa.Column("headline", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("about", sa.Text(), nullable=True))
    op.add_column(
        "users",
        sa.Column("joins_campaigns", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("posts", sa.Column("campaign_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_posts_campaign",
        "posts",
        ["campaign_id"],
        sqlite_where=sa.text("campaign_id is not null"),
        postgresql_where=sa.text("campaign_id is not null"),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("call_to_action", sa.Text(), nullable=True),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("length", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("brand_voice_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_campaigns_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_campaigns_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(
        "ix_campaigns_org_created", "campaigns", ["organization_id", "created_at", "id"]
    )
    op.create_index("ix_campaigns_created_by", "campaigns", ["created_by"])
    _cost_type(COST_BEFORE, COST_NOW)
    if _postgres():
        _secure()


COST_BEFORE, COST_NOW = sa.Numeric(12, 6), sa.Numeric(20, 10)


def _cost_type(before: Any, after: Any) -> None:
    with op.batch_alter_table("usage_records") as batch:
        batch.alter_column("cost_usd", type_=after, existing_type=before, existing_nullable=False)


def _secure() -> None:
    op.alter_column("campaigns", "id", server_default=sa.text("gen_random_uuid()"))
    _run("revoke all on table campaigns from public, anon, authenticated, service_role")
    _run("alter table campaigns enable row level security")
    _run("grant select, insert, update, delete on table campaigns to service_role")
    _run(
        'create policy "service role" on campaigns as permissive for all to service_role '
        "using (true) with check (true)"
    )
    _run("grant select, insert on table campaigns to authenticated")
    _run("grant update (headline, about, joins_campaigns) on table users to authenticated")
    _run(f'drop policy "{OWN_POSTS}" on posts')
    _policy("posts", OWN_POSTS, "insert", None, OWN_POSTS_NOW)
    for policy in POLICIES:
        _policy(*policy)


def downgrade() -> None:
    if _postgres():
        # Policies that read campaigns or posts.campaign_id go first: they depend on both.
        for table, name, *_ in POLICIES:
            _run(f'drop policy if exists "{name}" on {table}')
        _run(f'drop policy "{OWN_POSTS}" on posts')
        _policy("posts", OWN_POSTS, "insert", None, OWN_POSTS_BEFORE)
    _cost_type(COST_NOW, COST_BEFORE)
    op.drop_index("ix_campaigns_created_by", table_name="campaigns")
    op.drop_index("ix_campaigns_org_created", table_name="campaigns")
    op.drop_table("campaigns")
    op.drop_index("ix_posts_campaign", table_name="posts")
    # SQLite 3.35+ drops a column in place (no copy of the table, see above).
    op.drop_column("posts", "campaign_id")
    op.drop_column("users", "joins_campaigns")
    op.drop_column("users", "about")
    op.drop_column("users", "headline")
