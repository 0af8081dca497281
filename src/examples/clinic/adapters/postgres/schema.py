"""The clinic's setup on PostgreSQL: hexbus's tables (outbox, inbox), then the clinic's."""

from __future__ import annotations

from typing import Final

from .....adapters.postgres.engine import Engine
from .....adapters.postgres.schema import upgrade

CLINIC_SCRIPTS: Final = "hexbus.examples.clinic.adapters.postgres:migrations"
CLINIC_VERSION_TABLE: Final = "clinic_alembic_version"


def setup_database(engine: Engine) -> None:
    """Apply every migration the clinic needs (safe to run again, and from several processes
    at once)."""
    upgrade(engine)
    upgrade(engine, script_location=CLINIC_SCRIPTS, version_table=CLINIC_VERSION_TABLE)
