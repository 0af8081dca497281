"""Settings read from the environment, checked once at start-up.

A bad value fails here with :class:`ConfigurationError` naming the variable, not later as a
connection error deep inside a worker. Secrets never appear in ``repr`` or :meth:`describe`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Final
from urllib.parse import quote, urlsplit

import attrs

from .domain.errors import ConfigurationError

TRUE: Final = frozenset({"1", "true", "yes", "on"})
FALSE: Final = frozenset({"0", "false", "no", "off", ""})
REDIS_SCHEMES: Final = ("redis", "rediss", "unix")


def parse_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no setting; anything else is an error rather than a silent False."""
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigurationError(name, f"expected true or false, got {raw!r}")


def parse_int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    """A whole number within [low, high]."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(name, f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(name, f"must be between {low} and {high}, got {value}")
    return value


def parse_seconds(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    """A duration in seconds (at least one)."""
    seconds = parse_int(env, name, int(default.total_seconds()), low=1, high=10 * 365 * 24 * 3600)
    return timedelta(seconds=seconds)


@attrs.frozen(kw_only=True)
class RedisSettings:
    """Where Redis is and how to log in; ``url`` carries everything redis-py needs."""

    url: str = attrs.field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RedisSettings:
        """``REDIS_URL``, or ``REDIS_HOST``/``PORT``/``USERNAME``/``PASSWORD``/``DB``/``TLS``."""
        url = env.get("REDIS_URL", "").strip()
        if url:
            scheme = urlsplit(url).scheme
            if scheme not in REDIS_SCHEMES:
                raise ConfigurationError(
                    "REDIS_URL", f"scheme must be one of {', '.join(REDIS_SCHEMES)}, got {scheme!r}"
                )
            return cls(url=url)
        host = env.get("REDIS_HOST", "127.0.0.1").strip()
        if not host or any(c in host for c in "/@ "):
            raise ConfigurationError("REDIS_HOST", f"expected a host name, got {host!r}")
        port = parse_int(env, "REDIS_PORT", 6379, low=1, high=65535)
        db = parse_int(env, "REDIS_DB", 0, low=0, high=10_000)
        scheme = "rediss" if parse_bool(env, "REDIS_TLS", False) else "redis"
        username = env.get("REDIS_USERNAME", "")
        password = env.get("REDIS_PASSWORD", "")
        if username and not password:
            raise ConfigurationError(
                "REDIS_PASSWORD", "REDIS_USERNAME is set, so a password is needed"
            )
        auth = ""
        if password:
            auth = f"{quote(username, safe='')}:{quote(password, safe='')}@"
        return cls(url=f"{scheme}://{auth}{host}:{port}/{db}")

    def redacted_url(self) -> str:
        """The URL with its password replaced, fit for logs and screens."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        user = parts.username or ""
        netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()


@attrs.frozen(kw_only=True)
class Settings:
    """Everything the composition root reads from the environment."""

    use_queue_event_bus: bool = False
    redis: RedisSettings = attrs.field(factory=lambda: RedisSettings.from_env({}))
    idempotency_retention: timedelta = timedelta(days=7)
    dead_letter_retention: timedelta = timedelta(days=7)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raises :class:`ConfigurationError` on the first bad one.

        ``USE_QUEUE_EVENT_BUS`` (default false) picks the Dramatiq/Redis adapter;
        ``HEXBUS_IDEMPOTENCY_RETENTION`` and ``HEXBUS_DEAD_LETTER_RETENTION`` are seconds.
        """
        env = os.environ if env is None else env
        return cls(
            use_queue_event_bus=parse_bool(env, "USE_QUEUE_EVENT_BUS", False),
            redis=RedisSettings.from_env(env),
            idempotency_retention=parse_seconds(
                env, "HEXBUS_IDEMPOTENCY_RETENTION", timedelta(days=7)
            ),
            dead_letter_retention=parse_seconds(
                env, "HEXBUS_DEAD_LETTER_RETENTION", timedelta(days=7)
            ),
        )

    def describe(self) -> dict[str, str]:
        """The settings in force, secrets redacted, for ``hexbus config`` and the dashboard."""
        return {
            "USE_QUEUE_EVENT_BUS": str(self.use_queue_event_bus).lower(),
            "event bus": "dramatiq/redis" if self.use_queue_event_bus else "in-memory",
            "REDIS_URL": self.redis.redacted_url(),
            "HEXBUS_IDEMPOTENCY_RETENTION": f"{int(self.idempotency_retention.total_seconds())}s",
            "HEXBUS_DEAD_LETTER_RETENTION": f"{int(self.dead_letter_retention.total_seconds())}s",
        }
