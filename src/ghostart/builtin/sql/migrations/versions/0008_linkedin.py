"""linkedin: LinkedIn connections and OAuth states (issue 7)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Reserved in the chain so that the adapters' core storage can be built side by side; it changes
nothing until its tables are written here.
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
