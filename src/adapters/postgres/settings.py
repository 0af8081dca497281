"""The PostgreSQL store's settings: where the database is, and how the outbox relay runs.

Declared here, beside the adapter (ADR 0013), and readable without the ``postgres`` extra, so
``hexbus config`` lists them everywhere and a ``DATABASE_URL`` set without the extra fails
with the install hint instead of being ignored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

import attrs

from ...domain.errors import ConfigurationError
from ..environment import Setting, SettingsGroup, decimal_seconds, seconds, setting, whole
from ..redaction import redact_url, url_secrets

URL_SCHEMES: Final = ("postgresql", "postgres", "postgresql+psycopg")


def _database_url(name: str, raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if scheme not in URL_SCHEMES:
        raise ConfigurationError(
            name, f"scheme must be one of {', '.join(URL_SCHEMES)}, got {scheme!r}"
        )
    return raw


DATABASE_URL: Final = Setting(
    name="DATABASE_URL",
    parse=_database_url,
    default="",
    description="PostgreSQL (postgresql://user:password@host:5432/db): when set, units of work "
    "write their events to its outbox and the application's repositories live there; unset, "
    "everything stays in memory; shown with every credential masked",
    show=lambda value: redact_url(value) if value else "not set",
    confidential=True,
)
OUTBOX_BATCH: Final = Setting(
    name="HEXBUS_OUTBOX_BATCH",
    parse=whole(low=1, high=10_000),
    default=500,
    description="outbox rows a relay takes (and publishes with one publish_all) per transaction",
)
OUTBOX_POLL_INTERVAL: Final = Setting(
    name="HEXBUS_OUTBOX_POLL_INTERVAL",
    parse=decimal_seconds(low=0.01, high=3600),
    default=timedelta(seconds=1),
    description="seconds a relay waits for a LISTEN/NOTIFY wake-up before looking anyway "
    "(rows due for a retry, a lost notification)",
)
OUTBOX_MAX_BACKOFF: Final = Setting(
    name="HEXBUS_OUTBOX_MAX_BACKOFF",
    parse=seconds(low=1, high=86_400),
    default=timedelta(seconds=60),
    description="longest wait before a relay retries a row it could not publish (the bus was "
    "down); the wait doubles from 0.5 s per failed attempt, with jitter",
)
OUTBOX_ALERT_AGE: Final = Setting(
    name="HEXBUS_OUTBOX_ALERT_AGE",
    parse=seconds(low=1, high=7 * 86_400),
    default=timedelta(seconds=60),
    description="a relay alerts when the oldest outbox row has waited longer than this",
)


@attrs.frozen(kw_only=True)
class PostgresSettings(SettingsGroup):
    """The database and the outbox relay."""

    title = "postgres store and outbox"

    database_url: str = setting(DATABASE_URL)
    outbox_batch: int = setting(OUTBOX_BATCH)
    outbox_poll_interval: timedelta = setting(OUTBOX_POLL_INTERVAL)
    outbox_max_backoff: timedelta = setting(OUTBOX_MAX_BACKOFF)
    outbox_alert_age: timedelta = setting(OUTBOX_ALERT_AGE)

    @property
    def enabled(self) -> bool:
        """True when ``DATABASE_URL`` selects the PostgreSQL store."""
        return bool(self.database_url)

    def secrets(self) -> tuple[str, ...]:
        """The credentials ``DATABASE_URL`` carries, to mask in error texts."""
        return url_secrets(self.database_url) if self.database_url else ()
