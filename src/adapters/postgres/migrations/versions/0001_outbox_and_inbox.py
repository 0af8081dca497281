"""The outbox and the inbox.

Revision ID: hexbus_0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hexbus_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``hexbus_outbox`` (with the relay's index) and ``hexbus_inbox``."""
    op.create_table(
        "hexbus_outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )  # fmt: skip
    # The relay takes the oldest available rows first.
    op.create_index("hexbus_outbox_available", "hexbus_outbox", ["available_at", "id"])
    op.create_table(
        "hexbus_inbox",
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("handler", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )  # fmt: skip


def downgrade() -> None:
    """Drop both tables (losing any event not yet relayed)."""
    op.drop_table("hexbus_inbox")
    op.drop_index("hexbus_outbox_available", table_name="hexbus_outbox")
    op.drop_table("hexbus_outbox")
