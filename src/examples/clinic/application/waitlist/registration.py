"""Which waitlist handler runs for which event, on which queue, with which options.

The offer goes out on the ``notification`` queue under the same WhatsApp budget as booking
confirmations (:data:`WHATSAPP_LIMIT`: the provider's limit is per clinic, whatever the
message). Passing an expired offer on changes waitlist state, on the ``appointment`` queue;
the preference calculation runs there too but at low priority, in a worker group of its own
(``appointment.low``), so it never delays a booking.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from .....application.processor import DomainEventsProcessor
from .....ports.clock import Clock
from .....ports.event_bus import EventBus
from .....ports.handlers import HandlerSpec, Priority, RetryPolicy
from .....ports.unit_of_work import UnitOfWork
from ...domain.errors import OfferNotFound, WaitlistEntryNotFound
from ...domain.waitlist.events import WaitlistOfferExpired, WaitlistSlotOffered
from ...ports.notifier import Notifier
from ...ports.repositories import SlotOfferRepository, WaitlistRepository
from ..booking.registration import (
    APPOINTMENT_QUEUE,
    NOTIFICATION_QUEUE,
    NOTIFICATION_RETRY,
    NOTIFICATION_TIMEOUT,
    STATE_RETRY,
    STATE_TIMEOUT,
    WHATSAPP_LIMIT,
)
from .handlers import CalculateWaitlistPreferences, PassOfferOn, SendSlotOffer
from .offers import OFFER_WINDOW, OfferSlot

WAITLIST_STATE_RETRY: Final = RetryPolicy(
    max_retries=STATE_RETRY.max_retries,
    min_backoff=STATE_RETRY.min_backoff,
    max_backoff=STATE_RETRY.max_backoff,
    non_retryable=(OfferNotFound, WaitlistEntryNotFound),
)
"""State changes retry quickly; an offer or entry that does not exist never will."""


class Names:
    """The stable handler names of the waitlist."""

    SEND_SLOT_OFFER: Final = "waitlist.send_slot_offer"
    PASS_OFFER_ON: Final = "waitlist.pass_offer_on"
    CALCULATE_PREFERENCES: Final = "waitlist.calculate_preferences"


def register_waitlist_handlers(
    processor: DomainEventsProcessor,
    *,
    notifier: Notifier,
    entries: WaitlistRepository,
    offers: SlotOfferRepository,
    event_bus: EventBus,
    clock: Clock,
    offer_window: timedelta = OFFER_WINDOW,
    unit_of_work: UnitOfWork | None = None,
) -> tuple[HandlerSpec, ...]:
    """Register every waitlist handler on ``processor``; returns their specs (call once).

    Given a unit of work, passing an expired offer on commits the next offer and its events
    together (ADR 0020)."""
    offer_slot = OfferSlot(
        entries, offers, event_bus, clock, offer_window, unit_of_work=unit_of_work
    )
    return (
        processor.register_handler(
            WaitlistSlotOffered,
            SendSlotOffer(notifier),
            name=Names.SEND_SLOT_OFFER,
            queue=NOTIFICATION_QUEUE,
            retry=NOTIFICATION_RETRY,
            timeout=NOTIFICATION_TIMEOUT,
            rate_limit=WHATSAPP_LIMIT,
        ),
        processor.register_handler(
            WaitlistOfferExpired,
            PassOfferOn(offers, offer_slot),
            name=Names.PASS_OFFER_ON,
            queue=APPOINTMENT_QUEUE,
            retry=WAITLIST_STATE_RETRY,
            timeout=STATE_TIMEOUT,
        ),
        processor.register_handler(
            WaitlistOfferExpired,
            CalculateWaitlistPreferences(entries),
            name=Names.CALCULATE_PREFERENCES,
            queue=APPOINTMENT_QUEUE,
            priority=Priority.LOW,
            retry=WAITLIST_STATE_RETRY,
            timeout=STATE_TIMEOUT,
        ),
    )
