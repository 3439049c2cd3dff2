"""Redactions (ADR 0007): each ``event.redacted`` row carries its target's id, indexed, so that a push
finds the redactions of the events it brings in one lookup.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for every event but a redaction, and no store holds a redaction yet: nothing to backfill.
    op.add_column("events", sa.Column("target", sa.String(36)))
    op.create_index("ix_events_user_target", "events", ["user_id", "target"])


def downgrade() -> None:
    raise NotImplementedError("winledger's schema only moves forward; restore a backup to go back")
