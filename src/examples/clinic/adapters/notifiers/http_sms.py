"""An SMS provider over HTTP, called with ``httpx.AsyncClient``: the clinic's async notifier.

``POST {base_url}/messages`` with the recipient, the text and an ``Idempotency-Key`` (the
notification's key, derived from the event), so a retried handler never texts a patient twice.
A transport error or a 5xx/429 is :class:`NotificationFailed` (retried by the bus); any other
4xx is :class:`InvalidRecipient` (dead-lettered at once). The client is the caller's or made
on first use; it belongs to the event loop it is first used on, which on a worker is the
process's one loop (ADR 0023 of hexbus).
"""

from __future__ import annotations

import logging

import httpx

from ...domain.errors import InvalidRecipient, NotificationFailed
from ...ports.notifier import Notification
from .logging_notifier import mask_recipient


class HttpSmsNotifier:
    """An :class:`AsyncNotifier` posting to an SMS provider's REST API."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._timeout = timeout

    async def send(self, notification: Notification) -> None:
        """Send ``notification`` as a text message."""
        client = self._client or self._make_client()
        try:
            response = await client.post(
                f"{self.base_url}/messages",
                json={
                    "to": notification.to,
                    "text": f"{notification.subject}: {notification.body}",
                },
                headers={"Idempotency-Key": notification.key},
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            raise NotificationFailed(
                f"SMS provider unreachable ({type(error).__name__})"
            ) from error
        if response.status_code >= 500 or response.status_code == 429:
            raise NotificationFailed(f"SMS provider answered {response.status_code}")
        if response.status_code >= 400:
            raise InvalidRecipient(
                f"SMS provider refused {mask_recipient(notification.to)}: {response.status_code}"
            )

    def _make_client(self) -> httpx.AsyncClient:
        self._client = httpx.AsyncClient()
        return self._client


class LoggingSmsNotifier:
    """The default :class:`AsyncNotifier`: logs that a text went (masked), sends nothing."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("hexbus.notifications")

    async def send(self, notification: Notification) -> None:
        """Log the channel, the masked recipient and the key."""
        self._log.info("sms sent to=%s key=%s", mask_recipient(notification.to), notification.key)
