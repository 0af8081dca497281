"""The HTTP adapter's settings: who may read and change what, which hosts it answers to.

Declared here, beside the API they guard (:mod:`hexbus.adapters.environment` says how; ADR
0016 says why each default is what it is). The health thresholds the dashboard shows are the
alerts' (``HEXBUS_ALERT_FAILURE_RATE`` and ``HEXBUS_ALERT_BACKLOG``, in
:mod:`hexbus.adapters.observability.settings`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import attrs

from ...domain.errors import ConfigurationError
from ..environment import (
    Setting,
    SettingsGroup,
    boolean,
    decimal_seconds,
    setting,
    token,
    whole,
)

LOOPBACK_HOSTS: Final[tuple[str, ...]] = ("localhost", "127.0.0.1", "::1")

API_TOKEN: Final[Setting[str | None]] = Setting(
    name="HEXBUS_API_TOKEN",
    parse=token,
    default=None,
    description="the operator's bearer token: every change (retry, remove, clean, pause) and "
    "every read, payloads included (unset: changes are refused)",
    secret=True,
)
API_READ_TOKEN: Final[Setting[str | None]] = Setting(
    name="HEXBUS_API_READ_TOKEN",
    parse=token,
    default=None,
    description="bearer token for reading stats, event status, dead letters (without payloads) "
    "and the settings; unset, only counts and /health are open without the operator token",
    secret=True,
)
SHOW_ERRORS: Final = Setting(
    name="HEXBUS_SHOW_ERRORS",
    parse=boolean,
    default=False,
    description="serve handlers' error texts and tracebacks to token holders (off: they may "
    "quote health data and server paths; the error's type is always shown)",
)


def _hosts(name: str, raw: str) -> tuple[str, ...]:
    hosts = []
    for part in (p.strip().lower() for p in raw.split(",")):
        if not part:
            continue
        host = part[1:-1] if part.startswith("[") and part.endswith("]") else part
        if any(c in host for c in "/@ ") or (host.count("*") and not _wildcard(host)):
            raise ConfigurationError(
                name, f"{part!r} is not a host name, an address, '*.domain' or '*'"
            )
        hosts.append(host)
    if not hosts:
        raise ConfigurationError(name, "names no host")
    return tuple(hosts)


def _wildcard(host: str) -> bool:
    return host == "*" or (host.startswith("*.") and "*" not in host[2:] and len(host) > 2)


ALLOWED_HOSTS: Final[Setting[tuple[str, ...]]] = Setting(
    name="HEXBUS_ALLOWED_HOSTS",
    parse=_hosts,
    default=LOOPBACK_HOSTS,
    description="host names the API answers to (the Host header), comma-separated; "
    "'*.example.org' for subdomains, '*' for any; others get 400, which stops DNS rebinding",
    show=",".join,
)
MAX_BODY: Final = Setting(
    name="HEXBUS_API_MAX_BODY",
    parse=whole(low=1024, high=16 * 1024 * 1024),
    default=64 * 1024,
    description="bytes a request body may have (413 past it); it is read only once the "
    "operator token is checked",
)
READY_MAX_LATENCY: Final = Setting(
    name="HEXBUS_READY_MAX_LATENCY",
    parse=decimal_seconds(low=0.001, high=60),
    default=timedelta(milliseconds=500),
    description="seconds a Redis PING may take for /health/ready to answer 200",
)


@attrs.frozen(kw_only=True)
class ApiSettings(SettingsGroup):
    """Who may read and change state through the REST API and the dashboard."""

    title = "HTTP API and dashboard"

    api_token: str | None = setting(API_TOKEN)
    read_token: str | None = setting(API_READ_TOKEN)
    show_errors: bool = setting(SHOW_ERRORS)
    allowed_hosts: tuple[str, ...] = setting(ALLOWED_HOSTS)
    max_body: int = setting(MAX_BODY)
    ready_max_latency: timedelta = setting(READY_MAX_LATENCY)

    def allows_host(self, host: str) -> bool:
        """Whether a request whose Host header names ``host`` (no port) is answered."""
        host = host.lower().rstrip(".")
        for allowed in self.allowed_hosts:
            if allowed in ("*", host):
                return True
            if allowed.startswith("*.") and host.endswith(allowed[1:]):
                return True
        return False
