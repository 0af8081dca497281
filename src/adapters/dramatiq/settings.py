"""The Dramatiq/Redis adapter's settings: where Redis is, and how workers run.

Declared here, beside the adapter they configure (:mod:`hexbus.adapters.environment` says how);
``hexbus config`` lists them with every other group.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final, Self
from urllib.parse import quote, urlsplit

import attrs

from ...domain.errors import ConfigurationError
from ..environment import (
    Setting,
    SettingsGroup,
    boolean,
    decimal_seconds,
    host,
    seconds,
    setting,
    text,
    whole,
)
from ..redaction import redact_url, url_secrets

URL_SCHEMES: Final = ("redis", "rediss", "unix")
NAMESPACE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
QUEUE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_-]{0,47}(\.(high|low))?$")
"""A queue name, optionally suffixed by its priority (``ai-processing.high``)."""


# --- Redis ---------------------------------------------------------------------------------


def _redis_url(name: str, raw: str) -> str:
    scheme = urlsplit(raw).scheme
    if scheme not in URL_SCHEMES:
        raise ConfigurationError(
            name, f"scheme must be one of {', '.join(URL_SCHEMES)}, got {scheme!r}"
        )
    return raw


REDIS_URL: Final = Setting(
    name="REDIS_URL",
    parse=_redis_url,
    default="",
    description="where Redis is (redis://, rediss:// for TLS, unix://); when set, the "
    "REDIS_HOST... variables are ignored; shown with every credential masked",
    show=lambda value: redact_url(value) if value else "not set",
    confidential=True,
)
REDIS_HOST: Final = Setting(
    name="REDIS_HOST", parse=host, default="127.0.0.1", description="Redis host (no REDIS_URL)"
)
REDIS_PORT: Final = Setting(
    name="REDIS_PORT", parse=whole(low=1, high=65535), default=6379, description="Redis port"
)
REDIS_DB: Final = Setting(
    name="REDIS_DB", parse=whole(low=0, high=10_000), default=0, description="Redis database"
)
REDIS_USERNAME: Final[Setting[str | None]] = Setting(
    name="REDIS_USERNAME", parse=text, default=None, description="Redis ACL user"
)
REDIS_PASSWORD: Final[Setting[str | None]] = Setting(
    name="REDIS_PASSWORD",
    parse=text,
    default=None,
    description="Redis password (needed with REDIS_USERNAME)",
    secret=True,
)
REDIS_TLS: Final = Setting(
    name="REDIS_TLS", parse=boolean, default=False, description="connect with TLS (rediss)"
)
REDIS_TLS_CA_FILE: Final[Setting[str | None]] = Setting(
    name="REDIS_TLS_CA_FILE",
    parse=text,
    default=None,
    description="CA certificate file that signs the server's (with REDIS_TLS)",
)

REDIS_CONNECT_TIMEOUT: Final = Setting(
    name="REDIS_CONNECT_TIMEOUT",
    parse=decimal_seconds(low=0.1, high=300),
    default=timedelta(seconds=1),
    description="seconds to wait for a TCP connection to Redis (decimals allowed)",
)
REDIS_SOCKET_TIMEOUT: Final = Setting(
    name="REDIS_SOCKET_TIMEOUT",
    parse=decimal_seconds(low=1.5, high=300),
    default=timedelta(seconds=2),
    description="seconds to wait for Redis to answer a command, decimals allowed; at least "
    "1.5, since idle workers wait up to 1 s on a queue with a blocking command",
)
PUBLISH_TIMEOUT: Final = Setting(
    name="HEXBUS_PUBLISH_TIMEOUT",
    parse=decimal_seconds(low=0, high=3600),
    default=timedelta(seconds=2.5),
    description="seconds a publish (or cancel, reschedule) keeps retrying an unreachable Redis "
    "before raising EventBusUnavailable; no attempt starts that the previous one says cannot "
    "finish in time, and one attempt takes at most REDIS_SOCKET_TIMEOUT (0: one attempt)",
)


@attrs.frozen
class RedisSettings(SettingsGroup):
    """Where Redis is and how to log in, and how long to wait for it.

    ``url`` carries everything redis-py needs to connect; the timeouts bound how long a call
    waits (:func:`hexbus.adapters.dramatiq.connection.connect`) and how long a publish retries
    (:func:`~hexbus.adapters.dramatiq.connection.with_retries`).
    """

    title = "Redis"

    url: str = attrs.field(repr=False, default="redis://127.0.0.1:6379/0")
    connect_timeout: timedelta = setting(REDIS_CONNECT_TIMEOUT)
    socket_timeout: timedelta = setting(REDIS_SOCKET_TIMEOUT)
    publish_timeout: timedelta = setting(PUBLISH_TIMEOUT)

    @classmethod
    def declared(cls) -> tuple[Setting[Any], ...]:
        """``REDIS_URL``, or the parts it is built from."""
        return (
            REDIS_URL,
            REDIS_HOST,
            REDIS_PORT,
            REDIS_DB,
            REDIS_USERNAME,
            REDIS_PASSWORD,
            REDIS_TLS,
            REDIS_TLS_CA_FILE,
            REDIS_CONNECT_TIMEOUT,
            REDIS_SOCKET_TIMEOUT,
            PUBLISH_TIMEOUT,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """``REDIS_URL`` as given, or a URL built from ``REDIS_HOST`` and the rest."""
        timeouts = {
            "connect_timeout": REDIS_CONNECT_TIMEOUT.read(env),
            "socket_timeout": REDIS_SOCKET_TIMEOUT.read(env),
            "publish_timeout": PUBLISH_TIMEOUT.read(env),
        }
        url = REDIS_URL.read(env)
        if url:
            return cls(url=url, **timeouts)
        tls = REDIS_TLS.read(env)
        username = REDIS_USERNAME.read(env) or ""
        password = REDIS_PASSWORD.read(env) or ""
        if username and not password:
            raise ConfigurationError(
                "REDIS_PASSWORD", "REDIS_USERNAME is set, so a password is needed"
            )
        auth = f"{quote(username, safe='')}:{quote(password, safe='')}@" if password else ""
        query = ""
        ca_file = REDIS_TLS_CA_FILE.read(env)
        if ca_file:
            if not tls:
                raise ConfigurationError("REDIS_TLS_CA_FILE", "is set but REDIS_TLS is not true")
            if not os.path.isfile(ca_file):
                raise ConfigurationError("REDIS_TLS_CA_FILE", f"no such file: {ca_file}")
            query = f"?ssl_ca_certs={quote(ca_file, safe='/')}"
        scheme = "rediss" if tls else "redis"
        host_name = REDIS_HOST.read(env)
        return cls(
            url=f"{scheme}://{auth}{host_name}:{REDIS_PORT.read(env)}/{REDIS_DB.read(env)}{query}",
            **timeouts,
        )

    def redacted_url(self) -> str:
        """The URL with every credential masked (user-info, ``?password=``, ``?username=``...),
        fit for logs and screens (:func:`~hexbus.adapters.redaction.redact_url`)."""
        return redact_url(self.url)

    def secrets(self) -> tuple[str, ...]:
        """The credentials the URL carries, to mask wherever text might quote them."""
        return url_secrets(self.url)

    def describe(self) -> dict[str, str]:
        """The URL in force (built from the parts when ``REDIS_URL`` is unset), redacted, and
        the timeouts."""
        return {
            "REDIS_URL": self.redacted_url(),
            **{
                declared.name: declared.display(value)
                for declared, value in (
                    (REDIS_CONNECT_TIMEOUT, self.connect_timeout),
                    (REDIS_SOCKET_TIMEOUT, self.socket_timeout),
                    (PUBLISH_TIMEOUT, self.publish_timeout),
                )
            },
        }


# --- worker processes ----------------------------------------------------------------------


@attrs.frozen
class QueueGroup:
    """Queues served together by worker processes, with their concurrency.

    ``threads`` handlers run at once in each of ``processes`` processes.
    """

    queues: tuple[str, ...]
    threads: int
    processes: int = 1

    @property
    def name(self) -> str:
        """The group's queues joined by ``+``."""
        return "+".join(self.queues)

    def describe(self) -> str:
        """The group as the layout syntax writes it: ``a+b=5x2``."""
        return f"{self.name}={self.threads}" + (f"x{self.processes}" if self.processes > 1 else "")


