"""The clinic's tables as SQLAlchemy Core sees them (Alembic's ``migrations`` creates them)."""

from __future__ import annotations

from .....adapters.postgres.engine import JSONB
from .....adapters.postgres.engine import sqlalchemy as sa

metadata = sa.MetaData()

appointments = sa.Table(
    "clinic_appointments",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", JSONB, nullable=False),
)
invoices = sa.Table(
    "clinic_invoices",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("data", JSONB, nullable=False),
)
waitlist_entries = sa.Table(
    "clinic_waitlist_entries",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("clinic_id", sa.Text, nullable=False),
    sa.Column("doctor_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", JSONB, nullable=False),
)
slot_offers = sa.Table(
    "clinic_slot_offers",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("slot_key", sa.Text, nullable=False),
    sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", JSONB, nullable=False),
)
medicines = sa.Table(
    "clinic_medicines",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("added", sa.BigInteger, sa.Identity()),
    sa.Column("data", JSONB, nullable=False),
)
