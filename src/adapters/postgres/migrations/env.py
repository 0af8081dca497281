"""Alembic's environment: run on the connection and version table the caller hands over.

Shared in spirit by every hexbus script directory (the clinic's has a copy): there is no
alembic.ini; :func:`hexbus.adapters.postgres.schema.upgrade` passes an open connection,
inside its transaction and advisory lock, in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=context.config.attributes["version_table"],
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
