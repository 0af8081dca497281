"""Settings of logs, Prometheus metrics, alerts and the health thresholds.

Declared here, beside the observers they configure (:mod:`hexbus.adapters.environment` says
how). The failure-rate and backlog thresholds are here too: the alert watcher and the health
endpoint judge a queue by the same two numbers.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Final
from urllib.parse import urlsplit

import attrs

from ...domain.errors import ConfigurationError
from ..environment import (
    Setting,
    SettingsGroup,
    boolean,
    choice,
    fraction,
    host,
    http_url,
    seconds,
    setting,
    whole,
)

LOG_FORMAT: Final = Setting(
    name="HEXBUS_LOG_FORMAT",
    parse=choice("auto", "json", "console"),
    default="auto",
    description="log lines as JSON or console text; auto: console on a terminal, else JSON",
)
LOG_LEVEL: Final = Setting(
    name="HEXBUS_LOG_LEVEL",
    parse=choice("debug", "info", "warning", "error"),
    default="info",
    description="the lowest level logged",
)
LOG_PAYLOADS: Final = Setting(
    name="HEXBUS_LOG_PAYLOADS",
    parse=boolean,
    default=False,
    description="log event payloads (off: they may be health data)",
)
METRICS: Final = Setting(
    name="HEXBUS_METRICS",
    parse=boolean,
    default=True,
    description="count handler runs and outcomes for Prometheus",
)
METRICS_HOST: Final = Setting(
    name="HEXBUS_METRICS_HOST",
    parse=host,
    default="127.0.0.1",
    description="where 'hexbus worker' serves /metrics (this machine only by default; set "
    "0.0.0.0 or an address for a scraper elsewhere, on a network only it reaches)",
)
METRICS_PORT: Final = Setting(
    name="HEXBUS_METRICS_PORT",
    parse=whole(low=0, high=65535),
    default=9191,
    description="port of 'hexbus worker''s /metrics (0: none)",
)


def _directory(name: str, raw: str) -> str | None:
    path = os.path.abspath(raw)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigurationError(name, f"{path} is not a directory")
    return path


METRICS_DIR: Final[Setting[str | None]] = Setting(
    name="HEXBUS_METRICS_DIR",
    parse=_directory,
    default=None,
    description="the multiprocess metrics directory of 'hexbus worker''s processes",
    show=lambda value: value or "(a fresh temporary directory)",
)


def _webhook_host(url: str | None) -> str:
    if not url:
        return "not set"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/***"


ALERT_WEBHOOK_URL: Final[Setting[str | None]] = Setting(
    name="HEXBUS_ALERT_WEBHOOK_URL",
    parse=http_url,
    default=None,
    description="where alerts are POSTed (unset: they are logged); a secret, only its host "
    "is shown",
    show=_webhook_host,
    confidential=True,
)
ALERT_FAILURE_RATE: Final = Setting(
    name="HEXBUS_ALERT_FAILURE_RATE",
    parse=fraction,
    default=0.10,
    description="failed share of a queue's recent runs at which its health turns to warning "
    "and an alert goes out",
    show=lambda value: f"{value:g}",
)
ALERT_BACKLOG: Final = Setting(
    name="HEXBUS_ALERT_BACKLOG",
    parse=whole(low=1, high=10**9),
    default=1000,
    description="messages waiting in a queue at which its health turns to warning and an alert "
    "goes out",
)
ALERT_MIN_FINISHED: Final = Setting(
    name="HEXBUS_ALERT_MIN_FINISHED",
    parse=whole(low=1, high=10**9),
    default=20,
    description="recent runs a queue needs before its failure rate can alert",
)
ALERT_PERIOD: Final = Setting(
    name="HEXBUS_ALERT_PERIOD",
    parse=seconds(),
    default=timedelta(minutes=5),
    description="seconds; at most one alert per kind and queue or handler in a period",
)
ALERT_INTERVAL: Final = Setting(
    name="HEXBUS_ALERT_INTERVAL",
    parse=seconds(),
    default=timedelta(seconds=30),
    description="seconds between threshold checks",
)
OTEL: Final = Setting(
    name="HEXBUS_OTEL",
    parse=boolean,
    default=False,
    description="OpenTelemetry spans per publish and per handler run, with the trace context "
    "carried in the envelope (needs the 'otel' extra; ADR 0025)",
)


@attrs.frozen(kw_only=True)
class ObservabilitySettings(SettingsGroup):
    """Logs, Prometheus metrics, alerts and the health thresholds."""

    title = "logs, metrics and alerts"

    log_format: str = setting(LOG_FORMAT)
    log_level: str = setting(LOG_LEVEL)
    log_payloads: bool = setting(LOG_PAYLOADS)
    metrics: bool = setting(METRICS)
    metrics_host: str = setting(METRICS_HOST)
    metrics_port: int = setting(METRICS_PORT)
    metrics_dir: str | None = setting(METRICS_DIR)
    alert_webhook_url: str | None = setting(ALERT_WEBHOOK_URL)
    alert_failure_rate: float = setting(ALERT_FAILURE_RATE)
    alert_backlog: int = setting(ALERT_BACKLOG)
    alert_min_finished: int = setting(ALERT_MIN_FINISHED)
    alert_period: timedelta = setting(ALERT_PERIOD)
    alert_interval: timedelta = setting(ALERT_INTERVAL)
    otel: bool = setting(OTEL)

    @property
    def log_json(self) -> bool | None:
        """True for JSON lines, False for console text, None to decide by the terminal."""
        return {"json": True, "console": False}.get(self.log_format)
