"""Alembic's environment: run on the connection and version table the caller hands over.

The same as hexbus's own (``hexbus.adapters.postgres.migrations``): there is no
alembic.ini; :func:`hexbus.adapters.postgres.schema.upgrade` passes an open connection,
inside its transaction and advisory lock, in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    """Apply the migrations on the connection the caller handed over."""
    attributes = context.config.attributes
    context.configure(
        connection=attributes["connection"],
        version_table=attributes["version_table"],
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic runs this file with its context set up; a plain import (a tool walking the package)
# finds no context and does nothing.
if hasattr(context, "config"):
    run_migrations()