def check_queue_name(setting_name: str, queue: str) -> str:
    """``queue`` if it is a valid queue name, else a :class:`ConfigurationError`."""
    if not QUEUE_PATTERN.match(queue):
        raise ConfigurationError(
            setting_name,
            f"{queue!r} is not a valid queue name (lower-case letters, digits, '_', '-', "
            "optionally .high or .low)",
        )
    return queue


def parse_layout(setting_name: str, raw: str) -> tuple[QueueGroup, ...]:
    """``queue[+queue...]=threads[xprocesses]``, comma-separated.

    ``payment=5,notification=10x2,ai-processing.high=2`` gives three groups; the second runs
    two processes of ten threads.
    """
    groups: list[QueueGroup] = []
    seen: set[str] = set()
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        names, sep, size = part.partition("=")
        if not sep:
            raise ConfigurationError(setting_name, f"{part!r} needs '=threads', e.g. 'payment=5'")
        queues = tuple(check_queue_name(setting_name, q.strip()) for q in names.split("+"))
        for queue in queues:
            if queue in seen:
                raise ConfigurationError(setting_name, f"queue {queue!r} is in two groups")
            seen.add(queue)
        threads_text, _, processes_text = size.strip().partition("x")
        try:
            threads = int(threads_text)
            processes = int(processes_text) if processes_text else 1
        except ValueError:
            raise ConfigurationError(
                setting_name, f"{size!r} must be threads or threadsxprocesses, e.g. 5 or 10x2"
            ) from None
        if not 1 <= threads <= 256 or not 1 <= processes <= 64:
            raise ConfigurationError(setting_name, f"{part!r}: threads 1-256, processes 1-64")
        groups.append(QueueGroup(queues, threads, processes))
    if not groups:
        raise ConfigurationError(setting_name, "names no queue")
    return tuple(groups)


