"""Settings read from the environment, checked once at start-up.

A bad value fails here with :class:`ConfigurationError` naming the variable, not later as a
connection error deep inside a worker. Secrets never appear in ``repr`` or :meth:`describe`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Final
from urllib.parse import quote, urlsplit

import attrs

from .domain.errors import ConfigurationError

TRUE: Final = frozenset({"1", "true", "yes", "on"})
FALSE: Final = frozenset({"0", "false", "no", "off", ""})
REDIS_SCHEMES: Final = ("redis", "rediss", "unix")
NAMESPACE: Final = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
QUEUE: Final = re.compile(r"^[a-z][a-z0-9_-]{0,47}(\.(high|low))?$")
API_TOKEN: Final = re.compile(r"^[A-Za-z0-9._~+/=-]{16,512}$")
"""A bearer token (RFC 6750's characters), long enough not to be guessed."""

REFERENCE_LAYOUT: Final = (
    "payment=5,notification=10,appointment=5,appointment.low=1,medicine=3,"
    "ai-processing=2,ai-processing.high=1,report=1"
)
"""The reference domain's queues and how many handlers each runs at once."""


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


def parse_fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A number between 0 and 1 (``0.1`` is 10%)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigurationError(name, f"expected a number between 0 and 1, got {raw!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise ConfigurationError(name, f"must be between 0 and 1 (0.1 is 10%), got {raw!r}")
    return value


def parse_token(env: Mapping[str, str], name: str) -> str | None:
    """A secret bearer token, or None when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not API_TOKEN.match(raw):
        # The value itself is never echoed: it is a secret, even when malformed.
        raise ConfigurationError(
            name,
            "must be 16-512 characters of letters, digits and -._~+/= (make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
        )
    return raw


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
        tls = parse_bool(env, "REDIS_TLS", False)
        scheme = "rediss" if tls else "redis"
        username = env.get("REDIS_USERNAME", "")
        password = env.get("REDIS_PASSWORD", "")
        if username and not password:
            raise ConfigurationError(
                "REDIS_PASSWORD", "REDIS_USERNAME is set, so a password is needed"
            )
        auth = ""
        if password:
            auth = f"{quote(username, safe='')}:{quote(password, safe='')}@"
        query = ""
        ca_file = env.get("REDIS_TLS_CA_FILE", "").strip()
        if ca_file:
            if not tls:
                raise ConfigurationError("REDIS_TLS_CA_FILE", "is set but REDIS_TLS is not true")
            if not os.path.isfile(ca_file):
                raise ConfigurationError("REDIS_TLS_CA_FILE", f"no such file: {ca_file}")
            query = f"?ssl_ca_certs={quote(ca_file, safe='/')}"
        return cls(url=f"{scheme}://{auth}{host}:{port}/{db}{query}")

    def redacted_url(self) -> str:
        """The URL with its password replaced, fit for logs and screens."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        user = parts.username or ""
        netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()


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


def parse_layout(raw: str, setting: str = "HEXBUS_WORKER_QUEUES") -> tuple[QueueGroup, ...]:
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
            raise ConfigurationError(setting, f"{part!r} needs '=threads', e.g. 'payment=5'")
        queues = tuple(q.strip() for q in names.split("+"))
        for queue in queues:
            if not QUEUE.match(queue):
                raise ConfigurationError(setting, f"{queue!r} is not a valid queue name")
            if queue in seen:
                raise ConfigurationError(setting, f"queue {queue!r} is in two groups")
            seen.add(queue)
        threads_text, _, processes_text = size.strip().partition("x")
        try:
            threads = int(threads_text)
            processes = int(processes_text) if processes_text else 1
        except ValueError:
            raise ConfigurationError(
                setting, f"{size!r} must be threads or threadsxprocesses, e.g. 5 or 10x2"
            ) from None
        if not 1 <= threads <= 256 or not 1 <= processes <= 64:
            raise ConfigurationError(setting, f"{part!r}: threads 1-256, processes 1-64")
        groups.append(QueueGroup(queues, threads, processes))
    if not groups:
        raise ConfigurationError(setting, "names no queue")
    return tuple(groups)


LOG_FORMATS: Final = ("auto", "json", "console")
LOG_LEVELS: Final = ("debug", "info", "warning", "error")


def parse_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (case-insensitive)."""
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigurationError(name, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def parse_webhook_url(env: Mapping[str, str], name: str) -> str | None:
    """An http(s) URL, or None when unset; checked now so a typo is not found by an outage."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Not echoed: a webhook URL usually embeds its credential.
        raise ConfigurationError(name, "must be an http:// or https:// URL with a host")
    return raw


@attrs.frozen(kw_only=True)
class ObservabilitySettings:
    """Logs, Prometheus metrics and alerts (``HEXBUS_LOG_*``, ``HEXBUS_METRICS*``,
    ``HEXBUS_ALERT_*``; the failure-rate and backlog thresholds are on :class:`Settings`,
    shared with the health endpoint)."""

    log_format: str = "auto"
    log_level: str = "info"
    log_payloads: bool = False
    metrics: bool = True
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 9191
    metrics_dir: str | None = None
    alert_webhook_url: str | None = attrs.field(default=None, repr=False)
    alert_min_finished: int = 20
    alert_period: timedelta = timedelta(minutes=5)
    alert_interval: timedelta = timedelta(seconds=30)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ObservabilitySettings:
        """``HEXBUS_LOG_FORMAT`` auto|json|console (auto: console on a terminal, else JSON),
        ``HEXBUS_LOG_LEVEL``, ``HEXBUS_LOG_PAYLOADS`` (default false: event contents may be
        health data), ``HEXBUS_METRICS`` (default true), ``HEXBUS_METRICS_HOST``/``_PORT``
        (where ``hexbus worker`` serves /metrics; port 0 serves none), ``HEXBUS_METRICS_DIR``
        (its multiprocess directory; default a fresh temporary one), ``HEXBUS_ALERT_WEBHOOK_URL``
        (a secret; unset, alerts are logged), ``HEXBUS_ALERT_MIN_FINISHED`` (runs a failure
        rate needs before it alerts), ``HEXBUS_ALERT_PERIOD`` (s, one alert per kind and queue
        or handler per period) and ``HEXBUS_ALERT_INTERVAL`` (s, between threshold checks)."""
        host = env.get("HEXBUS_METRICS_HOST", "0.0.0.0").strip()
        if not host or any(c in host for c in "/@ "):
            raise ConfigurationError("HEXBUS_METRICS_HOST", f"expected a host name, got {host!r}")
        metrics_dir = env.get("HEXBUS_METRICS_DIR", "").strip() or None
        if metrics_dir is not None:
            metrics_dir = os.path.abspath(metrics_dir)
            if os.path.exists(metrics_dir) and not os.path.isdir(metrics_dir):
                raise ConfigurationError("HEXBUS_METRICS_DIR", f"{metrics_dir} is not a directory")
        return cls(
            log_format=parse_choice(env, "HEXBUS_LOG_FORMAT", "auto", LOG_FORMATS),
            log_level=parse_choice(env, "HEXBUS_LOG_LEVEL", "info", LOG_LEVELS),
            log_payloads=parse_bool(env, "HEXBUS_LOG_PAYLOADS", False),
            metrics=parse_bool(env, "HEXBUS_METRICS", True),
            metrics_host=host,
            metrics_port=parse_int(env, "HEXBUS_METRICS_PORT", 9191, low=0, high=65535),
            metrics_dir=metrics_dir,
            alert_webhook_url=parse_webhook_url(env, "HEXBUS_ALERT_WEBHOOK_URL"),
            alert_min_finished=parse_int(env, "HEXBUS_ALERT_MIN_FINISHED", 20, low=1, high=10**9),
            alert_period=parse_seconds(env, "HEXBUS_ALERT_PERIOD", timedelta(minutes=5)),
            alert_interval=parse_seconds(env, "HEXBUS_ALERT_INTERVAL", timedelta(seconds=30)),
        )

    @property
    def log_json(self) -> bool | None:
        """True for JSON lines, False for console text, None to decide by the terminal."""
        return {"json": True, "console": False}.get(self.log_format)

    def describe(self) -> dict[str, str]:
        """These settings for :meth:`Settings.describe`; the webhook URL shows its host only."""
        webhook = "not set"
        if self.alert_webhook_url:
            parts = urlsplit(self.alert_webhook_url)
            webhook = f"{parts.scheme}://{parts.hostname}/***"
        return {
            "HEXBUS_LOG_FORMAT": self.log_format,
            "HEXBUS_LOG_LEVEL": self.log_level,
            "HEXBUS_LOG_PAYLOADS": str(self.log_payloads).lower(),
            "HEXBUS_METRICS": str(self.metrics).lower(),
            "HEXBUS_METRICS_HOST": self.metrics_host,
            "HEXBUS_METRICS_PORT": str(self.metrics_port),
            "HEXBUS_METRICS_DIR": self.metrics_dir or "(a fresh temporary directory)",
            "HEXBUS_ALERT_WEBHOOK_URL": webhook,
            "HEXBUS_ALERT_MIN_FINISHED": str(self.alert_min_finished),
            "HEXBUS_ALERT_PERIOD": f"{int(self.alert_period.total_seconds())}s",
            "HEXBUS_ALERT_INTERVAL": f"{int(self.alert_interval.total_seconds())}s",
        }


@attrs.frozen(kw_only=True)
class Settings:
    """Everything the composition root reads from the environment."""

    use_queue_event_bus: bool = False
    redis: RedisSettings = attrs.field(factory=lambda: RedisSettings.from_env({}))
    idempotency_retention: timedelta = timedelta(days=7)
    dead_letter_retention: timedelta = timedelta(days=7)
    namespace: str = "hexbus"
    worker_layout: tuple[QueueGroup, ...] = attrs.field(
        factory=lambda: parse_layout(REFERENCE_LAYOUT)
    )
    default_concurrency: int = 2
    heartbeat_timeout: timedelta = timedelta(seconds=10)
    shutdown_timeout: timedelta = timedelta(seconds=30)
    track_status: bool = True
    stats_window: timedelta = timedelta(minutes=15)
    api_token: str | None = attrs.field(default=None, repr=False)
    alert_failure_rate: float = 0.10
    alert_backlog: int = 1000
    observability: ObservabilitySettings = attrs.field(factory=ObservabilitySettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; raises :class:`ConfigurationError` on the first bad one.

        ``USE_QUEUE_EVENT_BUS`` (default false) picks the Dramatiq/Redis adapter;
        ``HEXBUS_IDEMPOTENCY_RETENTION`` and ``HEXBUS_DEAD_LETTER_RETENTION`` are seconds;
        ``HEXBUS_NAMESPACE`` prefixes every Redis key; ``HEXBUS_WORKER_QUEUES`` is the worker
        layout (see :func:`parse_layout`), ``HEXBUS_DEFAULT_CONCURRENCY`` the threads for
        queues it does not name; ``HEXBUS_HEARTBEAT_TIMEOUT`` (s) is when a silent worker
        counts as dead and its messages run elsewhere; ``HEXBUS_SHUTDOWN_TIMEOUT`` (s) how
        long SIGTERM waits for handlers in flight; ``HEXBUS_TRACK_STATUS`` (default true)
        keeps each event's status per handler; ``HEXBUS_STATS_WINDOW_MINUTES`` (default 15)
        is the window of the recent succeeded/failed counts. ``HEXBUS_API_TOKEN`` (a secret,
        unset by default) is the bearer token the HTTP API's mutating endpoints require;
        unset, they are refused. ``HEXBUS_ALERT_FAILURE_RATE`` (default 0.10) and
        ``HEXBUS_ALERT_BACKLOG`` (default 1000 waiting or scheduled) are where a queue's health
        turns to warning and ``/health`` to degraded (and where ``hexbus worker`` alerts).
        Logs, metrics and alerts: see :class:`ObservabilitySettings`.
        """
        env = os.environ if env is None else env
        namespace = env.get("HEXBUS_NAMESPACE", "hexbus").strip()
        if not NAMESPACE.match(namespace):
            raise ConfigurationError(
                "HEXBUS_NAMESPACE", f"{namespace!r}: lower-case letters, digits, '_', '-'"
            )
        return cls(
            namespace=namespace,
            worker_layout=parse_layout(env.get("HEXBUS_WORKER_QUEUES", REFERENCE_LAYOUT)),
            default_concurrency=parse_int(env, "HEXBUS_DEFAULT_CONCURRENCY", 2, low=1, high=256),
            heartbeat_timeout=parse_seconds(env, "HEXBUS_HEARTBEAT_TIMEOUT", timedelta(seconds=10)),
            shutdown_timeout=parse_seconds(env, "HEXBUS_SHUTDOWN_TIMEOUT", timedelta(seconds=30)),
            track_status=parse_bool(env, "HEXBUS_TRACK_STATUS", True),
            stats_window=timedelta(
                minutes=parse_int(env, "HEXBUS_STATS_WINDOW_MINUTES", 15, low=1, high=120)
            ),
            use_queue_event_bus=parse_bool(env, "USE_QUEUE_EVENT_BUS", False),
            redis=RedisSettings.from_env(env),
            idempotency_retention=parse_seconds(
                env, "HEXBUS_IDEMPOTENCY_RETENTION", timedelta(days=7)
            ),
            dead_letter_retention=parse_seconds(
                env, "HEXBUS_DEAD_LETTER_RETENTION", timedelta(days=7)
            ),
            api_token=parse_token(env, "HEXBUS_API_TOKEN"),
            alert_failure_rate=parse_fraction(env, "HEXBUS_ALERT_FAILURE_RATE", 0.10),
            alert_backlog=parse_int(env, "HEXBUS_ALERT_BACKLOG", 1000, low=1, high=10**9),
            observability=ObservabilitySettings.from_env(env),
        )

    def describe(self) -> dict[str, str]:
        """The settings in force, secrets redacted, for ``hexbus config`` and the dashboard."""
        return {
            "USE_QUEUE_EVENT_BUS": str(self.use_queue_event_bus).lower(),
            "event bus": "dramatiq/redis" if self.use_queue_event_bus else "in-memory",
            "REDIS_URL": self.redis.redacted_url(),
            "HEXBUS_IDEMPOTENCY_RETENTION": f"{int(self.idempotency_retention.total_seconds())}s",
            "HEXBUS_DEAD_LETTER_RETENTION": f"{int(self.dead_letter_retention.total_seconds())}s",
            "HEXBUS_NAMESPACE": self.namespace,
            "HEXBUS_WORKER_QUEUES": ",".join(
                f"{g.name}={g.threads}" + (f"x{g.processes}" if g.processes > 1 else "")
                for g in self.worker_layout
            ),
            "HEXBUS_DEFAULT_CONCURRENCY": str(self.default_concurrency),
            "HEXBUS_HEARTBEAT_TIMEOUT": f"{int(self.heartbeat_timeout.total_seconds())}s",
            "HEXBUS_SHUTDOWN_TIMEOUT": f"{int(self.shutdown_timeout.total_seconds())}s",
            "HEXBUS_TRACK_STATUS": str(self.track_status).lower(),
            "HEXBUS_STATS_WINDOW_MINUTES": str(int(self.stats_window.total_seconds() // 60)),
            "HEXBUS_API_TOKEN": "set" if self.api_token else "not set",
            "HEXBUS_ALERT_FAILURE_RATE": f"{self.alert_failure_rate:g}",
            "HEXBUS_ALERT_BACKLOG": str(self.alert_backlog),
            **self.observability.describe(),
        }
