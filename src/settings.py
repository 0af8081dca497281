"""The settings the composition root reads from the environment, checked once at start-up.

Each adapter declares its own variables beside itself (Redis and workers in
``adapters/dramatiq/settings.py``, logs/metrics/alerts in ``adapters/observability/settings.py``,
the API in ``adapters/http/settings.py``); this module declares only what belongs to the
composition root (which bus, which app, what both buses keep and for how long) and gathers the
groups, so :meth:`Settings.describe` and ``hexbus config`` show every variable in one list.

A bad value fails here with :class:`ConfigurationError` naming the variable, not later as a
connection error deep inside a worker. Secrets never appear in ``repr`` or a description.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Final, Self, TypeVar

import attrs

from .adapters.dramatiq.settings import RedisSettings, WorkerSettings
from .adapters.encryption.settings import EncryptionSettings
from .adapters.environment import (
    DECLARED as _DECLARED,
)
from .adapters.environment import (
    Setting,
    SettingsGroup,
    boolean,
    choice,
    minutes,
    seconds,
    setting,
)
from .adapters.event_loop_settings import EventLoopSettings
from .adapters.observability.settings import ObservabilitySettings
from .adapters.postgres.settings import PostgresSettings
from .application.unrouted import UnroutedPolicy
from .domain.errors import ConfigurationError, MissingExtra

G = TypeVar("G", bound=SettingsGroup)


def _app(name: str, raw: str) -> str | None:
    module, sep, function = raw.partition(":")
    if not sep or not module or not function:
        raise ConfigurationError(name, f"{raw!r} must look like 'package.module:function'")
    return raw


USE_QUEUE_EVENT_BUS: Final = Setting(
    name="USE_QUEUE_EVENT_BUS",
    parse=boolean,
    default=False,
    description="true selects the Dramatiq/Redis adapter; false the in-memory one",
)
APP: Final[Setting[str | None]] = Setting(
    name="HEXBUS_APP",
    parse=_app,
    default=None,
    description="'package.module:function' that registers the application's handlers "
    "(what --app gives)",
)
IDEMPOTENCY_RETENTION: Final = Setting(
    name="HEXBUS_IDEMPOTENCY_RETENTION",
    parse=seconds(),
    default=timedelta(days=7),
    description="seconds an event ID and its handlers' successes are remembered",
)
DEAD_LETTER_RETENTION: Final = Setting(
    name="HEXBUS_DEAD_LETTER_RETENTION",
    parse=seconds(),
    default=timedelta(days=7),
    description="seconds dead letters are kept",
)
UNROUTED: Final = Setting(
    name="HEXBUS_UNROUTED",
    parse=choice("keep", "count"),
    default="keep",
    description="an event no handler subscribes to is counted and logged; keep: also held "
    "for HEXBUS_UNROUTED_RETENTION and delivered to the first handlers that subscribe to "
    "its type; count: only counted",
)
UNROUTED_RETENTION: Final = Setting(
    name="HEXBUS_UNROUTED_RETENTION",
    parse=seconds(),
    default=timedelta(days=7),
    description="seconds an unrouted event is kept for a handler that subscribes later "
    "(HEXBUS_UNROUTED=keep; a delayed one from its due time)",
)
TRACK_STATUS: Final = Setting(
    name="HEXBUS_TRACK_STATUS",
    parse=boolean,
    default=True,
    description="keep each event's status per handler",
)
STATS_WINDOW: Final = Setting(
    name="HEXBUS_STATS_WINDOW_MINUTES",
    parse=minutes(low=1, high=120),
    default=timedelta(minutes=15),
    description="minutes of the recent succeeded/failed counts in the stats",
    show=lambda window: str(int(window.total_seconds() // 60)),
)


@attrs.frozen(kw_only=True)
class Settings(SettingsGroup):
    """Everything the composition root reads from the environment, by group."""

    title = "event bus"

    use_queue_event_bus: bool = setting(USE_QUEUE_EVENT_BUS)
    app: str | None = setting(APP)
    idempotency_retention: timedelta = setting(IDEMPOTENCY_RETENTION)
    dead_letter_retention: timedelta = setting(DEAD_LETTER_RETENTION)
    unrouted: str = setting(UNROUTED)
    unrouted_retention: timedelta = setting(UNROUTED_RETENTION)
    track_status: bool = setting(TRACK_STATUS)
    stats_window: timedelta = setting(STATS_WINDOW)
    redis: RedisSettings = attrs.field(factory=RedisSettings)
    worker: WorkerSettings = attrs.field(factory=WorkerSettings)
    observability: ObservabilitySettings = attrs.field(factory=ObservabilitySettings)
    encryption: EncryptionSettings = attrs.field(factory=EncryptionSettings)
    event_loop: EventLoopSettings = attrs.field(factory=EventLoopSettings)
    postgres: PostgresSettings = attrs.field(factory=PostgresSettings)
    optional: tuple[SettingsGroup, ...] = ()
    """Groups of the parts that need an extra (the HTTP API), when it is installed."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """Read and check every setting of every group (default: ``os.environ``); the first bad
        one raises :class:`ConfigurationError` naming its variable."""
        env = os.environ if env is None else env
        own = super().from_env(env)
        return attrs.evolve(
            own,
            redis=RedisSettings.from_env(env),
            worker=WorkerSettings.from_env(env),
            observability=ObservabilitySettings.from_env(env),
            encryption=EncryptionSettings.from_env(env),
            event_loop=EventLoopSettings.from_env(env),
            postgres=PostgresSettings.from_env(env),
            optional=_optional_groups(env),
        )

    @property
    def unrouted_policy(self) -> UnroutedPolicy:
        """What both buses do with an event no handler subscribes to (ADR 0015)."""
        return UnroutedPolicy(keep=self.unrouted == "keep", retention=self.unrouted_retention)

    @property
    def groups(self) -> tuple[SettingsGroup, ...]:
        """Every group, this one first."""
        return (
            self,
            self.redis,
            self.worker,
            self.observability,
            self.encryption,
            self.event_loop,
            self.postgres,
            *self.optional,
        )

    def group(self, kind: type[G]) -> G:
        """The optional group of type ``kind``; it is missing only without its extra."""
        for group in self.optional:
            if isinstance(group, kind):
                return group
        raise ConfigurationError(kind.title, "is not read: the extra that needs it is missing")

    def secrets(self) -> tuple[str, ...]:
        """Every secret value in force (tokens, passwords, keys, the Redis URL's credentials),
        so text that might quote one (an error message, a log line) can be masked (ADR 0016)."""
        found: list[str] = [
            *self.redis.secrets(),
            *self.encryption.keys,
            *self.postgres.secrets(),
        ]
        for group in self.groups:
            for field in attrs.fields(type(group)):  # type: ignore[arg-type]
                declared = field.metadata.get(_DECLARED)
                if declared is None or not (declared.secret or declared.confidential):
                    continue
                value = getattr(group, field.name)
                values = value if isinstance(value, tuple | list) else (value,)
                found += [v for v in values if isinstance(v, str) and v]
        return tuple(dict.fromkeys(found))

    def own(self) -> dict[str, str]:
        """This group's own variables only."""
        return super().describe()

    def describe(self) -> dict[str, str]:
        """Every setting in force, secrets redacted, for ``hexbus config`` and the dashboard."""
        described = {
            **self.own(),
            "event bus": "dramatiq/redis" if self.use_queue_event_bus else "in-memory",
        }
        for group in self.groups[1:]:
            described.update(group.describe())
        return described


def _optional_groups(env: Mapping[str, str]) -> tuple[SettingsGroup, ...]:
    try:
        # Imported on demand: the HTTP adapter raises MissingExtra without its extra.
        from .adapters.http.settings import ApiSettings  # noqa: PLC0415
    except MissingExtra:
        return ()
    return (ApiSettings.from_env(env),)
