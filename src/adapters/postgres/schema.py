"""Applying schema changes with Alembic, from code (no alembic.ini to ship or find).

Each script directory (the library's; an application's own, such as the clinic's) keeps its
own version table, so they evolve apart. Upgrades take a transaction-scoped advisory lock,
so processes starting together (several workers, the tests) apply each change once.
"""

from __future__ import annotations

import zlib
from typing import Final

from alembic import command
from alembic.config import Config

from .engine import Engine, sqlalchemy, translated

LIBRARY_SCRIPTS: Final = "hexbus.adapters.postgres:migrations"
LIBRARY_VERSION_TABLE: Final = "hexbus_alembic_version"


def upgrade(
    engine: Engine,
    *,
    script_location: str = LIBRARY_SCRIPTS,
    version_table: str = LIBRARY_VERSION_TABLE,
    revision: str = "head",
) -> None:
    """Bring the schema of ``script_location`` (``package:directory``) up to ``revision``."""
    config = Config()
    config.set_main_option("script_location", script_location)
    lock = zlib.crc32(version_table.encode())
    with translated(engine, "applying migrations"), engine.begin() as connection:
        connection.execute(sqlalchemy.select(sqlalchemy.func.pg_advisory_xact_lock(lock)))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = version_table
        command.upgrade(config, revision)
