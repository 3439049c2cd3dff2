"""Read models: projection checkpoints, per-project model rows, projector leases; event indexes by
project and by type for the projector.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_user_project", "events", ["user_id", "project_id"])
    op.create_index("ix_events_user_type", "events", ["user_id", "type"])
    op.create_table(
        "projection_checkpoints",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "project_models",
        sa.Column("user_id", sa.Integer, primary_key=True),
        sa.Column("project_key", sa.String(36), primary_key=True),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("summary", sa.LargeBinary),
    )
    op.create_table(
        "projection_leases",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
        sa.Column("requested_by", sa.String(100)),
    )


def downgrade() -> None:
    raise NotImplementedError("winledger's schema only moves forward; restore a backup to go back")
