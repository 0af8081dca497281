"""How every context of the clinic addresses a notification.

Keys are ``<event_id>:<template>``: one message per event and purpose, whatever the retries,
so a provider's idempotency key (or the recording notifier) drops a repeat. The template names
are written once, in each context's ``messages`` module.
"""

from __future__ import annotations

from datetime import datetime

from ....domain.events import DomainEvent
from ..domain.booking.events import Contact
from ..ports.notifier import Channel, Notification


def when(moment: datetime) -> str:
    """A time as people read it in a message: ``Tue 03 Mar 2026 at 10:00 UTC``."""
    return moment.strftime("%a %d %b %Y at %H:%M UTC")


def notification_key(event: DomainEvent, template: str) -> str:
    """``<event_id>:<template>``: the same for every attempt at the same message."""
    return f"{event.event_id}:{template}"


def route(contact: Contact) -> tuple[Channel, str]:
    """The channel and address to reach ``contact``: email when there is one, else SMS."""
    if contact.email:
        return Channel.EMAIL, contact.email
    assert contact.phone is not None  # a Contact has an email or a phone
    return Channel.SMS, contact.phone


def addressed(
    contact: Contact, event: DomainEvent, template: str, subject: str, body: str
) -> Notification:
    """A notification to ``contact`` by email or SMS (:func:`route`), keyed for ``event``."""
    channel, address = route(contact)
    return Notification(
        channel=channel,
        to=address,
        subject=subject,
        body=body,
        key=notification_key(event, template),
    )


def by_whatsapp(
    contact: Contact, event: DomainEvent, template: str, subject: str, body: str
) -> Notification:
    """A WhatsApp message when ``contact`` has a phone, else email or SMS (with ``subject``)."""
    if not contact.phone:
        return addressed(contact, event, template, subject, body)
    return Notification(
        channel=Channel.WHATSAPP,
        to=contact.phone,
        subject="",
        body=body,
        key=notification_key(event, template),
    )
