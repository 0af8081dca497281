"""Outbound notifications sent with an async client: the port of ``async def`` handlers."""

from __future__ import annotations

from typing import Protocol

from .notifier import Notification


class AsyncNotifier(Protocol):
    """Sends notifications without blocking the handler's event loop.

    Raises :class:`NotificationFailed` when the provider is unavailable (worth retrying) and
    :class:`InvalidRecipient` when it never will be, as :class:`Notifier` does.
    """

    async def send(self, notification: Notification) -> None:
        """Send one notification."""
        ...
