"""The default notifier: writes one log line per notification, and sends nothing.

The line names the channel, the recipient masked and the notification key, never the subject
or the body: a message about an appointment can reveal health data, and logs are read by more
people, and kept longer, than a patient's inbox.
"""

from __future__ import annotations

import logging

from ...ports.notifier import Notification


def mask_recipient(recipient: str) -> str:
    """Enough of an address to tell two apart in a log, not enough to contact anyone.

    ``ana.lopez@example.com`` becomes ``a***@example.com``; ``+34 600 123 456`` becomes
    ``***456``.
    """
    local, at, domain = recipient.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    digits = "".join(ch for ch in recipient if ch.isalnum())
    return f"***{digits[-3:]}" if len(digits) > 3 else "***"


class LoggingNotifier:
    """A :class:`Notifier` that logs to ``hexbus.notifications`` at INFO."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger("hexbus.notifications")

    def send(self, notification: Notification) -> None:
        """Log that ``notification`` was sent (channel, masked recipient, key)."""
        self._log.info(
            "notification sent channel=%s to=%s key=%s",
            notification.channel.value,
            mask_recipient(notification.to),
            notification.key,
        )
