"""linkedin: LinkedIn connections and OAuth states (issue 7)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

On every database: ``linkedin_connections`` (one row per organization, user and LinkedIn app;
the tokens are SecretBox ciphertext that only ghostart-linkedin seals and opens) and
``oauth_states`` (the ``state`` nonces already spent, with whose they were: a sign-in link
works once).

On PostgreSQL, row-level security in the style of 0006 and 0007:

- ``linkedin_connections``: a member reads and deletes (disconnects) only their own rows, in
  their own organizations; nothing else is granted to ``authenticated``. The callback, token
  refreshes and the reminders write as the system (``service_role``), after the services have
  checked who is asking.
- ``oauth_states``: a member reads their own spent states; only the system writes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As in 0006 (copied, not imported: a migration is a snapshot).
ME = "(select auth.uid())"
CLAIMED = "(select ghostart.claimed_organization())"
MEMBER = (
    "organization_id in (select m.organization_id from user_organizations m"
    f" where m.user_id = {ME} and coalesce(m.organization_id = {CLAIMED}, true))"
)
OWN = f"user_id = {ME} and {MEMBER}"

# (table, policy, command, using), all for ``authenticated``.
POLICIES = [
    ("linkedin_connections", "members read their own", "select", OWN),
    ("linkedin_connections", "members disconnect their own", "delete", OWN),
    ("oauth_states", "members read their own", "select", OWN),
]
GRANTS = {"linkedin_connections": "select, delete", "oauth_states": "select"}


def _run(sql: str) -> None:
    op.execute(sa.text(sql))


def upgrade() -> None:
    op.create_table(
        "linkedin_connections",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("app", sa.Text(), nullable=False),
        sa.Column("member_urn", sa.Text(), nullable=False),
        sa.Column("member_name", sa.Text(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scopes", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("needs_reconnect", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reconnect_reason", sa.Text(), nullable=True),
        sa.Column("reminded_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "app in ('member', 'organization')", name=op.f("ck_linkedin_connections_app")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_linkedin_connections_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_linkedin_connections_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "user_id", "app", name=op.f("pk_linkedin_connections")
        ),
    )
    op.create_index("ix_linkedin_connections_user_id", "linkedin_connections", ["user_id"])
    op.create_index(
        "ix_linkedin_connections_expiring",
        "linkedin_connections",
        ["access_expires_at"],
        sqlite_where=sa.text("not needs_reconnect"),
        postgresql_where=sa.text("not needs_reconnect"),
    )
    op.create_table(
        "oauth_states",
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_oauth_states_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oauth_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_oauth_states")),
    )
    op.create_index("ix_oauth_states_organization_id", "oauth_states", ["organization_id"])
    op.create_index("ix_oauth_states_user_id", "oauth_states", ["user_id"])
    op.create_index("ix_oauth_states_expires_at", "oauth_states", ["expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        _secure()


def _secure() -> None:
    for table, granted in GRANTS.items():
        _run(f"revoke all on table {table} from public, anon, authenticated, service_role")
        _run(f"alter table {table} enable row level security")
        _run(f"grant select, insert, update, delete on table {table} to service_role")
        _run(
            f'create policy "service role" on {table} as permissive for all to service_role '
            "using (true) with check (true)"
        )
        if granted:
            _run(f"grant {granted} on table {table} to authenticated")
    for table, name, command, using in POLICIES:
        _run(
            f'create policy "{name}" on {table} as permissive for {command} to authenticated '
            f"using ({using})"
        )


def downgrade() -> None:
    # The policies and grants go with the tables.
    op.drop_index("ix_oauth_states_expires_at", table_name="oauth_states")
    op.drop_index("ix_oauth_states_user_id", table_name="oauth_states")
    op.drop_index("ix_oauth_states_organization_id", table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_index("ix_linkedin_connections_expiring", table_name="linkedin_connections")
    op.drop_index("ix_linkedin_connections_user_id", table_name="linkedin_connections")
    op.drop_table("linkedin_connections")
