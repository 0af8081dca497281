"""The HTTP adapter's settings: the token its operators use.

Declared here, beside the API it guards (:mod:`hexbus.adapters.environment` says how). The
health thresholds the dashboard shows are the alerts' (``HEXBUS_ALERT_FAILURE_RATE`` and
``HEXBUS_ALERT_BACKLOG``, in :mod:`hexbus.adapters.observability.settings`).
"""

from __future__ import annotations

from typing import Final

import attrs

from ..environment import Setting, SettingsGroup, setting, token

API_TOKEN: Final[Setting[str | None]] = Setting(
    name="HEXBUS_API_TOKEN",
    parse=token,
    default=None,
    description="bearer token the API's mutating endpoints require (unset: they refuse)",
    secret=True,
)


@attrs.frozen(kw_only=True)
class ApiSettings(SettingsGroup):
    """Who may change state through the REST API and the dashboard."""

    title = "HTTP API and dashboard"

    api_token: str | None = setting(API_TOKEN)
