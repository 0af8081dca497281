"""The library's tables: the outbox and the inbox (their schema is applied by Alembic).

``hexbus_outbox`` holds one row per event published inside a committed unit of work, until a
relay has published it to the bus. ``envelope`` is the wire format written by the process's
one serializer (so it is sealed when payload encryption is on, ADR 0016); ``due_at`` is the
due time of an event published with a delay; ``available_at``, ``attempts`` and
``last_error`` are the relay's retry state. ``hexbus_inbox`` holds (event_id, handler) for
every handler run that committed in a unit of work (ADR 0021).
"""

from __future__ import annotations

from typing import Final

from .engine import sqlalchemy as sa

CHANNEL: Final = "hexbus_outbox"
"""The LISTEN/NOTIFY channel a commit with outbox rows notifies and relays listen on."""

metadata = sa.MetaData()

outbox = sa.Table(
    "hexbus_outbox",
    metadata,
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

inbox = sa.Table(
    "hexbus_inbox",
    metadata,
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("handler", sa.Text, primary_key=True),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)  # fmt: skip
