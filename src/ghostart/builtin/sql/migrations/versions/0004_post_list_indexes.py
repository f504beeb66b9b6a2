"""post list indexes for newest-first keyset pages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Pages are ordered by (created_at, id) descending and continue after the last (created_at,
# id): each filter the API offers gets an index ending in those two columns. CREATE/DROP INDEX
# change no table, so no batch mode is needed on SQLite.


def upgrade() -> None:
    op.create_index("ix_posts_org_created", "posts", ["organization_id", "created_at", "id"])
    op.drop_index("ix_posts_org_author_created", table_name="posts")
    op.create_index(
        "ix_posts_org_author_created", "posts", ["organization_id", "author_id", "created_at", "id"]
    )
    op.drop_index("ix_posts_org_status", table_name="posts")
    op.create_index(
        "ix_posts_org_status_created", "posts", ["organization_id", "status", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_posts_org_status_created", table_name="posts")
    op.create_index("ix_posts_org_status", "posts", ["organization_id", "status"])
    op.drop_index("ix_posts_org_author_created", table_name="posts")
    op.create_index(
        "ix_posts_org_author_created", "posts", ["organization_id", "author_id", "created_at"]
    )
    op.drop_index("ix_posts_org_created", table_name="posts")
