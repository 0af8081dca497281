"""Connecting to PostgreSQL: one SQLAlchemy engine over psycopg 3, driver errors translated.

Every other module of this package imports this one first, so a missing extra is reported
once, with the install hint, before SQLAlchemy is touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Final

from ...domain.errors import MissingExtra, StoreUnavailable
from ..redaction import redact_text, url_secrets

if find_spec("sqlalchemy") is None or find_spec("psycopg") is None or find_spec("alembic") is None:
    raise MissingExtra("hexbus.adapters.postgres", "postgres")

import psycopg
import sqlalchemy
from sqlalchemy import exc as sa_errors
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine, make_url

__all__ = [
    "DRIVER",
    "JSONB",
    "Engine",
    "create_engine",
    "libpq_url",
    "pg_insert",
    "psycopg",
    "sa_errors",
    "sqlalchemy",
]

DRIVER: Final = "postgresql+psycopg"


def sqlalchemy_url(url: str) -> str:
    """``url`` (``postgresql://``, ``postgres://``) spelled for SQLAlchemy's psycopg 3 driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("a database URL looks like postgresql://user:password@host:5432/db")
    return f"{DRIVER}://{rest}" if scheme in ("postgresql", "postgres") else url


def libpq_url(url: str) -> str:
    """``url`` as psycopg itself takes it (for the relay's LISTEN connection)."""
    parsed = make_url(sqlalchemy_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url``; connections are checked before use, so a restarted server
    costs one failed checkout, not a stream of errors."""
    return sqlalchemy.create_engine(
        sqlalchemy_url(url), pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
    )


@contextmanager
def translated(engine: Engine, doing: str) -> Iterator[None]:
    """Driver errors raised inside as :class:`~hexbus.StoreUnavailable`, credentials masked."""
    try:
        yield
    except (sa_errors.OperationalError, sa_errors.InterfaceError) as exc:
        secrets = url_secrets(engine.url.render_as_string(hide_password=False))
        reason = redact_text(str(exc.orig or exc).strip().splitlines()[0], secrets)
        raise StoreUnavailable(f"PostgreSQL failed while {doing}: {reason}") from None
