"""Event ids derived from facts, so that the same fact always makes the same event.

An event_id is the bus's idempotency key. When an event stands for something outside that can
be reported more than once (a payment provider's webhook, retried until we answer 200), is
published again by a handler or a use case that runs again, or must be found later without
storing its id (a reminder to cancel), its id comes from that fact rather than from ``uuid4``:
then the second publish is a ``DUPLICATE`` and nothing runs twice, and ``cancel`` can name it.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID, uuid5

from ..domain.events import DomainEvent

NAMESPACE: Final = UUID("6f1c2a52-4f0e-5b8e-9a53-7d1f0c6e2b41")
"""hexbus's uuid5 namespace for derived event ids. Never change it: every id derived before
the change would stop matching its duplicates."""


def derived_event_id(*parts: str) -> UUID:
    """The event_id named by ``parts`` (``"order", "ord-1", "reminder", "24h"``).

    Parts are joined with ``:``; each kind of fact uses its own first part, so two kinds never
    meet.
    """
    return uuid5(NAMESPACE, ":".join(parts))


def caused_event_id(cause: DomainEvent, event_type: str, *about: str) -> UUID:
    """The event_id of the ``event_type`` event that ``cause`` leads to (about ``about``).

    A handler that publishes a consequence with this id may publish it again when it runs
    again (after a crash between its change and its success being recorded) and the bus
    reports the copy as a duplicate. ``about`` tells apart several consequences of one type
    (one report per customer).
    """
    return uuid5(NAMESPACE, ":".join((str(cause.event_id), event_type, *about)))
