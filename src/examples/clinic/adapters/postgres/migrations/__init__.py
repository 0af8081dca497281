"""Alembic's script directory for the clinic's tables (version table ``clinic_alembic_version``)."""
