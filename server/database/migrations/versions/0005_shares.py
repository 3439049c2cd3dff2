"""Shared review drafts: read-only links a user makes for a manager (``winledger share``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("period_from", sa.String(10), nullable=False),
        sa.Column("period_to", sa.String(10), nullable=False),
        sa.Column("project_ids", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
        sa.Column("view_count", sa.BigInteger, nullable=False),
        sa.Column("last_viewed_at", sa.String(32)),
    )
    op.create_index("ix_shares_user_id", "shares", ["user_id"])


def downgrade() -> None:
    raise NotImplementedError("winledger's schema only moves forward; restore a backup to go back")
