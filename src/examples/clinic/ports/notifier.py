"""Outbound notifications (SMS, email, WhatsApp) as a port."""

from __future__ import annotations

from enum import Enum
from typing import Protocol

import attrs

from ....domain.validation import non_empty_text


class Channel(Enum):
    """How a notification travels."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


@attrs.frozen(kw_only=True)
class Notification:
    """A message to one recipient.

    ``key`` identifies it for de-duplication at the provider (the event id and the template),
    so a retried handler does not text the patient twice.
    """

    channel: Channel
    to: str = attrs.field(validator=non_empty_text)
    subject: str
    body: str
    key: str = attrs.field(validator=non_empty_text)


class Notifier(Protocol):
    """Sends notifications.

    Raises :class:`NotificationFailed` when the provider is unavailable (worth retrying) and
    :class:`InvalidRecipient` when it never will be.
    """

    def send(self, notification: Notification) -> None:
        """Send one notification."""
        ...