def _namespace(name: str, raw: str) -> str:
    if not NAMESPACE_PATTERN.match(raw):
        raise ConfigurationError(name, f"{raw!r}: lower-case letters, digits, '_', '-'")
    return raw


def _layout(name: str, raw: str) -> tuple[QueueGroup, ...] | None:
    return parse_layout(name, raw)


def _show_layout(layout: tuple[QueueGroup, ...] | None) -> str:
    if layout is None:
        return "every queue of the app's handlers, at its declared concurrency"
    return ",".join(group.describe() for group in layout)


NAMESPACE: Final = Setting(
    name="HEXBUS_NAMESPACE",
    parse=_namespace,
    default="hexbus",
    description="prefix of every Redis key (several apps can share one Redis)",
)
WORKER_QUEUES: Final[Setting[tuple[QueueGroup, ...] | None]] = Setting(
    name="HEXBUS_WORKER_QUEUES",
    parse=_layout,
    default=None,
    description="worker layout: 'queue=threads', 'a+b=threads' or 'queue=threadsxprocesses', "
    "comma-separated; queues it does not name still get a group",
    show=_show_layout,
)
DEFAULT_CONCURRENCY: Final = Setting(
    name="HEXBUS_DEFAULT_CONCURRENCY",
    parse=whole(low=1, high=256),
    default=2,
    description="threads for a queue whose concurrency neither the app nor the layout gives",
)
HEARTBEAT_TIMEOUT: Final = Setting(
    name="HEXBUS_HEARTBEAT_TIMEOUT",
    parse=seconds(),
    default=timedelta(seconds=10),
    description="seconds of silence after which a worker counts as dead and its messages "
    "run elsewhere",
)
ROUTE_GRACE: Final = Setting(
    name="HEXBUS_ROUTE_GRACE",
    parse=seconds(),
    default=timedelta(hours=1),
    description="seconds a route stays once no live worker declares it (a handler removed "
    "by a deploy, or all its workers down), before any worker prunes it; 'hexbus routes "
    "prune' removes such routes at once",
)
SHUTDOWN_TIMEOUT: Final = Setting(
    name="HEXBUS_SHUTDOWN_TIMEOUT",
    parse=seconds(),
    default=timedelta(seconds=30),
    description="seconds SIGTERM waits for handlers in flight",
)

CRASH_LOOP_EXITS: Final = Setting(
    name="HEXBUS_CRASH_LOOP_EXITS",
    parse=whole(low=2, high=1000),
    default=5,
    description="exits of one worker process within HEXBUS_CRASH_LOOP_WINDOW that make a crash "
    "loop, reported (a log line and an alert with its last error) at most once per "
    "HEXBUS_ALERT_PERIOD",
)
CRASH_LOOP_WINDOW: Final = Setting(
    name="HEXBUS_CRASH_LOOP_WINDOW",
    parse=seconds(),
    default=timedelta(minutes=5),
    description="seconds in which HEXBUS_CRASH_LOOP_EXITS exits of one worker process are a "
    "crash loop",
)
MAX_WORKER_DEATHS: Final = Setting(
    name="HEXBUS_MAX_WORKER_DEATHS",
    parse=whole(low=1, high=1000),
    default=3,
    description="times a worker process may die (SIGKILL, segfault, out of memory, os._exit) "
    "while running one message before that message is dead-lettered with reason 'worker died "
    "while handling it N times', instead of being run again",
)


@attrs.frozen(kw_only=True)
class WorkerSettings(SettingsGroup):
    """How ``hexbus worker`` lays out its processes and how long it waits for them."""

    title = "workers (Dramatiq/Redis)"

    namespace: str = setting(NAMESPACE)
    layout: tuple[QueueGroup, ...] | None = setting(WORKER_QUEUES)
    default_concurrency: int = setting(DEFAULT_CONCURRENCY)
    heartbeat_timeout: timedelta = setting(HEARTBEAT_TIMEOUT)
    shutdown_timeout: timedelta = setting(SHUTDOWN_TIMEOUT)
    crash_loop_exits: int = setting(CRASH_LOOP_EXITS)
    crash_loop_window: timedelta = setting(CRASH_LOOP_WINDOW)
    max_worker_deaths: int = setting(MAX_WORKER_DEATHS)
    route_grace: timedelta = setting(ROUTE_GRACE)

    def __attrs_post_init__(self) -> None:
        if self.route_grace < self.heartbeat_timeout:
            raise ConfigurationError(
                ROUTE_GRACE.name,
                f"must be at least {HEARTBEAT_TIMEOUT.name} ({self.heartbeat_timeout}): a "
                "route of a live worker must never look stale",
            )
