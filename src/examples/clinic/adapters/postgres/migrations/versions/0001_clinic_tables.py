"""The clinic's tables: appointments, invoices, waitlist entries, slot offers, medicines.

Revision ID: clinic_0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "clinic_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """One table per entity: the entity as a JSON document, and the columns queries need."""
    op.create_table(
        "clinic_appointments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_table(
        "clinic_invoices",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_table(
        "clinic_waitlist_entries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("doctor_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_index(
        "clinic_waitlist_waiting", "clinic_waitlist_entries", ["clinic_id", "doctor_id", "status"]
    )
    op.create_table(
        "clinic_slot_offers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("slot_key", sa.Text, nullable=False, index=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_table(
        "clinic_medicines",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("added", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("data", JSONB, nullable=False),
    )


def downgrade() -> None:
    """Drop the clinic's tables."""
    for table in (
        "clinic_medicines",
        "clinic_slot_offers",
        "clinic_waitlist_entries",
        "clinic_invoices",
        "clinic_appointments",
    ):
        op.drop_table(table)
