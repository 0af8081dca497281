"""Alembic's script directory for the library's tables (the outbox and the inbox).

Applied by :func:`hexbus.adapters.postgres.schema.upgrade` (``hexbus outbox migrate``), with
its own version table, ``hexbus_alembic_version``, so an application's own Alembic history
lives beside it untouched.
"""
