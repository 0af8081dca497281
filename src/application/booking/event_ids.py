"""Event ids derived from facts, so that the same fact always makes the same event.

An event_id is the bus's idempotency key. When an event stands for something outside that can
be reported more than once (a payment provider's webhook, retried until we answer 200), or
is published again by a handler that runs again, its id must come from that fact rather than
from ``uuid4``: then the second publish is a ``DUPLICATE`` and nothing runs twice.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID, uuid5

from ...domain.events import DomainEvent

NAMESPACE: Final = UUID("6f1c2a52-4f0e-5b8e-9a53-7d1f0c6e2b41")
"""hexbus's uuid5 namespace for derived event ids. Never change it: every id derived before
the change would stop matching its duplicates."""


def payment_event_id(transaction_id: str) -> UUID:
    """The event_id of the payment event for a provider's ``transaction_id``."""
    return uuid5(NAMESPACE, f"payment:{transaction_id}")


def caused_event_id(cause: DomainEvent, event_type: str) -> UUID:
    """The event_id of the ``event_type`` event that ``cause`` leads to.

    A handler that publishes a consequence with this id may publish it again when it runs
    again (after a crash between its change and its success being recorded) and the bus
    reports the copy as a duplicate.
    """
    return uuid5(NAMESPACE, f"{cause.event_id}:{event_type}")
